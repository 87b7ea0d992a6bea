"use client";

import { SendIcon, SquareIcon } from "lucide-react";
import { useId, useState, type FormEvent, type KeyboardEvent } from "react";
import { Button } from "@/components/ui/button";
import { useChatTexts } from "@/i18n/chat";
import { useI18n } from "@/i18n/provider";
import { cn } from "@/lib/utils";

export const MAX_QUESTION = 16_000;

/** The question box: Enter sends, Shift+Enter breaks the line; Stop while an answer streams. */
export function Composer({
  streaming,
  onSend,
  onStop,
}: {
  streaming: boolean;
  onSend: (text: string) => void;
  onStop: () => void;
}) {
  const { format } = useI18n();
  const tc = useChatTexts();
  const [text, setText] = useState("");
  const counterId = useId();
  const tooLong = text.length > MAX_QUESTION;
  const canSend = !streaming && text.trim().length > 0 && !tooLong;

  const send = () => {
    if (!canSend) return;
    onSend(text.trim());
    setText("");
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    send();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };
  return (
    <form onSubmit={onSubmit} className="grid gap-1.5 rounded-xl border bg-card p-2 shadow-xs">
      <label htmlFor={`${counterId}-text`} className="sr-only">
        {tc.composerLabel}
      </label>
      <textarea
        id={`${counterId}-text`}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
        disabled={streaming}
        rows={2}
        placeholder={tc.composerPlaceholder}
        aria-describedby={counterId}
        aria-invalid={tooLong || undefined}
        className="max-h-48 min-h-12 w-full resize-y bg-transparent px-2 py-1.5 text-sm outline-none placeholder:text-muted-foreground disabled:opacity-60"
      />
      <div className="flex items-center justify-between gap-2 px-1">
        <span
          id={counterId}
          className={cn("tabular text-xs", tooLong ? "text-destructive" : "text-muted-foreground")}
        >
          {tc.counter(format.count(text.length), format.count(MAX_QUESTION))}
          {tooLong && ` · ${tc.tooLong(format.count(MAX_QUESTION))}`}
        </span>
        {streaming ? (
          <Button type="button" variant="outline" size="sm" onClick={onStop}>
            <SquareIcon aria-hidden />
            {tc.stop}
          </Button>
        ) : (
          <Button type="submit" size="sm" disabled={!canSend}>
            <SendIcon aria-hidden />
            {tc.send}
          </Button>
        )}
      </div>
    </form>
  );
}
