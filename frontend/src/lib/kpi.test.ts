import { describe, expect, it } from "vitest";
import { kpiChange } from "./kpi";

describe("kpiChange", () => {
  it("says nothing changed when the previous value was 0 (change_pct null)", () => {
    expect(kpiChange({ change_pct: null })).toEqual({ kind: "none" });
    expect(kpiChange({ change_pct: null }, "lower-is-better")).toEqual({ kind: "none" });
  });

  it("reads a rise as good when more is better", () => {
    expect(kpiChange({ change_pct: 15.4 })).toEqual({ kind: "up", pct: 15.4, tone: "positive" });
  });

  it("reads a negative change as a fall, bad when more is better", () => {
    expect(kpiChange({ change_pct: -45.9 })).toEqual({
      kind: "down",
      pct: -45.9,
      tone: "negative",
    });
  });

  it("reads a fall as good when less is better (latency, errors)", () => {
    expect(kpiChange({ change_pct: -2.7 }, "lower-is-better")).toEqual({
      kind: "down",
      pct: -2.7,
      tone: "positive",
    });
    expect(kpiChange({ change_pct: 29.6 }, "lower-is-better").kind).toBe("up");
    expect(kpiChange({ change_pct: 29.6 }, "lower-is-better")).toMatchObject({ tone: "negative" });
  });

  it("keeps a zero change flat and neutral", () => {
    expect(kpiChange({ change_pct: 0 })).toEqual({ kind: "flat", pct: 0, tone: "neutral" });
    expect(kpiChange({ change_pct: -0 }, "lower-is-better")).toMatchObject({ kind: "flat" });
  });

  it("gives neutral figures no colour either way", () => {
    expect(kpiChange({ change_pct: 26.9 }, "neutral")).toEqual({
      kind: "up",
      pct: 26.9,
      tone: "neutral",
    });
  });
});
