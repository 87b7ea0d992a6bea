"""webapi's gunicorn worker: gevent, so thousands of open streams and slow clients cost little.

Each connection is a greenlet, not a thread: an answer waiting on the LLM, a client that sends
its headers byte by byte, an idle keep-alive connection each hold a few kilobytes, never a
thread the next request needs. gevent patches the standard library (sockets, threading, time),
so the app's blocking code (httpx to the LLM, psycopg, the SQLite writer's queue) yields instead
of blocking the worker.

What this class adds to gunicorn's own gevent worker:
- every client socket gets a timeout, so a client that stops sending (half a body) or stops
  reading (a stream it never drains) is cut, not held forever;
- a request that arrives while the worker shuts down is refused at once (503), not started;
- the errors gunicorn answers itself (400 on a malformed request, 414, 431) carry webapi's JSON
  error body instead of gunicorn's HTML page.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from gunicorn import util
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

from webapi.errors import ErrorCode

# A socket operation that cannot go on for this long fails, and the connection is cut: a client
# that stops sending (half a body) or stops reading (its stream fills the socket's buffer).
# Waiting on the LLM touches no client socket, so a slow first token is not cut here.
CLIENT_IDLE_TIMEOUT_S = 30.0

# What gunicorn's own error statuses mean in webapi's codes.
_GUNICORN_ERROR_CODES = {
    400: ErrorCode.BAD_REQUEST,
    403: ErrorCode.FORBIDDEN,
    414: ErrorCode.URI_TOO_LONG,
    417: ErrorCode.BAD_REQUEST,
    431: ErrorCode.HEADERS_TOO_LARGE,
    501: ErrorCode.BAD_REQUEST,
}


def json_error_response(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    if status == 503:
        head += "Retry-After: 1\r\n"
    return head.encode("latin-1") + b"\r\n" + body


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's `util.write_error`, answering in webapi's JSON error shape."""
    code = _GUNICORN_ERROR_CODES.get(status_int, ErrorCode.INTERNAL_ERROR)
    # gunicorn's message names what it could not parse; a 500 says nothing of its cause.
    message = mesg if status_int < 500 and mesg else reason
    util.write_nonblock(sock, json_error_response(status_int, reason, code, message))


class Worker(GeventWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    def init_process(self) -> None:
        # gunicorn writes its own errors through this module-level function; replacing it is the
        # one hook it offers short of copying its whole error handling.
        util.write_error = write_json_error
        super().init_process()

    def handle(self, listener: Any, client: socket.socket, addr: Any) -> None:
        # GeventWorker.handle only makes the socket blocking, which would also clear a timeout.
        client.settimeout(CLIENT_IDLE_TIMEOUT_S)
        AsyncWorker.handle(self, listener, client, addr)

    def handle_request(self, listener_name: Any, req: Any, sock: socket.socket, addr: Any) -> bool:
        if not self.alive:
            # Shutting down: a request that came in on a kept-alive connection is not started
            # (it could outlast the grace period); the client retries, on a live server.
            sock.sendall(
                json_error_response(
                    503,
                    "Service Unavailable",
                    ErrorCode.SHUTTING_DOWN,
                    "the server is shutting down; retry",
                )
            )
            raise StopIteration
        return bool(super().handle_request(listener_name, req, sock, addr))
