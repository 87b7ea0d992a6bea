"use client";

import { RefreshCwIcon, SquareIcon, TriangleAlertIcon } from "lucide-react";
import dynamic from "next/dynamic";
import { Button } from "@/components/ui/button";
import { useChatTexts } from "@/i18n/chat";
import { useI18n } from "@/i18n/provider";
import type { AnswerEntry, ChatEntry, ChatFailure } from "@/lib/chat/state";

/** The heavy parts load when an answer first needs them, not with the page. */
const Markdown = dynamic(() => import("./markdown"), {
  loading: () => <div className="h-5" />,
});
const InsightsResultView = dynamic(() => import("./insights-result"), {
  loading: () => <div className="h-24 animate-pulse rounded-md bg-muted" />,
});

export function useFailureText(): (failure: ChatFailure) => string {
  const { t } = useI18n();
  const tc = useChatTexts();
  return (failure) => {
    switch (failure.code) {
      case "too_many_requests":
        return failure.retryAfter ? tc.rateLimited(failure.retryAfter) : tc.rateLimitedLater;
      case "answer_in_progress":
        return tc.answerInProgress;
      case "api_unavailable":
      case "network_error":
        return `${t.errors.apiUnavailable}. ${t.errors.apiUnavailableBody}`;
      case "unauthorized":
        return tc.signIn;
      default:
        return tc.errorCodes[failure.code] ?? failure.message ?? failure.code;
    }
  };
}

function Failure({
  failure,
  onRetry,
  disabled,
}: {
  failure: ChatFailure;
  onRetry: () => void;
  disabled: boolean;
}) {
  const { t } = useI18n();
  const text = useFailureText()(failure);
  const detail = failure.message && failure.message !== text ? failure.message : null;
  return (
    <div
      role="alert"
      className="flex flex-col items-start gap-2 rounded-lg border border-destructive/30 bg-destructive/5 p-3 text-sm"
    >
      <div className="flex items-start gap-2">
        <TriangleAlertIcon className="mt-0.5 size-4 shrink-0 text-destructive" aria-hidden />
        <div className="grid gap-1">
          <p className="font-medium">{text}</p>
          {detail && <p className="text-muted-foreground">{detail}</p>}
        </div>
      </div>
      <Button variant="outline" size="sm" onClick={onRetry} disabled={disabled}>
        <RefreshCwIcon aria-hidden />
        {t.common.retry}
      </Button>
    </div>
  );
}

function Answer({
  entry,
  onRetry,
  busy,
}: {
  entry: AnswerEntry;
  onRetry: (question: string) => void;
  busy: boolean;
}) {
  const tc = useChatTexts();
  const empty = !entry.text && !entry.sql && !entry.result;
  return (
    <div className="grid w-full gap-3" data-testid="answer" aria-busy={entry.streaming}>
      {(entry.sql || entry.result) && (
        <InsightsResultView
          sql={entry.sql}
          result={entry.result}
          sqlLabel={entry.error ? tc.sqlTried : tc.sql}
        />
      )}
      {entry.text && <Markdown text={entry.text} />}
      {entry.streaming && empty && (
        <p className="animate-pulse text-sm text-muted-foreground">{tc.thinking}</p>
      )}
      {entry.stopped && (
        <p className="inline-flex items-center gap-1.5 text-xs text-muted-foreground">
          <SquareIcon className="size-3" aria-hidden />
          {tc.stopped}
        </p>
      )}
      {entry.error && (
        <Failure failure={entry.error} onRetry={() => onRetry(entry.question)} disabled={busy} />
      )}
    </div>
  );
}

export function MessageList({
  entries,
  onRetry,
  busy,
}: {
  entries: ChatEntry[];
  onRetry: (question: string) => void;
  busy: boolean;
}) {
  const tc = useChatTexts();
  return (
    <ol className="grid gap-5" aria-label={tc.conversation}>
      {entries.map((entry) =>
        entry.kind === "user" ? (
          <li key={entry.key} className="flex flex-col items-end gap-1">
            <span className="sr-only">{tc.you}:</span>
            <div
              className="max-w-[85%] rounded-lg bg-primary px-3 py-2 text-sm whitespace-pre-wrap break-words text-primary-foreground"
              data-testid="question"
            >
              {entry.text}
            </div>
          </li>
        ) : (
          <li key={entry.key} className="flex flex-col items-start gap-1">
            <span className="sr-only">{tc.assistant}:</span>
            <Answer entry={entry} onRetry={onRetry} busy={busy} />
          </li>
        ),
      )}
    </ol>
  );
}
