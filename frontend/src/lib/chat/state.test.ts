import { describe, expect, it } from "vitest";
import type { ConsoleStreamEvent } from "@/lib/sse";
import {
  chatReducer,
  entriesFromMessages,
  initialChatState,
  type AnswerEntry,
  type ChatAction,
  type ChatState,
  type StoredMessage,
} from "./state";

function run(actions: ChatAction[], state: ChatState = initialChatState): ChatState {
  return actions.reduce(chatReducer, state);
}

const event = (value: ConsoleStreamEvent): ChatAction => ({ type: "event", event: value });

function lastAnswer(state: ChatState): AnswerEntry {
  const last = state.entries.at(-1);
  if (!last || last.kind !== "answer") throw new Error("no answer");
  return last;
}

const DONE = {
  assistant_message_id: 2,
  dialog_id: 1,
  model: "fake",
  timings: { latency_ms: 10, ttft_ms: 5 },
  usage: { prompt_tokens: 1, completion_tokens: 2 },
  user_message_id: 1,
} as unknown as Extract<ConsoleStreamEvent, { event: "done" }>["data"];

function stored(overrides: Partial<StoredMessage>): StoredMessage {
  return {
    id: 1,
    role: "user",
    content: "",
    created_at: "2026-12-01T10:00:00Z",
    status: "ok",
    error_code: null,
    error_message: null,
    sql: null,
    result: null,
    model: null,
    latency_ms: null,
    ttft_ms: null,
    prompt_tokens: null,
    completion_tokens: null,
    ...overrides,
  };
}

describe("chatReducer", () => {
  it("streams an assistant answer token by token", () => {
    const asked = run([{ type: "ask", text: "Hello", key: "1" }]);
    expect(asked.streaming).toBe(true);
    expect(asked.entries.map((entry) => entry.kind)).toEqual(["user", "answer"]);
    expect(lastAnswer(asked).streaming).toBe(true);

    const partway = run([event({ event: "delta", data: { text: "Hel" } })], asked);
    expect(lastAnswer(partway).text).toBe("Hel");
    expect(partway.streaming).toBe(true);

    const done = run(
      [event({ event: "delta", data: { text: "lo!" } }), event({ event: "done", data: DONE })],
      partway,
    );
    expect(lastAnswer(done)).toMatchObject({ text: "Hello!", streaming: false, error: null });
    expect(done.streaming).toBe(false);
  });

  it("folds an Insights answer: sql, rows, chart, then the summary", () => {
    const state = run([
      { type: "ask", text: "Dialogs per channel?", key: "1" },
      event({ event: "sql", data: { sql: "SELECT 1" } }),
      event({
        event: "rows",
        data: { columns: ["channel", "dialogs"], rows: [["web", 3]], truncated: true },
      }),
      event({ event: "chart", data: { kind: "bar", x: "channel", y: ["dialogs"] } }),
      event({ event: "delta", data: { text: "Web has **3**." } }),
      event({ event: "done", data: DONE }),
    ]);
    expect(lastAnswer(state)).toMatchObject({
      sql: "SELECT 1",
      text: "Web has **3**.",
      result: {
        columns: ["channel", "dialogs"],
        rows: [["web", 3]],
        truncated: true,
        chart: { kind: "bar", x: "channel", y: ["dialogs"] },
      },
      streaming: false,
    });
  });

  it("keeps an error event's code and the SQL tried", () => {
    const state = run([
      { type: "ask", text: "Drop it", key: "1" },
      event({
        event: "error",
        data: {
          code: "insights_unsafe_query",
          message: "refused",
          dialog_id: 1,
          user_message_id: 1,
          sql: "DELETE FROM users",
        },
      }),
    ]);
    expect(state.streaming).toBe(false);
    expect(lastAnswer(state)).toMatchObject({
      question: "Drop it",
      sql: "DELETE FROM users",
      error: { code: "insights_unsafe_query", sql: "DELETE FROM users" },
    });
  });

  it("shows a cancelled answer as stopped, not as an error", () => {
    const state = run([
      { type: "ask", text: "Long one", key: "1" },
      event({ event: "delta", data: { text: "Part" } }),
      event({
        event: "error",
        data: { code: "cancelled", message: "", dialog_id: 1, user_message_id: 1, sql: null },
      }),
    ]);
    expect(lastAnswer(state)).toMatchObject({ text: "Part", stopped: true, error: null });
  });

  it("marks an aborted stream stopped and a refused question failed", () => {
    const stopped = run([{ type: "ask", text: "a", key: "1" }, { type: "stopped" }]);
    expect(lastAnswer(stopped)).toMatchObject({ stopped: true, streaming: false });

    const refused = run([
      { type: "ask", text: "b", key: "2" },
      { type: "failed", error: { code: "too_many_requests", message: "", retryAfter: 12 } },
    ]);
    expect(refused.streaming).toBe(false);
    expect(lastAnswer(refused).error).toEqual({
      code: "too_many_requests",
      message: "",
      retryAfter: 12,
    });
  });

  it("ignores events when no answer streams", () => {
    const state = run([event({ event: "delta", data: { text: "stray" } })]);
    expect(state).toEqual(initialChatState);
  });
});

describe("entriesFromMessages", () => {
  it("rebuilds answers, Insights results and failed questions", () => {
    const result = {
      columns: ["channel"],
      rows: [["web"]],
      truncated: false,
      chart: { kind: "none" as const, x: null, y: [] },
    };
    const entries = entriesFromMessages([
      stored({ id: 1, content: "Q1" }),
      stored({ id: 2, role: "assistant", content: "A1", sql: "SELECT 1", result }),
      stored({
        id: 3,
        content: "Q2",
        status: "error",
        error_code: "insights_query_failed",
        error_message: "no such column",
        sql: "SELECT nope",
      }),
    ]);
    expect(entries).toHaveLength(4);
    expect(entries[1]).toMatchObject({ kind: "answer", text: "A1", sql: "SELECT 1", result });
    expect(entries[3]).toMatchObject({
      kind: "answer",
      question: "Q2",
      sql: "SELECT nope",
      error: { code: "insights_query_failed", message: "no such column" },
    });
  });
});
