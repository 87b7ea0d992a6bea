"use client";

import { CheckIcon, CopyIcon } from "lucide-react";
import { Highlight, themes } from "prism-react-renderer";
import { useEffect, useState } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { useTheme } from "next-themes";
import { Button } from "@/components/ui/button";
import { useChatTexts } from "@/i18n/chat";
import { useI18n } from "@/i18n/provider";
import type { InsightsResult } from "@/lib/chat/state";
import { cn } from "@/lib/utils";

const COLORS = ["var(--chart-1)", "var(--chart-2)", "var(--chart-3)", "var(--chart-4)"];

/** The query, highlighted, with a Copy button. */
export function SqlBlock({ sql, label }: { sql: string; label: string }) {
  const tc = useChatTexts();
  const { resolvedTheme } = useTheme();
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  const copy = () => {
    navigator.clipboard?.writeText(sql).then(
      () => setCopied(true),
      () => undefined,
    );
  };
  const theme = resolvedTheme === "dark" ? themes.vsDark : themes.github;
  return (
    <figure className="grid gap-1" aria-label={label}>
      <figcaption className="flex items-center justify-between text-xs text-muted-foreground">
        <span>{label}</span>
        <Button variant="ghost" size="sm" onClick={copy} aria-label={tc.copySql}>
          {copied ? <CheckIcon aria-hidden /> : <CopyIcon aria-hidden />}
          <span aria-live="polite">{copied ? tc.copied : tc.copy}</span>
        </Button>
      </figcaption>
      <Highlight code={sql} language="sql" theme={theme}>
        {({ className, style, tokens, getLineProps, getTokenProps }) => (
          <pre
            className={cn(className, "overflow-x-auto rounded-md border p-3 font-mono text-xs")}
            style={style}
            data-testid="sql-block"
          >
            <code>
              {tokens.map((line, index) => (
                <div key={index} {...getLineProps({ line })}>
                  {line.map((token, key) => (
                    <span key={key} {...getTokenProps({ token })} />
                  ))}
                </div>
              ))}
            </code>
          </pre>
        )}
      </Highlight>
    </figure>
  );
}

function isNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function Cell({ value }: { value: unknown }) {
  const { locale } = useI18n();
  if (value === null || value === undefined) {
    return <span className="text-muted-foreground italic">null</span>;
  }
  if (isNumber(value)) {
    return <>{new Intl.NumberFormat(locale, { maximumFractionDigits: 6 }).format(value)}</>;
  }
  if (typeof value === "object") return <>{JSON.stringify(value)}</>;
  return <>{String(value)}</>;
}

/** The rows: scrollable both ways, numbers right-aligned, null shown as such. */
export function ResultTable({ result }: { result: InsightsResult }) {
  const { format } = useI18n();
  const tc = useChatTexts();
  const numeric = result.columns.map(
    (_, column) =>
      result.rows.some((row) => isNumber(row[column])) &&
      result.rows.every((row) => row[column] === null || isNumber(row[column])),
  );
  return (
    <div className="grid gap-1">
      <div
        className="max-h-80 overflow-auto rounded-md border"
        tabIndex={0}
        role="region"
        aria-label={tc.rows(format.count(result.rows.length))}
      >
        <table className="w-full text-xs">
          <thead className="sticky top-0 bg-muted">
            <tr>
              {result.columns.map((column, index) => (
                <th
                  key={index}
                  scope="col"
                  className={cn(
                    "px-2 py-1.5 font-medium whitespace-nowrap",
                    numeric[index] ? "text-right" : "text-left",
                  )}
                >
                  {column}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {result.rows.map((row, rowIndex) => (
              <tr key={rowIndex} className="border-t">
                {result.columns.map((_, index) => (
                  <td
                    key={index}
                    className={cn(
                      "px-2 py-1 align-top",
                      numeric[index] ? "tabular text-right whitespace-nowrap" : "text-left",
                    )}
                  >
                    <Cell value={row[index]} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="text-xs text-muted-foreground">
        {result.rows.length === 0 ? tc.noRows : tc.rows(format.count(result.rows.length))}
        {result.truncated && (
          <span className="ml-2 font-medium text-amber-700 dark:text-amber-400">
            {tc.truncated(format.count(result.rows.length))}
          </span>
        )}
      </p>
    </div>
  );
}

/** The suggested chart (line or bar); nothing for `none` or a chart the rows cannot draw. */
export function ResultChart({ result }: { result: InsightsResult }) {
  const { format } = useI18n();
  const tc = useChatTexts();
  const { kind, x, y } = result.chart;
  if (kind === "none" || !x || y.length === 0) return null;
  const xIndex = result.columns.indexOf(x);
  const yIndexes = y.map((column) => result.columns.indexOf(column));
  if (xIndex < 0 || yIndexes.some((index) => index < 0) || result.rows.length === 0) return null;
  const data = result.rows.map((row) => {
    const point: Record<string, unknown> = {
      [x]: row[xIndex] === null ? "null" : String(row[xIndex]),
    };
    y.forEach((column, index) => {
      const value = row[yIndexes[index] ?? -1];
      point[column] = isNumber(value) ? value : null;
    });
    return point;
  });
  const Chart = kind === "line" ? LineChart : BarChart;
  return (
    <figure
      className="h-64 w-full"
      role="img"
      aria-label={tc.chartLabel(y.join(", "), x)}
      data-testid={`chart-${kind}`}
    >
      <ResponsiveContainer width="100%" height="100%">
        <Chart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid vertical={false} strokeDasharray="3 3" className="stroke-border" />
          <XAxis dataKey={x} tickLine={false} axisLine={false} fontSize={11} />
          <YAxis
            tickLine={false}
            axisLine={false}
            fontSize={11}
            width={48}
            tickFormatter={(value: number) => format.count(value)}
          />
          <Tooltip
            contentStyle={{
              background: "var(--popover)",
              color: "var(--popover-foreground)",
              border: "1px solid var(--border)",
              borderRadius: 8,
              fontSize: 12,
            }}
          />
          {y.map((column, index) =>
            kind === "line" ? (
              <Line
                key={column}
                dataKey={column}
                stroke={COLORS[index % COLORS.length]}
                strokeWidth={2}
                dot={false}
                isAnimationActive={false}
              />
            ) : (
              <Bar
                key={column}
                dataKey={column}
                fill={COLORS[index % COLORS.length]}
                radius={[4, 4, 0, 0]}
                isAnimationActive={false}
              />
            ),
          )}
        </Chart>
      </ResponsiveContainer>
    </figure>
  );
}

/** An Insights answer's SQL, rows and chart (the summary is the message's Markdown). */
export default function InsightsResultView({
  sql,
  result,
  sqlLabel,
}: {
  sql: string | null;
  result: InsightsResult | null;
  sqlLabel?: string;
}) {
  const tc = useChatTexts();
  return (
    <div className="grid gap-3">
      {sql && <SqlBlock sql={sql} label={sqlLabel ?? tc.sql} />}
      {result && result.columns.length > 0 && <ResultTable result={result} />}
      {result && <ResultChart result={result} />}
    </div>
  );
}
