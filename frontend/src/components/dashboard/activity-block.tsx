"use client";

import {
  Card,
  CardAction,
  CardContent,
  CardDescription,
  CardHeader,
  CardTitle,
} from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { BlockError } from "@/components/ui/block-states";
import { useI18n } from "@/i18n/provider";
import { api, unwrap } from "@/lib/api/client";
import type { Activity } from "@/lib/api/types";
import { useApiQuery } from "@/lib/use-api-query";
import { cn } from "@/lib/utils";
import { ActivityChart } from "./activity-chart";
import { BlockEmpty, CsvLink } from "./block-states";
import { statsSearch, useStatsWindow } from "./stats-context";

export function ActivityBlock({ className }: { className?: string }) {
  const { t } = useI18n();
  const { key, query } = useStatsWindow();
  const activity = useApiQuery<Activity>(key && `activity?${key}`, (signal) =>
    unwrap(api.GET("/api/v1/stats/activity", { params: { query: query ?? {} }, signal })),
  );
  const data = activity.data;
  const empty =
    data !== undefined &&
    data.series.every((point) => point.user_messages === 0 && point.assistant_messages === 0);

  return (
    <Card className={cn("min-h-96", className)} aria-busy={activity.loading}>
      <CardHeader>
        <CardTitle>{t.activity.title}</CardTitle>
        <CardDescription>
          {data ? t.activity.description[data.window.bucket] : "\u00a0"}
        </CardDescription>
        {query && (
          <CardAction>
            <CsvLink
              href={`/api/v1/stats/activity?${statsSearch({ ...query, format: "csv" })}`}
              what={t.activity.csvWhat}
            />
          </CardAction>
        )}
      </CardHeader>
      <CardContent className="flex flex-1 flex-col">
        {activity.error ? (
          <BlockError error={activity.error} onRetry={activity.retry} />
        ) : !data ? (
          <Skeleton className="h-72 w-full" />
        ) : empty ? (
          <BlockEmpty />
        ) : (
          <ActivityChart series={data.series} bucket={data.window.bucket} />
        )}
      </CardContent>
    </Card>
  );
}
