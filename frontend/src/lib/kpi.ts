import type { Metric } from "@/lib/api/types";

/** Which way a figure should move: more dialogs is good, more latency is not. */
export type Polarity = "higher-is-better" | "lower-is-better" | "neutral";

export type Tone = "positive" | "negative" | "neutral";

export type KpiChange =
  { kind: "none" } | { kind: "up" | "down" | "flat"; pct: number; tone: Tone };

/**
 * How a figure changed against the previous window of the same length.
 *
 * `change_pct` is null when the previous value is 0 (or undefined): that is "no data", never
 * +100 % or +9900 %. A change that rounds to 0 is flat and neutral.
 */
export function kpiChange(
  metric: Pick<Metric, "change_pct">,
  polarity: Polarity = "higher-is-better",
): KpiChange {
  const pct = metric.change_pct;
  if (pct === null || !Number.isFinite(pct)) return { kind: "none" };
  if (pct === 0) return { kind: "flat", pct: 0, tone: "neutral" };
  const kind = pct > 0 ? "up" : "down";
  let tone: Tone = "neutral";
  if (polarity !== "neutral") {
    const better = polarity === "higher-is-better" ? kind === "up" : kind === "down";
    tone = better ? "positive" : "negative";
  }
  return { kind, pct, tone };
}
