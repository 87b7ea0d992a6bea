"use client";

import { LayoutDashboardIcon, MessagesSquareIcon, UsersIcon } from "lucide-react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useI18n } from "@/i18n/provider";
import { cn } from "@/lib/utils";

/** The console's screens; Accounts only for admins (webapi refuses the rest anyway). */
export function NavLinks({ isAdmin }: { isAdmin: boolean }) {
  const { t } = useI18n();
  const pathname = usePathname();
  const links = [
    { href: "/", label: t.nav.dashboard, icon: LayoutDashboardIcon, active: pathname === "/" },
    {
      href: "/chat",
      label: t.nav.chat,
      icon: MessagesSquareIcon,
      active: pathname.startsWith("/chat"),
    },
    ...(isAdmin
      ? [
          {
            href: "/accounts",
            label: t.nav.accounts,
            icon: UsersIcon,
            active: pathname.startsWith("/accounts"),
          },
        ]
      : []),
  ];
  return (
    <nav aria-label={t.nav.label}>
      <ul className="flex items-center gap-0.5 sm:gap-1">
        {links.map(({ href, label, icon: Icon, active }) => (
          <li key={href}>
            <Link
              href={href}
              aria-current={active ? "page" : undefined}
              title={label}
              className={cn(
                "flex h-9 items-center gap-2 rounded-md px-2 text-sm font-medium transition-colors outline-none hover:bg-accent hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50 sm:px-3",
                active ? "bg-accent text-foreground" : "text-muted-foreground",
              )}
            >
              <Icon className="size-4 shrink-0" aria-hidden />
              {/* Icons alone on a phone: three labels do not fit beside the header's buttons. */}
              <span className="max-sm:sr-only">{label}</span>
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
