import type { StatsWindowQuery } from "@/lib/api/types";

export const PRESETS = ["day", "week", "month"] as const;
export type Preset = (typeof PRESETS)[number];

/**
 * The dashboard's window: a preset (the 24 hours, 7 days or 30 days ending now) or whole
 * days from `from` to `to`, both inclusive, as the person picks them (YYYY-MM-DD).
 */
export type Period =
  { kind: "preset"; preset: Preset } | { kind: "range"; from: string; to: string };

export const DEFAULT_PERIOD: Period = { kind: "preset", preset: "week" };
/** webapi's longest window. */
export const MAX_RANGE_DAYS = 400;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

type SearchParams = Record<string, string | string[] | undefined>;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isPreset(value: string | undefined): value is Preset {
  return PRESETS.some((preset) => preset === value);
}

function toDay(iso: string): number | null {
  if (!ISO_DATE.test(iso)) return null;
  const time = Date.parse(`${iso}T00:00:00Z`);
  return Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== iso
    ? null
    : time / 86_400_000;
}

export function addDays(iso: string, days: number): string {
  const day = toDay(iso);
  if (day === null) throw new RangeError(`not a date: ${iso}`);
  return new Date((day + days) * 86_400_000).toISOString().slice(0, 10);
}

export type RangeProblem = "invalid" | "reversed" | "too-long";

/** What is wrong with a custom range, or null when webapi will take it. */
export function rangeProblem(from: string, to: string): RangeProblem | null {
  const start = toDay(from);
  const end = toDay(to);
  if (start === null || end === null) return "invalid";
  if (end < start) return "reversed";
  if (end - start + 1 > MAX_RANGE_DAYS) return "too-long";
  return null;
}

/** The period in the dashboard's URL (?period=day, or ?from=…&to=…); the default otherwise. */
export function parsePeriod(params: SearchParams): Period {
  const from = first(params.from);
  const to = first(params.to);
  if (from !== undefined && to !== undefined && rangeProblem(from, to) === null) {
    return { kind: "range", from, to };
  }
  const preset = first(params.period);
  return isPreset(preset) ? { kind: "preset", preset } : DEFAULT_PERIOD;
}

export function periodSearchParams(period: Period): URLSearchParams {
  return new URLSearchParams(
    period.kind === "preset" ? { period: period.preset } : { from: period.from, to: period.to },
  );
}

/** The stats endpoints' window: `to` is exclusive there, so the last day is included. */
export function statsWindowQuery(period: Period, tz: string): StatsWindowQuery {
  return period.kind === "preset"
    ? { period: period.preset, tz }
    : { from: period.from, to: addDays(period.to, 1), tz };
}

/** A stable key for caching and effects. */
export function periodKey(period: Period): string {
  return periodSearchParams(period).toString();
}
