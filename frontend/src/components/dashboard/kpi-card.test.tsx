import { render, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { describe, expect, it } from "vitest";
import { I18nProvider } from "@/i18n/provider";
import type { Locale } from "@/i18n/config";
import { formatters } from "@/lib/format";
import { KpiCard } from "./kpi-card";

const { count, duration } = formatters("en");

function renderIn(locale: Locale, ui: ReactNode) {
  return render(<I18nProvider locale={locale}>{ui}</I18nProvider>);
}

describe("KpiCard", () => {
  it("shows the figure and its rise against the previous period", () => {
    renderIn(
      "en",
      <KpiCard
        label="Dialogs"
        metric={{ value: 816, previous: 707, change_pct: 15.4 }}
        format={count}
      />,
    );
    expect(screen.getByRole("heading", { name: "Dialogs" })).toBeInTheDocument();
    expect(screen.getByText("816")).toBeInTheDocument();
    expect(screen.getByText("+15.4%")).toBeInTheDocument();
    expect(screen.getByText("vs 707")).toBeInTheDocument();
    expect(
      screen.getByText("Change against the previous period: +15.4% (previous: 707)"),
    ).toBeInTheDocument();
    expect(screen.getByText("+15.4%").parentElement).toHaveAttribute("data-tone", "positive");
  });

  it('says "no data" when the previous value is 0, never a percentage', () => {
    renderIn(
      "en",
      <KpiCard
        label="New users"
        metric={{ value: 99, previous: 0, change_pct: null }}
        format={count}
      />,
    );
    expect(screen.getByText("no data")).toBeInTheDocument();
    expect(screen.queryByText(/%/)).not.toBeInTheDocument();
  });

  it("colours a fall in latency as good, and speaks Russian", () => {
    renderIn(
      "ru",
      <KpiCard
        label="Задержка p50"
        metric={{ value: 2595, previous: 2668, change_pct: -2.7 }}
        format={formatters("ru").duration}
        polarity="lower-is-better"
      />,
    );
    const change = screen.getByText(/^-2,7\s%$/);
    expect(change.parentElement).toHaveAttribute("data-tone", "positive");
    expect(screen.getByText(/^было/)).toBeInTheDocument();
  });

  it("shows a dash for an undefined figure (no answers yet)", () => {
    renderIn(
      "en",
      <KpiCard
        label="Latency p50"
        metric={{ value: null, previous: null, change_pct: null }}
        format={duration}
      />,
    );
    expect(screen.getByText("—")).toBeInTheDocument();
    expect(screen.getByText("no data")).toBeInTheDocument();
  });
});
