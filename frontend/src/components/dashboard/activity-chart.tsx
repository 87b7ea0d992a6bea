"use client";

import {
  Area,
  CartesianGrid,
  ComposedChart,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
  type TooltipContentProps,
} from "recharts";
import type { NameType, ValueType } from "recharts/types/component/DefaultTooltipContent";
import { useI18n } from "@/i18n/provider";
import type { SeriesPoint, StatsWindow } from "@/lib/api/types";

type Bucket = StatsWindow["bucket"];
type SeriesKey = "user_messages" | "assistant_messages" | "active_users";

const COLORS: Record<SeriesKey, string> = {
  user_messages: "var(--chart-1)",
  assistant_messages: "var(--chart-2)",
  active_users: "var(--chart-3)",
};

function useSeriesLabels(): Record<SeriesKey, string> {
  const { t } = useI18n();
  return {
    user_messages: t.activity.userMessages,
    assistant_messages: t.activity.assistantMessages,
    active_users: t.activity.activeUsers,
  };
}

function useBucketLabel(bucket: Bucket): (start: string) => string {
  const { format } = useI18n();
  return bucket === "hour" ? format.hour : format.date;
}

function ChartTooltip({
  active,
  payload,
  label,
  bucket,
}: TooltipContentProps<ValueType, NameType> & { bucket: Bucket }) {
  const { format } = useI18n();
  const labels = useSeriesLabels();
  const bucketLabel = useBucketLabel(bucket);
  if (!active || !payload?.length) return null;
  return (
    <div className="grid min-w-44 gap-1.5 rounded-lg border bg-popover px-3 py-2 text-xs text-popover-foreground shadow-md">
      <p className="font-medium">{bucketLabel(String(label))}</p>
      {payload.map((entry) => {
        const key = entry.dataKey as SeriesKey;
        return (
          <p key={key} className="flex items-center gap-2">
            <span aria-hidden className="size-2.5 rounded-sm" style={{ background: COLORS[key] }} />
            <span className="text-muted-foreground">{labels[key]}</span>
            <span className="tabular ml-auto font-medium">{format.count(Number(entry.value))}</span>
          </p>
        );
      })}
    </div>
  );
}

export function ActivityChart({ series, bucket }: { series: SeriesPoint[]; bucket: Bucket }) {
  const { t, format } = useI18n();
  const labels = useSeriesLabels();
  const bucketLabel = useBucketLabel(bucket);
  const keys = Object.keys(COLORS) as SeriesKey[];
  return (
    <figure className="flex flex-1 flex-col gap-3">
      <figcaption className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted-foreground">
        {keys.map((key) => (
          <span key={key} className="inline-flex items-center gap-1.5">
            <span
              aria-hidden
              className={key === "active_users" ? "h-0.5 w-3 rounded-full" : "size-2.5 rounded-sm"}
              style={{ background: COLORS[key] }}
            />
            {labels[key]}
          </span>
        ))}
      </figcaption>
      <div className="min-h-72 w-full flex-1" role="group" aria-label={t.activity.chartLabel}>
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={series} margin={{ top: 4, right: 0, bottom: 0, left: 0 }}>
            <defs>
              {(["user_messages", "assistant_messages"] as const).map((key) => (
                <linearGradient key={key} id={`fill-${key}`} x1="0" y1="0" x2="0" y2="1">
                  <stop offset="5%" stopColor={COLORS[key]} stopOpacity={0.35} />
                  <stop offset="95%" stopColor={COLORS[key]} stopOpacity={0.02} />
                </linearGradient>
              ))}
            </defs>
            <CartesianGrid vertical={false} stroke="var(--border)" />
            <XAxis
              dataKey="start"
              tickFormatter={bucketLabel}
              tickLine={false}
              axisLine={false}
              tickMargin={8}
              minTickGap={24}
              tick={{ fill: "var(--muted-foreground)", fontSize: 12 }}
            />
            <YAxis
              yAxisId="messages"
              tickFormatter={(value: number) => format.compact(value)}
              tickLine={false}
              axisLine={false}
              width={44}
              tick={{ fill: "var(--muted-foreground)", fontSize: 12 }}
            />
            <YAxis
              yAxisId="users"
              orientation="right"
              tickFormatter={(value: number) => format.compact(value)}
              tickLine={false}
              axisLine={false}
              width={36}
              tick={{ fill: "var(--muted-foreground)", fontSize: 12 }}
            />
            <Tooltip
              content={(props) => <ChartTooltip {...props} bucket={bucket} />}
              cursor={{ stroke: "var(--border)" }}
            />
            <Area
              yAxisId="messages"
              type="monotone"
              dataKey="user_messages"
              name={labels.user_messages}
              stroke={COLORS.user_messages}
              fill="url(#fill-user_messages)"
              strokeWidth={2}
              isAnimationActive={false}
            />
            <Area
              yAxisId="messages"
              type="monotone"
              dataKey="assistant_messages"
              name={labels.assistant_messages}
              stroke={COLORS.assistant_messages}
              fill="url(#fill-assistant_messages)"
              strokeWidth={2}
              isAnimationActive={false}
            />
            <Line
              yAxisId="users"
              type="monotone"
              dataKey="active_users"
              name={labels.active_users}
              stroke={COLORS.active_users}
              strokeWidth={2}
              strokeDasharray="4 3"
              dot={false}
              isAnimationActive={false}
            />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
