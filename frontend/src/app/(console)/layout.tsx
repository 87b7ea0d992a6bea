import { headers } from "next/headers";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { ApiUnavailable } from "@/components/shell/api-unavailable";
import { SiteHeader } from "@/components/shell/site-header";
import { getDictionary } from "@/i18n/server";
import { getSession } from "@/lib/api/server";
import { REQUEST_PATH_HEADER, loginPath, safeNextPath } from "@/lib/next-path";

/** The signed-in console: webapi vouches for the session before anything is shown. */
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const session = await getSession();
  if (session.status === "unavailable") return <ApiUnavailable />;
  if (session.status === "signed-out") {
    redirect(loginPath(safeNextPath((await headers()).get(REQUEST_PATH_HEADER))));
  }
  const { account } = session;
  const { t } = await getDictionary();
  return (
    <>
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-background px-3 py-2 focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:ring-[3px] focus:ring-ring/50"
      >
        {t.common.skipToContent}
      </a>
      <SiteHeader username={account.username} isAdmin={account.is_admin} />
      <main id="main" className="mx-auto w-full max-w-7xl px-4 pt-6 pb-12 sm:px-6">
        {children}
      </main>
    </>
  );
}
