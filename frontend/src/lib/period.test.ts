import { describe, expect, it } from "vitest";
import { addDays, parsePeriod, rangeProblem, statsWindowQuery } from "./period";

describe("period", () => {
  it("reads presets and ranges from the URL, falling back to the week", () => {
    expect(parsePeriod({ period: "day" })).toEqual({ kind: "preset", preset: "day" });
    expect(parsePeriod({})).toEqual({ kind: "preset", preset: "week" });
    expect(parsePeriod({ period: "year" })).toEqual({ kind: "preset", preset: "week" });
    expect(parsePeriod({ from: "2026-11-01", to: "2026-11-30" })).toEqual({
      kind: "range",
      from: "2026-11-01",
      to: "2026-11-30",
    });
    expect(parsePeriod({ from: "2026-11-30", to: "2026-11-01", period: "month" })).toEqual({
      kind: "preset",
      preset: "month",
    });
  });

  it("checks custom ranges as webapi will", () => {
    expect(rangeProblem("2026-02-30", "2026-03-01")).toBe("invalid");
    expect(rangeProblem("2026-03-02", "2026-03-01")).toBe("reversed");
    expect(rangeProblem("2025-01-01", "2026-12-31")).toBe("too-long");
    expect(rangeProblem("2026-03-01", "2026-03-01")).toBeNull();
  });

  it("sends the last day of a range as an exclusive end, with the time zone", () => {
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(
      statsWindowQuery({ kind: "range", from: "2026-11-01", to: "2026-11-30" }, "Asia/Kolkata"),
    ).toEqual({ from: "2026-11-01", to: "2026-12-01", tz: "Asia/Kolkata" });
    expect(statsWindowQuery({ kind: "preset", preset: "month" }, "UTC")).toEqual({
      period: "month",
      tz: "UTC",
    });
  });
});
