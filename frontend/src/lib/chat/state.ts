/**
 * The open dialog's messages as the chat shows them: from a stored dialog (GET /dialogs/{id})
 * and from an answer's stream events, folded by `chatReducer`.
 */
import type { Schemas } from "@/lib/api/types";
import type { ConsoleStreamEvent } from "@/lib/sse";

export type ChatMode = Schemas["Mode"];
export type InsightsResult = Schemas["InsightsResultOut"];
export type StoredMessage = Schemas["ChatMessageOut"];

export interface ChatFailure {
  /** An AnswerErrorCode from the stream, or an HTTP error's code. */
  code: string;
  message: string;
  /** Insights: the query tried, if any. */
  sql?: string | null;
  /** Seconds to wait (429). */
  retryAfter?: number | null;
}

export interface UserEntry {
  kind: "user";
  key: string;
  text: string;
}

export interface AnswerEntry {
  kind: "answer";
  key: string;
  /** The question it answers (Retry sends it again). */
  question: string;
  text: string;
  sql: string | null;
  result: InsightsResult | null;
  streaming: boolean;
  stopped: boolean;
  error: ChatFailure | null;
}

export type ChatEntry = UserEntry | AnswerEntry;

export interface ChatState {
  entries: ChatEntry[];
  streaming: boolean;
}

export type ChatAction =
  | { type: "load"; messages: StoredMessage[] }
  | { type: "ask"; text: string; key: string }
  | { type: "event"; event: ConsoleStreamEvent }
  | { type: "failed"; error: ChatFailure }
  | { type: "stopped" }
  | { type: "reset" };

export const initialChatState: ChatState = { entries: [], streaming: false };

const NO_CHART: InsightsResult["chart"] = { kind: "none", x: null, y: [] };

function failureOf(message: StoredMessage): ChatFailure | null {
  if (!message.error_code) return null;
  return { code: message.error_code, message: message.error_message ?? "", sql: message.sql };
}

/** The stored messages, oldest first, as entries: a failed question gets its failure shown. */
export function entriesFromMessages(messages: StoredMessage[]): ChatEntry[] {
  const entries: ChatEntry[] = [];
  let question = "";
  messages.forEach((message, index) => {
    if (message.role === "user") {
      question = message.content;
      entries.push({ kind: "user", key: `m${message.id}`, text: message.content });
      const next = messages[index + 1];
      const answered = next !== undefined && next.role === "assistant";
      if (!answered && message.status === "error") {
        const error = failureOf(message) ?? { code: "internal_error", message: "" };
        entries.push({
          kind: "answer",
          key: `e${message.id}`,
          question,
          text: "",
          sql: message.sql,
          result: message.result,
          streaming: false,
          stopped: error.code === "cancelled",
          error: error.code === "cancelled" ? null : error,
        });
      }
      return;
    }
    const error = failureOf(message);
    entries.push({
      kind: "answer",
      key: `m${message.id}`,
      question,
      text: message.content,
      sql: message.sql,
      result: message.result,
      streaming: false,
      stopped: error?.code === "cancelled",
      error: error?.code === "cancelled" ? null : error,
    });
  });
  return entries;
}

/** Apply `change` to the answer being streamed (the last entry), if there is one. */
function updateAnswer(state: ChatState, change: (answer: AnswerEntry) => AnswerEntry): ChatState {
  const last = state.entries.at(-1);
  if (!last || last.kind !== "answer" || !last.streaming) return state;
  return { ...state, entries: [...state.entries.slice(0, -1), change(last)] };
}

function applyEvent(answer: AnswerEntry, event: ConsoleStreamEvent): AnswerEntry {
  switch (event.event) {
    case "delta":
      return { ...answer, text: answer.text + event.data.text };
    case "sql":
      return { ...answer, sql: event.data.sql };
    case "rows":
      return {
        ...answer,
        result: {
          columns: event.data.columns,
          rows: event.data.rows,
          truncated: event.data.truncated,
          chart: answer.result?.chart ?? NO_CHART,
        },
      };
    case "chart":
      return {
        ...answer,
        result: {
          columns: answer.result?.columns ?? [],
          rows: answer.result?.rows ?? [],
          truncated: answer.result?.truncated ?? false,
          chart: event.data,
        },
      };
    case "done":
      return { ...answer, streaming: false };
    case "error":
      if (event.data.code === "cancelled") return { ...answer, streaming: false, stopped: true };
      return {
        ...answer,
        streaming: false,
        sql: event.data.sql ?? answer.sql,
        error: { code: event.data.code, message: event.data.message, sql: event.data.sql },
      };
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "reset":
      return initialChatState;
    case "load":
      return { entries: entriesFromMessages(action.messages), streaming: false };
    case "ask":
      return {
        streaming: true,
        entries: [
          ...state.entries,
          { kind: "user", key: `u${action.key}`, text: action.text },
          {
            kind: "answer",
            key: `a${action.key}`,
            question: action.text,
            text: "",
            sql: null,
            result: null,
            streaming: true,
            stopped: false,
            error: null,
          },
        ],
      };
    case "event": {
      const next = updateAnswer(state, (answer) => applyEvent(answer, action.event));
      const ended = action.event.event === "done" || action.event.event === "error";
      return ended ? { ...next, streaming: false } : next;
    }
    case "failed":
      return {
        ...updateAnswer(state, (answer) => ({ ...answer, streaming: false, error: action.error })),
        streaming: false,
      };
    case "stopped":
      return {
        ...updateAnswer(state, (answer) => ({ ...answer, streaming: false, stopped: true })),
        streaming: false,
      };
  }
}
