"use client";

import { createContext, useContext, useMemo, useSyncExternalStore, type ReactNode } from "react";
import type { StatsWindowQuery } from "@/lib/api/types";
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

const StatsContext = createContext<StatsWindow | null>(null);

const subscribe = () => () => {};
const browserTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;
const serverTimeZone = () => null;

export function StatsProvider({ period, children }: { period: Period; children: ReactNode }) {
  const timeZone = useSyncExternalStore(subscribe, browserTimeZone, serverTimeZone);
  const value = useMemo<StatsWindow>(() => {
    if (timeZone === null) return { period, timeZone, query: null, key: null };
    return {
      period,
      timeZone,
      query: statsWindowQuery(period, timeZone),
      key: `${periodKey(period)}&tz=${timeZone}`,
    };
  }, [period, timeZone]);
  return <StatsContext.Provider value={value}>{children}</StatsContext.Provider>;
}

export function useStatsWindow(): StatsWindow {
  const value = useContext(StatsContext);
  if (!value) throw new Error("useStatsWindow needs a <StatsProvider> above it");
  return value;
}

/** The query string of a stats request (for links such as CSV downloads). */
export function statsSearch(query: Record<string, string | number | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined) params.set(name, String(value));
  }
  return params.toString();
}
