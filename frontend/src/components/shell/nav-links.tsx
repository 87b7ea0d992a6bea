"use client";

import { LayoutDashboardIcon, MessagesSquareIcon } from "lucide-react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useI18n } from "@/i18n/provider";
import { cn } from "@/lib/utils";

export function NavLinks() {
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
  ];
  return (
    <nav aria-label={t.nav.label}>
      <ul className="flex items-center gap-0.5 sm:gap-1">
        {links.map(({ href, label, icon: Icon, active }) => (
          <li key={href}>
            <Link
              href={href}
              aria-current={active ? "page" : undefined}
              className={cn(
                "flex h-9 items-center gap-2 rounded-md px-2 text-sm font-medium text-muted-foreground transition-colors outline-none hover:bg-accent hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50 sm:px-3",
                active && "bg-accent text-foreground",
              )}
            >
              <Icon className="size-4 shrink-0" aria-hidden />
              <span>{label}</span>
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
