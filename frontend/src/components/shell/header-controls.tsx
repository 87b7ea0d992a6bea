"use client";

import { useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import type * as HeaderMenus from "./header-menus";
import {
  AccountTrigger,
  LanguageTrigger,
  ThemeTrigger,
  type LoadedMenuProps,
} from "./header-triggers";

/*
 * The header's menus (theme, language, account) load when the visitor first reaches for one
 * (pointer over the controls, focus on one, a tap or a key), not with the page: their code
 * (Radix's menu, its positioning, the password dialog) and its hydration stay off the first
 * load. Until then each is a plain button that looks and is named the same; one pressed
 * before its menu has loaded opens once it has, and the focus stays where it was.
 */

type Menus = typeof HeaderMenus;
type MenuName = "theme" | "language" | "account";

let loaded: Menus | null = null;
let loading: Promise<Menus> | null = null;

function loadMenus(): Promise<Menus> {
  loading ??= import("./header-menus").then(
    (menus) => (loaded = menus),
    (error: unknown) => {
      loading = null; // the next reach tries again
      throw error;
    },
  );
  return loading;
}

export function HeaderControls({ username }: { username: string }) {
  const [menus, setMenus] = useState<Menus | null>(loaded);
  const [opened, setOpened] = useState<MenuName | null>(null);
  const [focused, setFocused] = useState<MenuName | null>(null);
  const buttons = useRef<Partial<Record<MenuName, HTMLButtonElement | null>>>({});

  function load() {
    if (menus) return;
    loadMenus().then(
      (loadedMenus) => {
        const active = document.activeElement;
        const names = Object.keys(buttons.current) as MenuName[];
        setFocused(names.find((name) => buttons.current[name] === active) ?? null);
        setMenus(loadedMenus);
      },
      () => {},
    );
  }

  if (menus) {
    const { AccountMenu, LanguageSwitch, ThemeToggle } = menus;
    const state = (name: MenuName): LoadedMenuProps => ({
      defaultOpen: opened === name,
      autoFocus: focused === name && opened !== name,
    });
    return (
      <>
        <ThemeToggle {...state("theme")} />
        <LanguageSwitch {...state("language")} />
        <AccountMenu username={username} {...state("account")} />
      </>
    );
  }

  // As Radix's trigger does: a press (not a right or ctrl click) or Enter, Space or the down
  // arrow opens the menu.
  const placeholder = (name: MenuName) => ({
    ref: (element: HTMLButtonElement | null) => {
      buttons.current[name] = element;
    },
    type: "button" as const,
    "aria-haspopup": "menu" as const,
    "aria-expanded": false,
    "data-state": "closed",
    onPointerEnter: load,
    onFocus: load,
    onTouchStart: load,
    onPointerDown(event: PointerEvent<HTMLButtonElement>) {
      if (event.button !== 0 || event.ctrlKey) return;
      event.preventDefault();
      setOpened(name);
      load();
    },
    onKeyDown(event: KeyboardEvent<HTMLButtonElement>) {
      if (!["Enter", " ", "ArrowDown"].includes(event.key)) return;
      event.preventDefault();
      setOpened(name);
      load();
    },
  });
  return (
    <>
      <ThemeTrigger {...placeholder("theme")} />
      <LanguageTrigger {...placeholder("language")} />
      <AccountTrigger username={username} {...placeholder("account")} />
    </>
  );
}
