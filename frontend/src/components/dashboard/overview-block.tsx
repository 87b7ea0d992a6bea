"use client";

import { BlockError } from "@/components/ui/block-states";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import type { Overview } from "@/lib/api/types";
import { useApiQuery } from "@/lib/use-api-query";
import { KpiCard, KpiCardSkeleton } from "./kpi-card";
import { useStatsWindow } from "./stats-context";

const GRID = "grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6";

export function OverviewBlock() {
  const { t, format } = useI18n();
  const { key, query } = useStatsWindow();
  const overview = useApiQuery<Overview>(key && `overview?${key}`, (signal) =>
    unwrap(api.GET("/api/v1/stats/overview", { params: { query: query ?? {} }, signal })),
  );

  if (overview.error) return <BlockError error={overview.error} onRetry={overview.retry} />;
  const data = overview.data;
  if (!data) {
    return (
      <div className={GRID}>
        {Array.from({ length: 6 }, (_, index) => (
          <KpiCardSkeleton key={index} />
        ))}
      </div>
    );
  }
  return (
    <div className={GRID} aria-busy={overview.loading}>
      <KpiCard label={t.overview.dialogs} metric={data.dialogs} format={format.count} />
      <KpiCard label={t.overview.userMessages} metric={data.user_messages} format={format.count} />
      <KpiCard
        label={t.overview.assistantMessages}
        metric={data.assistant_messages}
        format={format.count}
      />
      <KpiCard label={t.overview.activeUsers} metric={data.active_users} format={format.count} />
      <KpiCard label={t.overview.newUsers} metric={data.new_users} format={format.count} />
      <KpiCard
        label={t.overview.messagesPerDialog}
        metric={data.messages_per_dialog}
        format={format.decimal}
      />
    </div>
  );
}
