"use client";

import {
  createContext,
  startTransition,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from "react";
import type { StatsWindowQuery } from "@/lib/api/types";
import { browserTimeZone } from "@/lib/browser-time-zone";
import { periodKey, statsWindowQuery, type Period } from "@/lib/period";

interface StatsWindow {
  period: Period;
  /** The browser's IANA time zone; null while rendering on the server. */
  timeZone: string | null;
  /** What every stats request sends; null until the time zone is known. */
  query: StatsWindowQuery | null;
  /** Changes whenever the window does: blocks load again. */
  key: string | null;
}

const PeriodContext = createContext<Period | null>(null);

export function StatsProvider({ period, children }: { period: Period; children: ReactNode }) {
  return <PeriodContext.Provider value={period}>{children}</PeriodContext.Provider>;
}

/**
 * The browser's time zone, once this component runs in the browser: null while it renders on
 * the server and hydrates. Each block learns it in its own effect (a worker finds it, off the
 * main thread: lib/browser-time-zone.ts), in a transition: the render that follows (every
 * block's skeleton, then its request) is sliced into short tasks, where a context changed
 * right after hydration re-rendered every block in one long, synchronous task.
 */
function useBrowserTimeZone(): string | null {
  const [timeZone, setTimeZone] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    void browserTimeZone().then((found) => {
      if (current) startTransition(() => setTimeZone(found));
    });
    return () => {
      current = false;
    };
  }, []);
  return timeZone;
}

export function useStatsWindow(): StatsWindow {
  const period = useContext(PeriodContext);
  if (!period) throw new Error("useStatsWindow needs a <StatsProvider> above it");
  const timeZone = useBrowserTimeZone();
  return useMemo<StatsWindow>(() => {
    if (timeZone === null) return { period, timeZone, query: null, key: null };
    return {
      period,
      timeZone,
      query: statsWindowQuery(period, timeZone),
      key: `${periodKey(period)}&tz=${timeZone}`,
    };
  }, [period, timeZone]);
}

/** The query string of a stats request (for links such as CSV downloads). */
export function statsSearch(query: Record<string, string | number | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined) params.set(name, String(value));
  }
  return params.toString();
}
