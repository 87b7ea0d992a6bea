"use client";

import { PlusIcon } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { useChatTexts } from "@/i18n/chat";
import { useI18n } from "@/i18n/provider";
import type { ApiError } from "@/lib/api/errors";
import type { Schemas } from "@/lib/api/types";
import { cn } from "@/lib/utils";

export type ChatDialog = Schemas["ChatDialogOut"];

/** The account's dialogs, newest first, with "load more". */
export function DialogList({
  dialogs,
  total,
  loading,
  error,
  openId,
  onOpen,
  onNew,
  onMore,
  onRetry,
}: {
  dialogs: ChatDialog[];
  total: number;
  loading: boolean;
  error: ApiError | null;
  openId: number | null;
  onOpen: (id: number) => void;
  onNew: () => void;
  onMore: () => void;
  onRetry: () => void;
}) {
  const { t, format } = useI18n();
  const tc = useChatTexts();
  return (
    <div className="flex min-h-0 flex-col gap-3">
      <Button onClick={onNew} className="w-full">
        <PlusIcon aria-hidden />
        {tc.newDialog}
      </Button>
      <h2 className="px-1 text-xs font-medium tracking-wide text-muted-foreground uppercase">
        {tc.dialogs}
      </h2>
      {error && (
        <div role="alert" className="grid gap-2 text-sm">
          <p className="text-destructive">{tc.listFailed}</p>
          <Button variant="outline" size="sm" onClick={onRetry}>
            {t.common.retry}
          </Button>
        </div>
      )}
      {!error && !loading && dialogs.length === 0 && (
        <p className="px-1 text-sm text-muted-foreground">{tc.noDialogs}</p>
      )}
      <ul className="grid gap-1" aria-label={tc.dialogs}>
        {dialogs.map((dialog) => (
          <li key={dialog.id}>
            <button
              type="button"
              onClick={() => onOpen(dialog.id)}
              aria-current={dialog.id === openId ? "true" : undefined}
              className={cn(
                "grid w-full gap-1 rounded-md px-2 py-2 text-left text-sm transition-colors outline-none hover:bg-accent focus-visible:ring-[3px] focus-visible:ring-ring/50",
                dialog.id === openId && "bg-accent",
              )}
            >
              <span className="truncate font-medium">{dialog.title || tc.untitled}</span>
              <span className="flex items-center gap-2 text-xs text-muted-foreground">
                <Badge variant={dialog.mode === "insights" ? "default" : "secondary"}>
                  {tc.modes[dialog.mode] ?? dialog.mode}
                </Badge>
                <span>{tc.messages(dialog.message_count)}</span>
                {dialog.last_message_at && (
                  <span className="ml-auto truncate">{format.date(dialog.last_message_at)}</span>
                )}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {loading && (
        <div className="grid gap-2" aria-label={t.common.loading}>
          <Skeleton className="h-12" />
          <Skeleton className="h-12" />
        </div>
      )}
      {!loading && !error && dialogs.length < total && (
        <Button variant="outline" size="sm" onClick={onMore}>
          {tc.loadMore}
        </Button>
      )}
    </div>
  );
}
