"use client";

import { RefreshCwIcon, TriangleAlertIcon } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { useI18n } from "@/i18n/provider";
import type { ApiError } from "@/lib/api/errors";
import { cn } from "@/lib/utils";

/** A block that loads on its own and could not: why, and a retry. (Loading: BlockSkeleton.) */
export function BlockError({
  error,
  onRetry,
  className,
}: {
  error: ApiError;
  onRetry: () => void;
  className?: string;
}) {
  const { t } = useI18n();
  const unavailable = error.code === "api_unavailable" || error.code === "network_error";
  return (
    <div
      role="alert"
      className={cn(
        "flex flex-col items-start gap-3 rounded-lg border border-destructive/30 bg-destructive/5 p-4 text-sm",
        className,
      )}
    >
      <div className="flex items-start gap-2">
        <TriangleAlertIcon className="mt-0.5 size-4 shrink-0 text-destructive" aria-hidden />
        <div className="grid gap-1">
          <p className="font-medium">
            {unavailable ? t.errors.apiUnavailable : t.block.errorTitle}
          </p>
          <p className="text-muted-foreground">
            {unavailable ? t.errors.apiUnavailableBody : error.message}
          </p>
        </div>
      </div>
      <Button variant="outline" size="sm" onClick={onRetry}>
        <RefreshCwIcon aria-hidden />
        {t.common.retry}
      </Button>
    </div>
  );
}

export function BlockSkeleton({ rows = 5, className }: { rows?: number; className?: string }) {
  const { t } = useI18n();
  return (
    <div className={cn("grid gap-2", className)} role="status" aria-label={t.common.loading}>
      {Array.from({ length: rows }, (_, index) => (
        <Skeleton key={index} className="h-8 w-full" />
      ))}
    </div>
  );
}
