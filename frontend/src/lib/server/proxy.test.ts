// @vitest-environment node
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { PEER_ADDRESS_HEADER, RECEIVED_CHAIN_HEADER } from "./peer-address";
import { proxyToApi } from "./proxy";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server | null = null;

async function upstream(handler: Handler): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = null;
});

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => resolve(body));
  });
}

describe("proxyToApi", () => {
  it("forwards the request as it is and returns webapi's answer, cookies included", async () => {
    let seen: {
      method?: string;
      url?: string;
      headers?: IncomingMessage["headers"];
      body?: string;
    } = {};
    const target = await upstream(async (request, response) => {
      seen = {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: await readBody(request),
      };
      response.setHeader("Set-Cookie", ["aidd_session=abc; HttpOnly; Path=/", "other=1; Path=/"]);
      response.setHeader("Content-Type", "application/json");
      response.statusCode = 201;
      response.end('{"id": 1}');
    });

    const answer = await proxyToApi(
      new Request("http://console.test/api/v1/chat/dialogs?page=2", {
        method: "POST",
        body: '{"mode": "assistant"}',
        headers: {
          "content-type": "application/json",
          cookie: "aidd_session=old; aidd_locale=ru",
          host: "console.test",
          origin: "http://console.test",
          "x-forwarded-for": "10.0.0.7", // as Next.js leaves it
          [PEER_ADDRESS_HEADER]: "192.0.2.5",
          [RECEIVED_CHAIN_HEADER]: "203.0.113.9",
        },
      }),
      { upstream: target },
    );

    expect(seen.method).toBe("POST");
    expect(seen.url).toBe("/api/v1/chat/dialogs?page=2");
    expect(seen.body).toBe('{"mode": "assistant"}');
    expect(seen.headers?.cookie).toBe("aidd_session=old; aidd_locale=ru");
    expect(seen.headers?.["content-type"]).toBe("application/json");
    expect(seen.headers?.["x-forwarded-for"]).toBe("203.0.113.9, 192.0.2.5");
    expect(seen.headers?.origin).toBeUndefined();
    expect(seen.headers?.[PEER_ADDRESS_HEADER]).toBeUndefined();
    expect(seen.headers?.[RECEIVED_CHAIN_HEADER]).toBeUndefined();

    expect(answer.status).toBe(201);
    expect(answer.headers.getSetCookie()).toEqual([
      "aidd_session=abc; HttpOnly; Path=/",
      "other=1; Path=/",
    ]);
    expect(answer.headers.get("content-length")).toBeNull();
    expect(await answer.json()).toEqual({ id: 1 });
  });

  it("starts the X-Forwarded-For chain with the peer when none came in", async () => {
    let forwardedFor: string | undefined;
    const target = await upstream((request, response) => {
      forwardedFor = request.headers["x-forwarded-for"] as string;
      response.end("{}");
    });
    await proxyToApi(
      new Request("http://console.test/api/v1/auth/me", {
        headers: {
          "x-forwarded-for": "192.0.2.5",
          [PEER_ADDRESS_HEADER]: "192.0.2.5",
          [RECEIVED_CHAIN_HEADER]: "",
        },
      }),
      { upstream: target },
    );
    expect(forwardedFor).toBe("192.0.2.5");
  });

  it("streams Server-Sent Events as they come, not when the answer ends", async () => {
    let finish = () => {};
    const target = await upstream((_request, response) => {
      response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      response.write('event: delta\ndata: {"text": "Hel"}\n\n');
      finish = () => response.end("event: done\ndata: {}\n\n");
    });

    const answer = await proxyToApi(
      new Request("http://console.test/api/v1/chat/dialogs/1/messages", {
        method: "POST",
        body: "{}",
      }),
      { upstream: target },
    );
    expect(answer.headers.get("content-type")).toBe("text/event-stream");
    const reader = answer.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('event: delta\ndata: {"text": "Hel"}\n\n');
    finish();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(rest).toBe("event: done\ndata: {}\n\n");
  });

  it("answers a JSON 502 when webapi is down", async () => {
    const target = await upstream((_request, response) => response.end());
    await new Promise((resolve) => server?.close(resolve));
    server = null;

    const answer = await proxyToApi(new Request("http://console.test/api/v1/stats/overview"), {
      upstream: target,
    });
    expect(answer.status).toBe(502);
    expect(await answer.json()).toEqual({
      error: { code: "api_unavailable", message: expect.any(String) },
    });
  });

  it("refuses a write from another origin before webapi sees it", async () => {
    let called = false;
    const target = await upstream((_request, response) => {
      called = true;
      response.end();
    });
    const answer = await proxyToApi(
      new Request("http://console.test/api/v1/auth/logout", {
        method: "POST",
        body: "{}",
        headers: { host: "console.test", origin: "https://evil.example" },
      }),
      { upstream: target },
    );
    expect(answer.status).toBe(403);
    expect(called).toBe(false);
  });
});
