"use client";

import { createContext, useContext, useMemo, type ReactNode } from "react";
import { formatters, type Formatters } from "@/lib/format";
import type { Locale } from "./config";
import { dictionaries, type Dictionary } from "./dictionaries";

interface I18n {
  locale: Locale;
  t: Dictionary;
  /** Formatting in the language, times in the browser's time zone. */
  format: Formatters;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ locale, children }: { locale: Locale; children: ReactNode }) {
  const value = useMemo(
    () => ({ locale, t: dictionaries[locale], format: formatters(locale) }),
    [locale],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const i18n = useContext(I18nContext);
  if (!i18n) throw new Error("useI18n needs an <I18nProvider> above it");
  return i18n;
}
