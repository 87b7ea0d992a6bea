"use client";

import { accountsEn, type AccountsDictionary } from "./accounts-en";
import { accountsRu } from "./accounts-ru";
import { useI18n } from "./provider";

export type { AccountsDictionary };

const accountsDictionaries = { en: accountsEn, ru: accountsRu } as const;

/** The Accounts screen's texts in the page's language. */
export function useAccountsTexts(): AccountsDictionary {
  const { locale } = useI18n();
  return accountsDictionaries[locale];
}
