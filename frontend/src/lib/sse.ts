/**
 * Server-Sent Events, read from a fetch() body (EventSource cannot POST or send JSON).
 *
 * Follows the HTML standard's parsing: lines end in LF, CRLF or CR (a CR at the end of one
 * chunk and an LF at the start of the next are one line break), `field: value` loses one space
 * after the colon, `data` lines join with "\n", a blank line dispatches the event, a line that
 * starts with ":" is a comment (webapi's keep-alive) and an event without data is dropped.
 */
import type { components } from "@/lib/api/schema";

export interface SseMessage {
  /** The `event:` field; "message" when the frame names none. */
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

export class SseParser {
  private buffer = "";
  private afterCarriageReturn = false;
  private data: string[] = [];
  private event = "";
  private id: string | undefined;
  private retry: number | undefined;

  /** Feed decoded text; returns the events it completed. */
  push(chunk: string): SseMessage[] {
    const messages: SseMessage[] = [];
    let start = 0;
    for (let index = 0; index < chunk.length; index++) {
      const char = chunk[index];
      if (this.afterCarriageReturn) {
        this.afterCarriageReturn = false;
        if (char === "\n") {
          start = index + 1; // the LF of a CRLF, maybe in the next chunk
          continue;
        }
      }
      if (char !== "\n" && char !== "\r") continue;
      const line = this.buffer + chunk.slice(start, index);
      this.buffer = "";
      start = index + 1;
      this.afterCarriageReturn = char === "\r";
      const message = this.line(line);
      if (message) messages.push(message);
    }
    this.buffer += chunk.slice(start);
    return messages;
  }

  private line(line: string): SseMessage | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
    }
    return null;
  }

  private dispatch(): SseMessage | null {
    if (this.data.length === 0) {
      this.event = "";
      return null;
    }
    const message: SseMessage = { event: this.event || "message", data: this.data.join("\n") };
    if (this.id !== undefined) message.id = this.id;
    if (this.retry !== undefined) message.retry = this.retry;
    this.reset();
    return message;
  }

  private reset(): void {
    this.data = [];
    this.event = "";
    this.retry = undefined;
  }
}

/** The events of a response body, as they arrive (UTF-8 split across chunks included). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    // A last frame without its blank line is incomplete: the standard drops it, and so do we.
    yield* parser.push(decoder.decode());
  } finally {
    reader.releaseLock();
  }
}

type Schemas = components["schemas"];

/** A console answer stream's events (OpenAPI `ConsoleStreamEvent`), payloads decoded. */
export type ConsoleStreamEvent =
  | { event: "delta"; data: Schemas["DeltaEvent"] }
  | { event: "sql"; data: Schemas["SqlEvent"] }
  | { event: "rows"; data: Schemas["RowsEvent"] }
  | { event: "chart"; data: Schemas["ChartEvent"] }
  | { event: "done"; data: Schemas["DoneEvent"] }
  | { event: "error"; data: Schemas["ErrorEvent"] };

const CONSOLE_EVENTS = new Set<string>(["delta", "sql", "rows", "chart", "done", "error"]);

/** Decode one message of a console stream; null for events this client does not know. */
export function toConsoleEvent(message: SseMessage): ConsoleStreamEvent | null {
  if (!CONSOLE_EVENTS.has(message.event)) return null;
  return { event: message.event, data: JSON.parse(message.data) } as ConsoleStreamEvent;
}
