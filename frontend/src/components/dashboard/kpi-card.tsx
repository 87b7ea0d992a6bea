"use client";

import { ArrowDownRightIcon, ArrowUpRightIcon, MinusIcon } from "lucide-react";
import type { ReactNode } from "react";
import { Card } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { useI18n } from "@/i18n/provider";
import type { Metric } from "@/lib/api/types";
import { kpiChange, type Polarity } from "@/lib/kpi";
import { cn } from "@/lib/utils";

const TONE_CLASS = {
  positive: "text-positive",
  negative: "text-negative",
  neutral: "text-muted-foreground",
} as const;

const TREND_ICON = { up: ArrowUpRightIcon, down: ArrowDownRightIcon, flat: MinusIcon } as const;

export interface KpiCardProps {
  label: string;
  metric: Metric;
  /** Formats the value and the previous value (counts, durations, ratios). */
  format: (value: number | null) => string;
  polarity?: Polarity;
  /** A line under the figure (e.g. what it is made of). */
  detail?: ReactNode;
}

/** One figure of the window, with its change against the previous window of the same length. */
export function KpiCard({
  label,
  metric,
  format,
  polarity = "higher-is-better",
  detail,
}: KpiCardProps) {
  const { t, format: formatters } = useI18n();
  const change = kpiChange(metric, polarity);
  const previous = format(metric.previous);
  const Icon = change.kind === "none" ? null : TREND_ICON[change.kind];
  return (
    <Card spacing="gap-2 px-4 py-4">
      <h3 className="text-sm font-medium text-muted-foreground">{label}</h3>
      <p className="tabular text-2xl font-semibold tracking-tight">{format(metric.value)}</p>
      {change.kind === "none" ? (
        <p className="text-xs text-muted-foreground">
          <span className="sr-only">{t.dashboard.noChangeLabel}</span>
          <span aria-hidden>{t.common.noData}</span>
        </p>
      ) : (
        <p className="flex flex-wrap items-center gap-x-1.5 text-xs">
          <span className="sr-only">
            {t.dashboard.changeLabel(formatters.change(change.pct), previous)}
          </span>
          <span
            aria-hidden
            data-tone={change.tone}
            className={cn("inline-flex items-center gap-0.5 font-medium", TONE_CLASS[change.tone])}
          >
            {Icon && <Icon className="size-3.5" />}
            <span className="tabular">{formatters.change(change.pct)}</span>
          </span>
          <span aria-hidden className="text-muted-foreground" title={t.dashboard.previousTitle}>
            {t.dashboard.vsPrevious(previous)}
          </span>
        </p>
      )}
      {detail && <p className="text-xs text-muted-foreground">{detail}</p>}
    </Card>
  );
}

export function KpiCardSkeleton() {
  return (
    <Card spacing="gap-3 px-4 py-4" aria-hidden>
      <Skeleton className="h-4 w-24" />
      <Skeleton className="h-7 w-20" />
      <Skeleton className="h-3 w-28" />
    </Card>
  );
}
