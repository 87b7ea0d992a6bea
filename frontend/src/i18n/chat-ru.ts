import type { ChatDictionary } from "./chat-en";

/** The chat screen's texts, Russian (chat-en.ts is the catalogue it follows). */
export const chatRu: ChatDictionary = {
  title: "Чат",
  dialogs: "Диалоги",
  showDialogs: "Показать диалоги",
  newDialog: "Новый диалог",
  loadMore: "Загрузить ещё",
  noDialogs: "Диалогов пока нет. Начните новый.",
  untitled: "Новый диалог",
  messages: (count: number) => {
    const mod10 = count % 10;
    const mod100 = count % 100;
    const word =
      mod10 === 1 && mod100 !== 11
        ? "сообщение"
        : mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14)
          ? "сообщения"
          : "сообщений";
    return `${count} ${word}`;
  },
  modeLabel: "Режим",
  modes: { assistant: "Ассистент", insights: "Аналитика" } as Record<string, string>,
  modeHint: {
    assistant: "Ассистент из Telegram, в выбранной роли.",
    insights: "Вопросы к данным бота обычным языком: SQL, строки, график и вывод.",
  } as Record<string, string>,
  role: "Роль",
  suggestionsTitle: "Попробуйте спросить",
  suggestions: {
    assistant: [
      "Чем ты можешь помочь?",
      "Объясни разницу между списком и кортежем в Python.",
      "Напиши короткое дружелюбное напоминание о завтрашней встрече.",
    ],
    insights: [
      "Сколько диалогов было в каждом канале?",
      "Сколько сообщений пользователи отправляли каждый день на этой неделе?",
      "Кто десять самых активных пользователей за месяц?",
    ],
  } as Record<string, string[]>,
  composerLabel: "Ваш вопрос",
  composerPlaceholder: "Спросите что-нибудь… (Enter — отправить, Shift+Enter — новая строка)",
  counter: (length: string, max: string) => `${length} / ${max}`,
  tooLong: (max: string) => `Не больше ${max} символов.`,
  send: "Отправить",
  stop: "Остановить",
  stopped: "Остановлено.",
  thinking: "Думаю…",
  you: "Вы",
  assistant: "Ассистент",
  conversation: "Переписка",
  sql: "SQL",
  sqlTried: "Запрос, который пробовали",
  copy: "Копировать",
  copied: "Скопировано",
  copySql: "Скопировать SQL",
  rows: (count: string) => `Строк: ${count}`,
  truncated: (count: string) => `Сохранены только первые ${count} строк.`,
  noRows: "Запрос не вернул строк.",
  chartLabel: (y: string, x: string) => `График: ${y} по ${x}`,
  openFailed: "Не удалось открыть диалог.",
  listFailed: "Не удалось загрузить диалоги.",
  errorTitle: "Ответа нет",
  rateLimited: (seconds: number) => `Слишком много вопросов. Повторите через ${seconds} с.`,
  rateLimitedLater: "Слишком много вопросов. Повторите через минуту.",
  answerInProgress: "В этом диалоге ещё идёт другой ответ. Дождитесь его и повторите.",
  signIn: "Сеанс закончился. Войдите снова.",
  errorCodes: {
    llm_timeout: "Модель отвечала слишком долго.",
    llm_rate_limited: "Модель сейчас ограничивает число запросов.",
    llm_unavailable: "Модель сейчас недоступна.",
    llm_unreachable: "Не удаётся связаться с моделью.",
    llm_bad_response: "Ответ модели не удалось использовать.",
    llm_rejected: "Модель отклонила запрос.",
    internal_error: "На сервере что-то пошло не так.",
    interrupted: "Ответ прервался.",
    answer_in_progress: "В этом диалоге ещё идёт другой ответ.",
    insights_unsafe_query: "Написанный запрос небезопасен, поэтому не выполнялся.",
    insights_query_failed: "База данных не смогла выполнить запрос.",
    insights_query_timeout: "Запрос выполнялся слишком долго.",
    insights_unanswerable: "Данные не отвечают на этот вопрос.",
    too_many_requests: "Слишком много вопросов.",
    not_found: "Такого диалога нет.",
    validation_error: "Вопрос не принят.",
    payload_too_large: "Вопрос слишком длинный.",
  } as Record<string, string>,
};
