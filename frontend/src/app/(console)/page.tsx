import type { Metadata } from "next";
import { Suspense } from "react";
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

/** The dashboard: every block loads on its own, for the period in the URL. Each sits in a
 * Suspense boundary (none of them suspends): React then hydrates them one by one, in short
 * tasks a phone can interleave with input, rather than the whole page in one long task. */
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
          <Suspense>
            <DashboardHeading />
          </Suspense>
          <Suspense>
            <PeriodSelector period={period} />
          </Suspense>
        </div>
        <section aria-labelledby="overview-heading" className="grid grid-cols-1 gap-3">
          <h2 id="overview-heading" className="text-lg font-semibold">
            {t.overview.title}
          </h2>
          <Suspense>
            <OverviewBlock />
          </Suspense>
        </section>
        <section aria-labelledby="performance-heading" className="grid grid-cols-1 gap-3">
          <h2 id="performance-heading" className="text-lg font-semibold">
            {t.performance.title}
          </h2>
          <Suspense>
            <PerformanceBlock />
          </Suspense>
        </section>
        <div className="grid grid-cols-1 gap-4 lg:grid-cols-5">
          <Suspense>
            <ActivityBlock className="lg:col-span-3" />
          </Suspense>
          <Suspense>
            <TopUsersBlock className="lg:col-span-2" />
          </Suspense>
        </div>
        <Suspense>
          <DialogsBlock />
        </Suspense>
      </div>
    </StatsProvider>
  );
}
