import Link from "next/link";
import { getDictionary } from "@/i18n/server";
import { HeaderControls } from "./header-controls";
import { NavLinks } from "./nav-links";

export async function SiteHeader({ username, isAdmin }: { username: string; isAdmin: boolean }) {
  const { t } = await getDictionary();
  return (
    <header className="sticky top-0 z-40 border-b bg-background/85 backdrop-blur supports-[backdrop-filter]:bg-background/70">
      <div className="mx-auto flex h-14 w-full max-w-7xl items-center gap-2 px-3 sm:gap-4 sm:px-6">
        <Link
          href="/"
          className="flex shrink-0 items-center gap-2 rounded-md font-semibold outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50"
        >
          <span
            aria-hidden
            className="grid size-7 place-items-center rounded-md bg-primary text-xs font-bold text-primary-foreground"
          >
            AI
          </span>
          <span className="hidden md:inline">{t.common.appName}</span>
          <span className="sr-only md:hidden">{t.common.appName}</span>
        </Link>
        <NavLinks isAdmin={isAdmin} />
        <div className="ml-auto flex items-center gap-0.5 sm:gap-1">
          <span
            className="mr-2 hidden max-w-40 truncate text-sm text-muted-foreground lg:inline"
            title={t.header.signedInAs(username)}
          >
            {username}
          </span>
          <HeaderControls username={username} />
        </div>
      </div>
    </header>
  );
}
