"use client";

import { LanguagesIcon, MoonIcon, SunIcon, UserRoundIcon } from "lucide-react";
import type { ComponentProps } from "react";
import { Button } from "@/components/ui/button";
import { useI18n } from "@/i18n/provider";

/*
 * The header's three menu buttons, as they look: the same on the first load (plain buttons,
 * header-controls.tsx) and once their menus have loaded (the menus' triggers, which pass
 * Radix's props and ref through).
 */

type TriggerProps = ComponentProps<"button">;

/** What a menu that has just replaced its plain button gets from it. */
export interface LoadedMenuProps {
  /** Opened on the plain button before the menu had loaded: open at once. */
  defaultOpen?: boolean;
  /** The plain button had the focus: its trigger takes it. */
  autoFocus?: boolean;
}

export function ThemeTrigger(props: TriggerProps) {
  const { t } = useI18n();
  return (
    <Button
      variant="ghost"
      size="icon"
      aria-label={t.header.theme}
      title={t.header.theme}
      {...props}
    >
      {/* The resolved theme is a class on <html>: CSS picks the icon, no hydration flash. */}
      <SunIcon className="dark:hidden" aria-hidden />
      <MoonIcon className="hidden dark:block" aria-hidden />
    </Button>
  );
}

export function LanguageTrigger(props: TriggerProps) {
  const { t, locale } = useI18n();
  return (
    <Button
      variant="ghost"
      size="icon"
      aria-label={`${t.header.language}: ${t.languages[locale]}`}
      title={t.header.language}
      className="sm:w-auto sm:gap-1 sm:px-2"
      {...props}
    >
      <LanguagesIcon aria-hidden />
      <span className="hidden text-xs font-semibold uppercase sm:inline" aria-hidden>
        {locale}
      </span>
    </Button>
  );
}

export function AccountTrigger({
  username,
  signOutFailed = false,
  ...props
}: TriggerProps & { username: string; signOutFailed?: boolean }) {
  const { t } = useI18n();
  return (
    <Button
      variant="ghost"
      size="icon"
      aria-label={t.header.account(username)}
      aria-describedby={signOutFailed ? "sign-out-failed" : undefined}
      title={signOutFailed ? t.errors.signOutFailed : t.header.signedInAs(username)}
      className={signOutFailed ? "text-destructive" : undefined}
      {...props}
    >
      <UserRoundIcon aria-hidden />
    </Button>
  );
}
