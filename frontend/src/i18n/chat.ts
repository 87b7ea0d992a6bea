"use client";

import { useI18n } from "./provider";
import { chatEn, type ChatDictionary } from "./chat-en";
import { chatRu } from "./chat-ru";

export type { ChatDictionary };

const chatDictionaries = { en: chatEn, ru: chatRu } as const;

/** The chat's texts in the page's language (only the chat's components import them). */
export function useChatTexts(): ChatDictionary {
  const { locale } = useI18n();
  return chatDictionaries[locale];
}
