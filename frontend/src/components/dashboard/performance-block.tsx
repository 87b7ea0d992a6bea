"use client";

import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import type { Performance } from "@/lib/api/types";
import { useApiQuery } from "@/lib/use-api-query";
import { BlockError } from "@/components/ui/block-states";
import { KpiCard, KpiCardSkeleton } from "./kpi-card";
import { useStatsWindow } from "./stats-context";

const GRID = "grid grid-cols-2 gap-3 md:grid-cols-4 xl:grid-cols-7";

export function PerformanceBlock() {
  const { t, format } = useI18n();
  const { key, query } = useStatsWindow();
  const performance = useApiQuery<Performance>(key && `performance?${key}`, (signal) =>
    unwrap(api.GET("/api/v1/stats/performance", { params: { query: query ?? {} }, signal })),
  );

  if (performance.error) {
    return <BlockError error={performance.error} onRetry={performance.retry} />;
  }
  const data = performance.data;
  if (!data) {
    return (
      <div className={GRID}>
        {Array.from({ length: 7 }, (_, index) => (
          <KpiCardSkeleton key={index} />
        ))}
      </div>
    );
  }
  const slower = "lower-is-better";
  return (
    <div className={GRID} aria-busy={performance.loading}>
      <KpiCard
        label={t.performance.latencyP50}
        metric={data.latency_p50_ms}
        format={format.duration}
        polarity={slower}
      />
      <KpiCard
        label={t.performance.latencyP95}
        metric={data.latency_p95_ms}
        format={format.duration}
        polarity={slower}
      />
      <KpiCard
        label={t.performance.ttftP50}
        metric={data.ttft_p50_ms}
        format={format.duration}
        polarity={slower}
      />
      <KpiCard
        label={t.performance.ttftP95}
        metric={data.ttft_p95_ms}
        format={format.duration}
        polarity={slower}
      />
      <KpiCard
        label={t.performance.tokens}
        metric={data.tokens}
        format={format.compact}
        polarity="neutral"
        detail={t.performance.tokensDetail(
          format.compact(data.prompt_tokens.value),
          format.compact(data.completion_tokens.value),
        )}
      />
      <KpiCard
        label={t.performance.errorRate}
        metric={data.error_rate}
        format={format.ratio}
        polarity={slower}
        detail={t.performance.errorRateDetail(
          format.count(data.failed.value),
          format.count(data.interrupted.value),
          format.count(data.answers.value),
        )}
      />
      <KpiCard
        label={t.performance.cancelled}
        metric={data.cancelled}
        format={format.count}
        polarity="neutral"
        detail={t.performance.cancelledDetail}
      />
    </div>
  );
}
