"use client";

import { CalendarRangeIcon } from "lucide-react";
import { usePathname, useRouter } from "next/navigation";
import { useId, useState, useTransition, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { useI18n } from "@/i18n/provider";
import {
  MAX_RANGE_DAYS,
  PRESETS,
  addDays,
  periodSearchParams,
  rangeProblem,
  type Period,
} from "@/lib/period";
import { cn } from "@/lib/utils";

const CUSTOM = "custom" as const;

function today(): string {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

/** Day, week, month or a custom range of days; kept in the URL (?period= or ?from=&to=).
 * The choice is native radio buttons (arrow keys move it, as in any radio group): no script
 * library on the dashboard's first load for it. */
export function PeriodSelector({ period }: { period: Period }) {
  const { t } = useI18n();
  const router = useRouter();
  const pathname = usePathname();
  const [pending, startTransition] = useTransition();
  const [customOpen, setCustomOpen] = useState(period.kind === "range");
  const [from, setFrom] = useState(period.kind === "range" ? period.from : "");
  const [to, setTo] = useState(period.kind === "range" ? period.to : "");
  const [problem, setProblem] = useState<string | null>(null);
  const ids = useId();

  function go(next: Period) {
    startTransition(() =>
      router.replace(`${pathname}?${periodSearchParams(next)}`, { scroll: false }),
    );
  }

  function onPick(value: string) {
    if (value === CUSTOM) {
      setCustomOpen(true);
      if (!from || !to) {
        const end = today();
        setFrom(addDays(end, -13));
        setTo(end);
      }
      return;
    }
    const preset = PRESETS.find((candidate) => candidate === value);
    if (preset) {
      setCustomOpen(false);
      setProblem(null);
      go({ kind: "preset", preset });
    }
  }

  function onApply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const issue = rangeProblem(from, to);
    if (issue === null) {
      setProblem(null);
      go({ kind: "range", from, to });
      return;
    }
    setProblem(
      issue === "reversed"
        ? t.period.reversed
        : issue === "too-long"
          ? t.period.tooLong(MAX_RANGE_DAYS)
          : t.period.invalid,
    );
  }

  const selected = customOpen ? CUSTOM : period.kind === "preset" ? period.preset : CUSTOM;
  return (
    <div className="flex flex-col items-stretch gap-2 sm:items-end" aria-busy={pending}>
      <div
        role="radiogroup"
        aria-label={t.period.label}
        className="inline-flex w-fit max-w-full items-center overflow-x-auto rounded-md border bg-muted/50 p-0.5"
      >
        {[...PRESETS, CUSTOM].map((value) => (
          <label
            key={value}
            className={cn(
              "inline-flex h-8 cursor-pointer items-center justify-center rounded-[calc(var(--radius)-4px)] px-2.5 text-sm font-medium whitespace-nowrap text-muted-foreground transition-colors select-none",
              "hover:text-foreground has-[:focus-visible]:ring-[3px] has-[:focus-visible]:ring-ring/50",
              "has-[:checked]:bg-background has-[:checked]:text-foreground has-[:checked]:shadow-xs",
            )}
          >
            <input
              type="radio"
              name={`${ids}-period`}
              value={value}
              checked={selected === value}
              onChange={() => onPick(value)}
              aria-controls={value === CUSTOM && customOpen ? `${ids}-range` : undefined}
              className="sr-only"
            />
            {value === CUSTOM ? (
              <>
                <CalendarRangeIcon className="size-4" aria-hidden />
                <span className="ml-1.5">{t.period.custom}</span>
              </>
            ) : (
              t.period[value]
            )}
          </label>
        ))}
      </div>
      {customOpen && (
        <form
          id={`${ids}-range`}
          onSubmit={onApply}
          className="flex flex-wrap items-end gap-2"
          aria-describedby={problem ? `${ids}-problem` : undefined}
          noValidate
        >
          <div className="grid gap-1">
            <Label htmlFor={`${ids}-from`} textSize="text-xs" className="text-muted-foreground">
              {t.period.from}
            </Label>
            <Input
              id={`${ids}-from`}
              type="date"
              value={from}
              max={to || undefined}
              onChange={(event) => setFrom(event.target.value)}
              sizing="h-8 w-40"
              aria-invalid={problem !== null}
              required
            />
          </div>
          <div className="grid gap-1">
            <Label htmlFor={`${ids}-to`} textSize="text-xs" className="text-muted-foreground">
              {t.period.to}
            </Label>
            <Input
              id={`${ids}-to`}
              type="date"
              value={to}
              min={from || undefined}
              onChange={(event) => setTo(event.target.value)}
              sizing="h-8 w-40"
              aria-invalid={problem !== null}
              required
            />
          </div>
          <Button type="submit" size="sm" disabled={pending}>
            {t.period.apply}
          </Button>
          {problem && (
            <p
              id={`${ids}-problem`}
              role="alert"
              className="basis-full text-sm text-destructive sm:text-right"
            >
              {problem}
            </p>
          )}
        </form>
      )}
    </div>
  );
}
