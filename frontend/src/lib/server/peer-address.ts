import type { IncomingMessage } from "node:http";
import { Server } from "node:http";

/**
 * Next.js gives route handlers no socket, and it sets X-Forwarded-For to the peer's address
 * only when a request has none (it does not append), so a client could name any address. The
 * console's server therefore records, on every request and over whatever came in, the socket's
 * address and the X-Forwarded-For the request arrived with; the /api proxy appends the one to
 * the other and sends neither of these headers on.
 */
export const PEER_ADDRESS_HEADER = "x-aidd-peer-address";
export const RECEIVED_CHAIN_HEADER = "x-aidd-received-forwarded-for";

const RECORDING = Symbol.for("aidd.recordPeerAddress");

/** The catch-all overload of Server#emit. */
type Emit = (this: Server, event: string | symbol, ...args: unknown[]) => boolean;

/** Install the recording on every HTTP server of this process (once). */
export function recordPeerAddress(): void {
  const prototype = Server.prototype as Server & { [RECORDING]?: true };
  if (prototype[RECORDING]) return;
  prototype[RECORDING] = true;
  const emit = prototype.emit as Emit;
  const recordingEmit: Emit = function (event, ...args) {
    if (event === "request") {
      const { headers, socket } = args[0] as IncomingMessage;
      headers[PEER_ADDRESS_HEADER] = socket.remoteAddress ?? "";
      headers[RECEIVED_CHAIN_HEADER] = headers["x-forwarded-for"] ?? "";
    }
    return emit.call(this, event, ...args);
  };
  prototype.emit = recordingEmit as Server["emit"];
}

/**
 * X-Forwarded-For for webapi: the chain the request came with, then its peer's address.
 * Without the recording (another server), the header as Next.js left it.
 */
export function forwardedFor(headers: Headers): string | null {
  const peer = headers.get(PEER_ADDRESS_HEADER);
  if (!peer) return headers.get("x-forwarded-for");
  const received = headers.get(RECEIVED_CHAIN_HEADER);
  return received ? `${received}, ${peer}` : peer;
}
