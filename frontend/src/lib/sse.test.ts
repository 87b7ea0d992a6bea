import { describe, expect, it } from "vitest";
import { SseParser, readSse, toConsoleEvent, type SseMessage } from "./sse";

const STREAM =
  ": keep-alive\n\n" +
  'event: delta\ndata: {"text": "Echo: He"}\n\n' +
  'event: delta\r\ndata: {"text": "llo, мир"}\r\n\r\n' +
  ": another comment\n" +
  'event: done\rdata: {"dialog_id": 7}\r\r';

const EXPECTED: SseMessage[] = [
  { event: "delta", data: '{"text": "Echo: He"}' },
  { event: "delta", data: '{"text": "llo, мир"}' },
  { event: "done", data: '{"dialog_id": 7}' },
];

function parseInChunks(text: string, sizes: number[]): SseMessage[] {
  const parser = new SseParser();
  const messages: SseMessage[] = [];
  let offset = 0;
  for (let index = 0; offset < text.length; index++) {
    const size = sizes[index % sizes.length] ?? 1;
    messages.push(...parser.push(text.slice(offset, offset + size)));
    offset += size;
  }
  return messages;
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function collect(body: ReadableStream<Uint8Array>): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const message of readSse(body)) messages.push(message);
  return messages;
}

describe("SseParser", () => {
  it("reads event and data frames, skipping comment lines", () => {
    expect(new SseParser().push(STREAM)).toEqual(EXPECTED);
  });

  it("gives the same events whatever the chunk boundaries", () => {
    for (const sizes of [[1], [2], [3, 7], [5, 1, 11], [64]]) {
      expect(parseInChunks(STREAM, sizes)).toEqual(EXPECTED);
    }
  });

  it("treats CRLF split across two chunks as one line break", () => {
    const parser = new SseParser();
    expect(parser.push("data: a\r")).toEqual([]);
    expect(parser.push("\n\r")).toEqual([{ event: "message", data: "a" }]);
    expect(parser.push("\ndata: b\r\n\r\n")).toEqual([{ event: "message", data: "b" }]);
  });

  it("joins data lines, keeps spaces after the first and names unnamed events message", () => {
    const parser = new SseParser();
    expect(parser.push("data:one\ndata:  two\ndata\n\n")).toEqual([
      { event: "message", data: "one\n two\n" },
    ]);
  });

  it("keeps id and retry, drops events without data and unknown fields", () => {
    const parser = new SseParser();
    expect(parser.push("event: ping\n\nid: 4\nretry: 1500\nfoo: bar\ndata: x\n\n")).toEqual([
      { event: "message", data: "x", id: "4", retry: 1500 },
    ]);
  });

  it("waits for the blank line before dispatching", () => {
    const parser = new SseParser();
    expect(parser.push("event: delta\ndata: {}\n")).toEqual([]);
    expect(parser.push("\n")).toEqual([{ event: "delta", data: "{}" }]);
  });
});

describe("readSse", () => {
  it("decodes UTF-8 split inside a character and drops an unterminated last frame", async () => {
    const bytes = new TextEncoder().encode(STREAM + "event: delta\ndata: {}");
    const cut = bytes.indexOf(0xd0) + 1; // inside the first byte pair of "мир"
    const chunks = [bytes.slice(0, 3), bytes.slice(3, cut), bytes.slice(cut)];
    expect(await collect(streamOf(chunks))).toEqual(EXPECTED);
  });
});

describe("toConsoleEvent", () => {
  it("decodes the payload of known events and ignores others", () => {
    expect(toConsoleEvent({ event: "delta", data: '{"text": "hi"}' })).toEqual({
      event: "delta",
      data: { text: "hi" },
    });
    expect(toConsoleEvent({ event: "message", data: "{}" })).toBeNull();
  });
});
