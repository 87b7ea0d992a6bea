import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { describe, expect, it, vi } from "vitest";
import { I18nProvider } from "@/i18n/provider";
import type { InsightsResult } from "@/lib/chat/state";
import InsightsResultView from "./insights-result";

function renderEn(ui: ReactNode) {
  return render(<I18nProvider locale="en">{ui}</I18nProvider>);
}

const SQL = "SELECT channel, COUNT(*) AS dialogs FROM dialogs GROUP BY channel";

function result(overrides: Partial<InsightsResult> = {}): InsightsResult {
  return {
    columns: ["channel", "dialogs"],
    rows: [
      ["telegram", 1200],
      ["web", null],
    ],
    truncated: false,
    chart: { kind: "none", x: null, y: [] },
    ...overrides,
  };
}

describe("InsightsResultView", () => {
  it("highlights the SQL and copies it", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    renderEn(<InsightsResultView sql={SQL} result={null} />);

    const block = screen.getByTestId("sql-block");
    expect(block).toHaveTextContent(SQL);
    expect(block.querySelector(".token.keyword")).not.toBeNull();

    fireEvent.click(screen.getByRole("button", { name: "Copy the SQL" }));
    expect(writeText).toHaveBeenCalledWith(SQL);
    await waitFor(() => expect(screen.getByText("Copied")).toBeInTheDocument());
  });

  it("shows the rows: numbers right-aligned, null muted, no truncation note", () => {
    renderEn(<InsightsResultView sql={null} result={result()} />);
    const table = screen.getByRole("table");
    const headers = within(table).getAllByRole("columnheader");
    expect(headers.map((header) => header.textContent)).toEqual(["channel", "dialogs"]);
    expect(headers[1]).toHaveClass("text-right");

    const number = within(table).getByText("1,200");
    expect(number).toHaveClass("text-right");
    const nullCell = within(table).getByText("null");
    expect(nullCell).toHaveClass("text-muted-foreground");

    expect(screen.getByText("2 rows")).toBeInTheDocument();
    expect(screen.queryByText(/Only the first/)).not.toBeInTheDocument();
  });

  it("says when the rows were truncated", () => {
    renderEn(<InsightsResultView sql={null} result={result({ truncated: true })} />);
    expect(screen.getByText("Only the first 2 rows are kept.")).toBeInTheDocument();
  });

  it("draws no chart for kind none, and a bar chart when suggested", () => {
    const { unmount } = renderEn(<InsightsResultView sql={null} result={result()} />);
    expect(screen.queryByRole("img")).not.toBeInTheDocument();
    unmount();

    renderEn(
      <InsightsResultView
        sql={null}
        result={result({ chart: { kind: "bar", x: "channel", y: ["dialogs"] } })}
      />,
    );
    const chart = screen.getByRole("img", { name: "Chart of dialogs by channel" });
    expect(chart).toHaveAttribute("data-testid", "chart-bar");
  });

  it("draws no chart when the suggested columns are not in the rows", () => {
    renderEn(
      <InsightsResultView
        sql={null}
        result={result({ chart: { kind: "line", x: "day", y: ["dialogs"] } })}
      />,
    );
    expect(screen.queryByRole("img")).not.toBeInTheDocument();
  });
});
