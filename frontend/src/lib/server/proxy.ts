import { PEER_ADDRESS_HEADER, RECEIVED_CHAIN_HEADER, forwardedFor } from "./peer-address";

/** Headers of one connection, not of the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Request headers not sent on: fetch sets Host; Origin is checked here; the peer's address
 * is for this proxy only. */
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  "host",
  "origin",
  PEER_ADDRESS_HEADER,
  RECEIVED_CHAIN_HEADER,
]);

/** Response headers not sent back: the body streams as it comes (no length), and fetch may
 * have decoded it; cookies are copied one by one. */
const NOT_RETURNED = new Set([...HOP_BY_HOP, "content-length", "content-encoding", "set-cookie"]);

type StreamingRequestInit = RequestInit & { duplex: "half" };

export interface ProxyOptions {
  /** webapi's base URL, e.g. http://127.0.0.1:8000 */
  upstream: string;
  fetch?: typeof fetch;
}

function jsonError(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

/**
 * A browser's Origin must be the console's own (the Host it asked for). webapi checks it
 * against its own host, which behind this proxy is another one, so the check is done here and
 * the header is not passed on: webapi lets a request without Origin through, as it does for
 * server-side callers.
 */
function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
  try {
    return host !== null && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Forward one /api request to webapi as it is: method, path and query, headers (cookies
 * included), body streamed; and its answer back as it arrives (Server-Sent Events unbuffered),
 * Set-Cookie included. webapi down: a JSON 502 `api_unavailable`.
 */
export async function proxyToApi(request: Request, options: ProxyOptions): Promise<Response> {
  const url = new URL(request.url);
  const target = `${options.upstream}${url.pathname}${url.search}`;

  if (!["GET", "HEAD", "OPTIONS"].includes(request.method) && !sameOrigin(request)) {
    return jsonError(403, "forbidden", "Requests from this origin are not allowed.");
  }

  const headers = new Headers();
  request.headers.forEach((value, name) => {
    if (!NOT_FORWARDED.has(name)) headers.set(name, value);
  });
  // A body comes back as webapi wrote it; compression is left to the console's own server.
  headers.set("accept-encoding", "identity");
  const chain = forwardedFor(request.headers);
  if (chain) headers.set("x-forwarded-for", chain);

  const hasBody = request.body !== null && !["GET", "HEAD"].includes(request.method);
  const init: StreamingRequestInit = {
    method: request.method,
    headers,
    body: hasBody ? request.body : null,
    duplex: "half",
    redirect: "manual",
    signal: request.signal,
  };

  let upstream: Response;
  try {
    upstream = await (options.fetch ?? fetch)(target, init);
  } catch (error) {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    const reason = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const detail = reason instanceof Error ? reason.message : String(reason);
    console.error(`proxy: ${request.method} ${url.pathname}: webapi unreachable (${detail})`);
    return jsonError(502, "api_unavailable", "The API is not reachable. Try again shortly.");
  }

  const responseHeaders = new Headers();
  upstream.headers.forEach((value, name) => {
    if (!NOT_RETURNED.has(name)) responseHeaders.set(name, value);
  });
  for (const cookie of upstream.headers.getSetCookie()) {
    responseHeaders.append("set-cookie", cookie);
  }

  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeaders,
  });
}
