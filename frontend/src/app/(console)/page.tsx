import type { Metadata } from "next";
import { ActivityBlock } from "@/components/dashboard/activity-block";
import { DashboardHeading } from "@/components/dashboard/dashboard-heading";
import { DialogsBlock } from "@/components/dashboard/dialogs-block";
import { OverviewBlock } from "@/components/dashboard/overview-block";
import { PerformanceBlock } from "@/components/dashboard/performance-block";
import { PeriodSelector } from "@/components/dashboard/period-selector";
import { StatsProvider } from "@/components/dashboard/stats-context";
import { TopUsersBlock } from "@/components/dashboard/top-users-block";
import { getDictionary } from "@/i18n/server";
import { parsePeriod } from "@/lib/period";

export async function generateMetadata(): Promise<Metadata> {
  const { t } = await getDictionary();
  return { title: t.dashboard.title };
}

/** The dashboard: every block loads on its own, for the period in the URL. */
export default async function DashboardPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const period = parsePeriod(await searchParams);
  const { t } = await getDictionary();
  return (
    <StatsProvider period={period}>
      <div className="grid grid-cols-1 gap-8">
        <div className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
          <DashboardHeading />
          <PeriodSelector period={period} />
        </div>
        <section aria-labelledby="overview-heading" className="grid grid-cols-1 gap-3">
          <h2 id="overview-heading" className="text-lg font-semibold">
            {t.overview.title}
          </h2>
          <OverviewBlock />
        </section>
        <section aria-labelledby="performance-heading" className="grid grid-cols-1 gap-3">
          <h2 id="performance-heading" className="text-lg font-semibold">
            {t.performance.title}
          </h2>
          <PerformanceBlock />
        </section>
        <div className="grid grid-cols-1 gap-4 lg:grid-cols-5">
          <ActivityBlock className="lg:col-span-3" />
          <TopUsersBlock className="lg:col-span-2" />
        </div>
        <DialogsBlock />
      </div>
    </StatsProvider>
  );
}
