import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { I18nProvider } from "@/i18n/provider";
import { ActivityChart, monotonePath, niceTicks } from "./activity-chart";

const series = [
  { start: "2026-11-26T00:00:00Z", user_messages: 40, assistant_messages: 38, active_users: 12 },
  { start: "2026-11-27T00:00:00Z", user_messages: 120, assistant_messages: 115, active_users: 18 },
  { start: "2026-11-28T00:00:00Z", user_messages: 75, assistant_messages: 70, active_users: 15 },
];

describe("niceTicks", () => {
  it("counts up in round steps to at least the highest value", () => {
    expect(niceTicks(198)).toEqual([0, 50, 100, 150, 200]);
    expect(niceTicks(27)).toEqual([0, 10, 20, 30]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});

describe("monotonePath", () => {
  it("passes through every point and never overshoots a flat stretch", () => {
    const path = monotonePath([
      [0, 10],
      [50, 10],
      [100, 0],
    ]);
    expect(path.startsWith("M0,10C")).toBe(true);
    expect(path).toContain(" 50,10C");
    expect(path.endsWith(" 100,0")).toBe(true);
    // The flat first stretch keeps its control points at y = 10.
    expect(path.split("C")[1]).toMatch(/^[\d.]+,10 [\d.]+,10 50,10$/);
  });
});

describe("ActivityChart", () => {
  it("shows a bucket's figures from the keyboard", () => {
    render(
      <I18nProvider locale="en">
        <ActivityChart series={series} bucket="day" />
      </I18nProvider>,
    );
    const chart = screen.getByRole("group", { name: /^Chart of user messages/ });
    fireEvent.keyDown(chart, { key: "ArrowRight" });
    expect(screen.getByText("38")).toBeInTheDocument();
    fireEvent.keyDown(chart, { key: "End" });
    expect(screen.getByText("70")).toBeInTheDocument();
    fireEvent.keyDown(chart, { key: "Escape" });
    expect(screen.queryByText("70")).not.toBeInTheDocument();
  });
});
