"use client";

import { useI18n } from "@/i18n/provider";
import { useStatsWindow } from "./stats-context";

export function DashboardHeading() {
  const { t } = useI18n();
  const { timeZone } = useStatsWindow();
  return (
    <div className="grid gap-1">
      <h1 className="text-2xl font-semibold tracking-tight">{t.dashboard.title}</h1>
      <p className="text-sm text-muted-foreground">
        {timeZone ? t.dashboard.description(timeZone) : "\u00a0"}
      </p>
    </div>
  );
}
