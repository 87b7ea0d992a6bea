"use client";

import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { BlockError, BlockSkeleton } from "@/components/ui/block-states";
import {
  Sheet,
  SheetContent,
  SheetDescription,
  SheetHeader,
  SheetTitle,
} from "@/components/ui/sheet";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import type { Transcript, TranscriptMessage } from "@/lib/api/types";
import { messageOutcome } from "@/lib/message-status";
import { displayName } from "@/lib/people";
import { useApiQuery } from "@/lib/use-api-query";
import { cn } from "@/lib/utils";

function MessageFigures({ message }: { message: TranscriptMessage }) {
  const { t, format } = useI18n();
  const figures = [
    message.model,
    message.latency_ms !== null
      ? `${t.transcript.latency} ${format.duration(message.latency_ms)}`
      : null,
    message.ttft_ms !== null ? `${t.transcript.ttft} ${format.duration(message.ttft_ms)}` : null,
    message.prompt_tokens !== null && message.completion_tokens !== null
      ? t.transcript.tokens(
          format.count(message.prompt_tokens),
          format.count(message.completion_tokens),
        )
      : null,
  ].filter(Boolean);
  if (figures.length === 0) return null;
  return <p className="text-xs text-muted-foreground">{figures.join(" · ")}</p>;
}

function Message({ message }: { message: TranscriptMessage }) {
  const { t, format } = useI18n();
  const fromUser = message.role === "user";
  const author =
    message.role === "user"
      ? t.transcript.user
      : message.role === "assistant"
        ? t.transcript.assistant
        : t.transcript.system;
  const outcome = messageOutcome(message);
  const cancelled = outcome === "cancelled";
  const settled = outcome === "ok";
  return (
    <li className={cn("flex flex-col gap-1", fromUser ? "items-end" : "items-start")}>
      <div className="flex flex-wrap items-center gap-2 text-xs text-muted-foreground">
        <span className="font-medium text-foreground">{author}</span>
        <time dateTime={message.created_at}>{format.dateTime(message.created_at)}</time>
        {!settled && (
          <Badge variant={cancelled || message.status !== "error" ? "outline" : "destructive"}>
            {t.transcript.status[outcome] ?? outcome}
            {message.error_code && !cancelled && ` · ${message.error_code}`}
          </Badge>
        )}
      </div>
      <div
        className={cn(
          "max-w-[90%] rounded-lg px-3 py-2 text-sm whitespace-pre-wrap break-words",
          fromUser ? "bg-primary text-primary-foreground" : "bg-muted",
        )}
      >
        {message.content || "—"}
      </div>
      {message.sql && (
        <details className="w-full max-w-[90%] text-xs">
          <summary className="cursor-pointer text-muted-foreground">{t.transcript.sql}</summary>
          <pre className="mt-1 overflow-x-auto rounded-md bg-muted p-2 font-mono">
            {message.sql}
          </pre>
        </details>
      )}
      {!fromUser && settled && <MessageFigures message={message} />}
    </li>
  );
}

function TranscriptBody({ dialogId }: { dialogId: number }) {
  const { t, format } = useI18n();
  const transcript = useApiQuery<Transcript>(`transcript/${dialogId}`, (signal) =>
    unwrap(
      api.GET("/api/v1/stats/dialogs/{dialog_id}", {
        params: { path: { dialog_id: dialogId } },
        signal,
      }),
    ),
  );
  const data = transcript.data;
  const who = data?.user
    ? displayName(data.user)
    : data?.account
      ? t.dialogs.consoleAccount(data.account)
      : null;
  return (
    <>
      <SheetHeader className="border-b">
        <SheetTitle>{t.transcript.title(dialogId)}</SheetTitle>
        <SheetDescription>
          {data
            ? [
                who,
                t.channels[data.channel] ?? data.channel,
                data.mode === "insights" ? t.dialogs.insightsMode : data.role,
                format.dateTime(data.started_at),
                data.ended_at
                  ? t.transcript.ended(format.dateTime(data.ended_at))
                  : t.transcript.ongoing,
              ]
                .filter(Boolean)
                .join(" · ")
            : t.transcript.description}
        </SheetDescription>
      </SheetHeader>
      <div className="flex-1 overflow-y-auto px-4 pb-6">
        {transcript.error ? (
          <BlockError error={transcript.error} onRetry={transcript.retry} />
        ) : !data ? (
          <BlockSkeleton rows={6} className="[&>*]:h-14" />
        ) : data.messages.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t.transcript.empty}</p>
        ) : (
          <ol className="grid gap-4">
            {data.messages.map((message) => (
              <Message key={message.id} message={message} />
            ))}
          </ol>
        )}
      </div>
    </>
  );
}

/** A dialog's whole transcript, over the dashboard; null: closed. */
export function TranscriptSheet({
  dialogId,
  onClose,
}: {
  dialogId: number | null;
  onClose: () => void;
}) {
  const { t } = useI18n();
  // The last dialog stays in the sheet while it slides away.
  const [shown, setShown] = useState(dialogId);
  if (dialogId !== null && dialogId !== shown) setShown(dialogId);
  return (
    <Sheet open={dialogId !== null} onOpenChange={(open) => !open && onClose()}>
      <SheetContent closeLabel={t.common.close}>
        {shown !== null && <TranscriptBody key={shown} dialogId={shown} />}
      </SheetContent>
    </Sheet>
  );
}
