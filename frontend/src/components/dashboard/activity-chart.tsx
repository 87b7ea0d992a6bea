"use client";

import { useState, type KeyboardEvent, type PointerEvent } from "react";
import { useI18n } from "@/i18n/provider";
import type { SeriesPoint, StatsWindow } from "@/lib/api/types";
import { cn } from "@/lib/utils";

/*
 * The activity chart, drawn here in plain SVG and HTML rather than with a chart library: the
 * dashboard's first load stays light (Recharts alone cost it 128 kB of compressed JavaScript
 * and a long task on a phone). The plot is an SVG stretched to its box (its strokes keep their
 * width); the axes' labels are HTML, placed in percent, so nothing is measured in script.
 */

type Bucket = StatsWindow["bucket"];
type SeriesKey = "user_messages" | "assistant_messages" | "active_users";

const COLORS: Record<SeriesKey, string> = {
  user_messages: "var(--chart-1)",
  assistant_messages: "var(--chart-2)",
  active_users: "var(--chart-3)",
};
const KEYS = Object.keys(COLORS) as SeriesKey[];
const AREAS = ["user_messages", "assistant_messages"] as const;
// The plot's own units (viewBox); the SVG is stretched to its box.
const SIZE = 1000;
const MAX_X_LABELS = 6;

/** About four round ticks from 0 up to at least `max`: [0, step, 2 step, ...]. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks = [0];
  while ((ticks.at(-1) ?? max) < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

/** The highest tick: the top of the axis. */
function topOf(ticks: number[]): number {
  return ticks.at(-1) || 1;
}

/** A smooth line through the points that never overshoots them (monotone cubic, as d3's
 * curveMonotoneX draws it): `M x y C ...` in the plot's units. */
export function monotonePath(points: readonly (readonly [number, number])[]): string {
  const first = points[0];
  if (!first) return "";
  const slopes = points.slice(1).map(([x, y], i) => {
    const [x0, y0] = points[i] ?? first;
    return (y - y0) / (x - x0 || 1);
  });
  const inner = (i: number): number => {
    const [before, after] = [slopes[i - 1] ?? 0, slopes[i] ?? 0];
    if (before * after <= 0) return 0;
    return (
      Math.sign(before) *
      Math.min(2 * Math.abs(before), 2 * Math.abs(after), Math.abs(before + after) / 2)
    );
  };
  // Interior points: d3's tangent for evenly spaced x; ends: from their neighbour's.
  const tangents = points.map((_, i) => (i === 0 || i === points.length - 1 ? NaN : inner(i)));
  const tangent = (i: number): number => {
    const own = tangents[i] ?? 0;
    if (!Number.isNaN(own)) return own;
    const slope = slopes[i === 0 ? 0 : i - 1] ?? 0;
    const neighbour = tangents[i === 0 ? 1 : i - 1];
    return neighbour === undefined || Number.isNaN(neighbour) ? slope : (3 * slope - neighbour) / 2;
  };
  let path = `M${first[0]},${first[1]}`;
  points.slice(1).forEach(([x1, y1], i) => {
    const [x0, y0] = points[i] ?? first;
    const third = (x1 - x0) / 3;
    path +=
      `C${x0 + third},${y0 + tangent(i) * third} ` +
      `${x1 - third},${y1 - tangent(i + 1) * third} ${x1},${y1}`;
  });
  return path;
}

function useSeriesLabels(): Record<SeriesKey, string> {
  const { t } = useI18n();
  return {
    user_messages: t.activity.userMessages,
    assistant_messages: t.activity.assistantMessages,
    active_users: t.activity.activeUsers,
  };
}

function AxisLabels({
  ticks,
  format,
  align,
}: {
  ticks: number[];
  format: (value: number) => string;
  align: "left" | "right";
}) {
  const top = topOf(ticks);
  return (
    <div aria-hidden className="relative text-xs text-muted-foreground">
      {ticks.map((tick) => (
        <span
          key={tick}
          className={cn(
            "tabular absolute -translate-y-1/2 leading-none",
            align === "left" ? "right-2" : "left-2",
          )}
          style={{ top: `${100 - (tick / top) * 100}%` }}
        >
          {format(tick)}
        </span>
      ))}
    </div>
  );
}

export function ActivityChart({ series, bucket }: { series: SeriesPoint[]; bucket: Bucket }) {
  const { t, format } = useI18n();
  const labels = useSeriesLabels();
  const bucketLabel = bucket === "hour" ? format.hour : format.date;
  const [active, setActive] = useState<number | null>(null);

  const n = series.length;
  const messageTicks = niceTicks(
    Math.max(0, ...series.map((p) => Math.max(p.user_messages, p.assistant_messages))),
  );
  const userTicks = niceTicks(Math.max(0, ...series.map((p) => p.active_users)));
  const messagesTop = topOf(messageTicks);
  const usersTop = topOf(userTicks);
  const xOf = (i: number) => (n === 1 ? SIZE / 2 : (i / (n - 1)) * SIZE);
  const percentX = (i: number) => (xOf(i) / SIZE) * 100;
  const points = (key: SeriesKey, top: number): [number, number][] =>
    series.map((point, i) => [xOf(i), SIZE - (point[key] / top) * SIZE]);
  const line = (key: SeriesKey) =>
    monotonePath(points(key, key === "active_users" ? usersTop : messagesTop));

  const step = Math.max(1, Math.ceil(n / MAX_X_LABELS));
  const xLabels = series.map((point, i) => [i, point] as const).filter(([i]) => i % step === 0);

  function pick(event: PointerEvent<HTMLDivElement>) {
    const box = event.currentTarget.getBoundingClientRect();
    const ratio = box.width > 0 ? (event.clientX - box.left) / box.width : 0;
    setActive(Math.min(n - 1, Math.max(0, Math.round(ratio * (n - 1)))));
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const move = event.key === "ArrowLeft" ? -1 : event.key === "ArrowRight" ? 1 : 0;
    if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      setActive(event.key === "Home" ? 0 : n - 1);
    } else if (move) {
      event.preventDefault();
      setActive((current) => Math.min(n - 1, Math.max(0, (current ?? (move > 0 ? -1 : n)) + move)));
    } else if (event.key === "Escape") {
      setActive(null);
    }
  }

  const shown = active === null ? undefined : series[active];
  return (
    <figure className="flex flex-1 flex-col gap-3">
      <figcaption className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted-foreground">
        {KEYS.map((key) => (
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
      <div className="grid min-h-72 w-full flex-1 grid-cols-[44px_1fr_36px] grid-rows-[1fr_28px] pt-1">
        <AxisLabels ticks={messageTicks} format={format.compact} align="left" />
        <div
          role="group"
          aria-label={t.activity.chartLabel}
          tabIndex={0}
          className="relative touch-pan-y rounded-sm outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50"
          onPointerMove={pick}
          onPointerDown={pick}
          onPointerLeave={() => setActive(null)}
          onKeyDown={onKeyDown}
          onBlur={() => setActive(null)}
        >
          {messageTicks.map((tick) => (
            <div
              key={tick}
              aria-hidden
              className="absolute inset-x-0 border-t border-border"
              style={{ top: `${100 - (tick / messagesTop) * 100}%` }}
            />
          ))}
          <svg
            aria-hidden
            className="absolute inset-0 size-full overflow-visible"
            viewBox={`0 0 ${SIZE} ${SIZE}`}
            preserveAspectRatio="none"
          >
            <defs>
              {AREAS.map((key) => (
                <linearGradient key={key} id={`fill-${key}`} x1="0" y1="0" x2="0" y2="1">
                  <stop offset="5%" stopColor={COLORS[key]} stopOpacity={0.35} />
                  <stop offset="95%" stopColor={COLORS[key]} stopOpacity={0.02} />
                </linearGradient>
              ))}
            </defs>
            {n > 1 &&
              AREAS.map((key) => (
                <path
                  key={`${key}-area`}
                  d={`${line(key)}L${xOf(n - 1)},${SIZE}L${xOf(0)},${SIZE}Z`}
                  fill={`url(#fill-${key})`}
                />
              ))}
            {KEYS.map((key) => (
              <path
                key={key}
                d={line(key)}
                fill="none"
                stroke={COLORS[key]}
                strokeWidth={2}
                strokeDasharray={key === "active_users" ? "4 3" : undefined}
                strokeLinejoin="round"
                vectorEffect="non-scaling-stroke"
              />
            ))}
          </svg>
          {shown && active !== null && (
            <>
              <div
                aria-hidden
                className="pointer-events-none absolute inset-y-0 border-l border-muted-foreground/50"
                style={{ left: `${percentX(active)}%` }}
              />
              {KEYS.map((key) => (
                <span
                  key={key}
                  aria-hidden
                  className="pointer-events-none absolute size-2 -translate-1/2 rounded-full border-2 border-background"
                  style={{
                    left: `${percentX(active)}%`,
                    top: `${100 - (shown[key] / (key === "active_users" ? usersTop : messagesTop)) * 100}%`,
                    background: COLORS[key],
                  }}
                />
              ))}
              <div
                className={cn(
                  "pointer-events-none absolute top-2 z-10 grid min-w-44 gap-1.5 rounded-lg border bg-popover px-3 py-2 text-xs text-popover-foreground shadow-md",
                  percentX(active) > 50 ? "-translate-x-full -ml-2" : "ml-2",
                )}
                style={{ left: `${percentX(active)}%` }}
              >
                <p className="font-medium">{bucketLabel(shown.start)}</p>
                {KEYS.map((key) => (
                  <p key={key} className="flex items-center gap-2">
                    <span
                      aria-hidden
                      className="size-2.5 rounded-sm"
                      style={{ background: COLORS[key] }}
                    />
                    <span className="text-muted-foreground">{labels[key]}</span>
                    <span className="tabular ml-auto font-medium">{format.count(shown[key])}</span>
                  </p>
                ))}
              </div>
            </>
          )}
        </div>
        <AxisLabels ticks={userTicks} format={format.compact} align="right" />
        <div aria-hidden className="relative col-start-2 text-xs text-muted-foreground">
          {xLabels.map(([i, point], ordinal) => (
            <span
              key={i}
              className={cn(
                "absolute top-2 -translate-x-1/2 whitespace-nowrap",
                ordinal % 2 === 1 && "max-sm:hidden",
              )}
              style={{ left: `${percentX(i)}%` }}
            >
              {bucketLabel(point.start)}
            </span>
          ))}
        </div>
      </div>
    </figure>
  );
}
