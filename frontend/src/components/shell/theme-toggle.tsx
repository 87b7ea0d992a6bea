"use client";

import { MonitorIcon, MoonIcon, SunIcon } from "lucide-react";
import { useTheme } from "next-themes";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuLabel,
  DropdownMenuRadioGroup,
  DropdownMenuRadioItem,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { useI18n } from "@/i18n/provider";
import { ThemeTrigger, type LoadedMenuProps } from "./header-triggers";

/**
 * Runs `change` with CSS transitions off until the new theme is drawn: the page takes its new
 * colours at once instead of fading each element. (next-themes' disableTransitionOnChange does
 * the same, but also when the page loads, twice, where it cost every element's style computed
 * twice more on a phone's main thread, for a theme that did not change.)
 */
function withoutTransitions(change: () => void) {
  const style = document.createElement("style");
  style.textContent = "*,*::before,*::after{transition:none!important}";
  document.head.appendChild(style);
  change();
  // React applies the theme before the next frame (a choice in the menu is a discrete event);
  // the frame after that is drawn in the new colours, then transitions may run again.
  requestAnimationFrame(() => {
    window.getComputedStyle(document.body);
    setTimeout(() => style.remove(), 1);
  });
}

export function ThemeToggle({ defaultOpen, autoFocus }: LoadedMenuProps) {
  const { t } = useI18n();
  const { theme, setTheme } = useTheme();
  const options = [
    { value: "light", label: t.header.themeLight, icon: SunIcon },
    { value: "dark", label: t.header.themeDark, icon: MoonIcon },
    { value: "system", label: t.header.themeSystem, icon: MonitorIcon },
  ];
  return (
    <DropdownMenu defaultOpen={defaultOpen}>
      <DropdownMenuTrigger asChild>
        <ThemeTrigger autoFocus={autoFocus} />
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuLabel>{t.header.theme}</DropdownMenuLabel>
        <DropdownMenuRadioGroup
          value={theme ?? "system"}
          onValueChange={(value) => withoutTransitions(() => setTheme(value))}
        >
          {options.map(({ value, label, icon: Icon }) => (
            <DropdownMenuRadioItem key={value} value={value}>
              <Icon aria-hidden />
              {label}
            </DropdownMenuRadioItem>
          ))}
        </DropdownMenuRadioGroup>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
