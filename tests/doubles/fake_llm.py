"""Fake OpenAI-compatible LLM server: a real HTTP test double (standard library only).

It listens on 127.0.0.1 (port 0 = any free port) and speaks the real wire protocol, so the
code under test talks to it with its ordinary OpenAI client, over real sockets.

Python use::

    with FakeLLM() as fake:                      # or fake = FakeLLM().start(); ...; fake.stop()
        client = openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0)
        fake.script(Reply("Hello!"), Status(429, retry_after=2))
        ...
        assert fake.requests[0]["messages"][0]["role"] == "system"

Stand-alone (e.g. as a container for stack tests; stops on SIGTERM/SIGINT)::

    python -m tests.doubles.fake_llm --host 127.0.0.1 --port 8089

Endpoints
---------
``POST /v1/chat/completions`` (also ``/chat/completions``)
    Non-streaming: a ``chat.completion`` object with ``usage``. With ``"stream": true``:
    ``text/event-stream`` (HTTP/1.1 chunked), one ``data: {chat.completion.chunk}`` event for
    the role (``delta.role == "assistant"``), one per ``chunk_size`` characters of content, one
    with ``finish_reason``, then - if ``stream_options.include_usage`` is true - one with
    ``"choices": []`` and ``usage``, then ``data: [DONE]``. The ``model`` of the request is
    echoed. Token counts are whitespace-split word counts: ``prompt_tokens`` over the text of
    all message contents, ``completion_tokens`` over the reply. A body that is not a JSON
    object with a ``messages`` list gets a 400 and is neither recorded nor consumes a behaviour.
``GET /v1/models`` (also ``/models``)
    ``{"object": "list", "data": [{"id": <model>, "object": "model", ...}]}``.
``POST /_control/script``
    Body: a JSON list of behaviour objects (below), appended to the queue.
    Answer: ``{"queued": <number of behaviours now pending>}``; a bad list gets a 400 and
    nothing is queued.
``GET /_control/script``
    The pending behaviours, as a JSON list of behaviour objects.
``POST /_control/reset``
    Clears the queue and the recorded requests. Answer: ``{"ok": true}``.
``GET /_control/requests``
    The recorded chat request bodies (parsed JSON), oldest first, as a JSON list.
``GET /_control/health``
    ``{"status": "ok", "queued": <int>, "requests": <int>}``.
Anything else gets a 404 with an OpenAI-style error body.

Behaviours
----------
Each chat request consumes the oldest scripted behaviour (FIFO). With the queue empty it gets
the default reply, ``"Echo: <text of the last user message>"``. A behaviour is a frozen
dataclass; ``b.to_dict()`` gives its JSON form, which is ``{"kind": <kind>, <fields>...}``
(fields with defaults may be left out), and ``behaviour_from_dict(d)`` reads it back.
``FakeLLM.script`` takes either form. Lower-case aliases (``reply``, ``status``, ...) exist.
"after_chunks" counts the ``data:`` events of the normal stream, the role event being the first.
Wherever ``text`` is None the default echo reply is used.

``Reply(text=None, chunk_size=8, delay_between_chunks_s=0.0, finish_reason="stop")``
    ``{"kind": "reply", "text": "Hi", "chunk_size": 8, "delay_between_chunks_s": 0.0,
    "finish_reason": "stop"}``. A normal answer. Streaming waits ``delay_between_chunks_s``
    between consecutive events; non-streaming waits that delay once per content chunk before
    answering.
``Status(code, retry_after=None, body=None)``
    ``{"kind": "status", "code": 429, "retry_after": 2, "body": null}``. Answers with HTTP
    ``code`` (400-599) before any stream starts. ``retry_after`` (seconds, or a string such as
    an HTTP date) becomes the ``Retry-After`` header. ``body``: None gives the OpenAI-style
    ``{"error": {"message": ..., "type": ..., "param": null, "code": ...}}`` for that code; a
    dict is sent as JSON; a string is sent as ``text/plain`` (e.g. a proxy's 502 page).
``Hang(seconds)``
    ``{"kind": "hang", "seconds": 30}``. Sends no byte for ``seconds``, then closes the
    connection (a client with a shorter timeout sees a timeout).
``Stall(after_chunks, seconds, text=None, chunk_size=8)``
    ``{"kind": "stall", "after_chunks": 2, "seconds": 5}``. Streaming: sends ``after_chunks``
    events, sends nothing for ``seconds``, then finishes the stream normally. Non-streaming:
    sends the status line and headers, waits ``seconds``, then sends the body.
``Malformed(after_chunks=1, text=None, chunk_size=8)``
    ``{"kind": "malformed", "after_chunks": 1}``. Streaming: sends ``after_chunks`` valid
    events, then ``data: {not json``, then ends the response without ``[DONE]`` and closes.
    Non-streaming: a 200 ``application/json`` response whose body is ``{not json``. Both
    carry ``Connection: close``.
``Disconnect(after_chunks=1, text=None, chunk_size=8)``
    ``{"kind": "disconnect", "after_chunks": 1}``. Streaming: sends ``after_chunks`` events, then
    drops the connection in the middle of the chunked body (no terminating chunk, no
    ``[DONE]``). Non-streaming: sends the headers and half the body, then drops the connection.

What the ``openai`` client (``max_retries=0``) raises, as checked by tests/test_fake_llm.py:
``Status(429)`` RateLimitError (``err.response.headers["retry-after"]``); 400 BadRequestError;
401 AuthenticationError; 5xx InternalServerError; ``Hang``/``Stall`` longer than the client's
timeout APITimeoutError; a ``Hang`` shorter than it APIConnectionError; ``Disconnect``
APIConnectionError; ``Malformed`` json.JSONDecodeError (raised as is, while iterating a stream).

``stop()`` returns promptly even while handlers hang or stall: they wait on an Event that
``stop()`` sets, and every open connection is shut down.

For a fake running elsewhere (another process or container), ``FakeLLMControl(url)`` offers
the same ``script`` / ``reset`` / ``requests`` / ``pending`` over the control API.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, ClassVar, Final, NoReturn, Self, TypeAlias, cast
from urllib.parse import urlsplit

__all__ = [
    "Behaviour",
    "Disconnect",
    "FakeLLM",
    "FakeLLMControl",
    "Hang",
    "Malformed",
    "Reply",
    "Stall",
    "Status",
    "behaviour_from_dict",
    "default_reply",
    "disconnect",
    "hang",
    "main",
    "malformed",
    "reply",
    "stall",
    "status",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL: Final = "fake-model"
DEFAULT_CHUNK_SIZE: Final = 8
MALFORMED_EVENT: Final = b"data: {not json\n\n"
DONE_EVENT: Final = b"data: [DONE]\n\n"


# --------------------------------------------------------------------------- behaviours


def _fail(behaviour: object, message: str) -> NoReturn:
    raise ValueError(f"{type(behaviour).__name__}: {message}")


def _check_number(behaviour: object, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        _fail(behaviour, f"{name} must be a number >= 0, got {value!r}")


def _check_int(behaviour: object, name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(behaviour, f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_text(behaviour: object, value: object) -> None:
    if value is not None and not isinstance(value, str):
        _fail(behaviour, f"text must be a string or null, got {value!r}")


@dataclass(frozen=True)
class _BehaviourBase:
    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"kind": <kind>, <field>: <value>, ...}``."""
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Reply(_BehaviourBase):
    """A normal answer (``text`` None = the default echo reply)."""

    kind: ClassVar[str] = "reply"
    text: str | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    delay_between_chunks_s: float = 0.0
    finish_reason: str = "stop"

    def __post_init__(self) -> None:
        _check_text(self, self.text)
        _check_int(self, "chunk_size", self.chunk_size, 1)
        _check_number(self, "delay_between_chunks_s", self.delay_between_chunks_s)
        if not isinstance(self.finish_reason, str):
            _fail(self, f"finish_reason must be a string, got {self.finish_reason!r}")


@dataclass(frozen=True)
class Status(_BehaviourBase):
    """An HTTP error answer with an OpenAI-style error body and optional ``Retry-After``."""

    kind: ClassVar[str] = "status"
    code: int
    retry_after: float | str | None = None
    body: dict[str, Any] | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.code, bool) or not isinstance(self.code, int):
            _fail(self, f"code must be an integer, got {self.code!r}")
        if not 400 <= self.code <= 599:
            _fail(self, f"code must be in 400..599, got {self.code!r}")
        if self.retry_after is not None and not isinstance(self.retry_after, str):
            _check_number(self, "retry_after", self.retry_after)
        if self.body is not None and not isinstance(self.body, dict | str):
            _fail(self, f"body must be an object, a string or null, got {self.body!r}")


@dataclass(frozen=True)
class Hang(_BehaviourBase):
    """Send nothing for ``seconds``, then close the connection."""

    kind: ClassVar[str] = "hang"
    seconds: float

    def __post_init__(self) -> None:
        _check_number(self, "seconds", self.seconds)


@dataclass(frozen=True)
class Stall(_BehaviourBase):
    """Stream ``after_chunks`` events, pause ``seconds``, then finish normally."""

    kind: ClassVar[str] = "stall"
    after_chunks: int
    seconds: float
    text: str | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE

    def __post_init__(self) -> None:
        _check_int(self, "after_chunks", self.after_chunks, 0)
        _check_number(self, "seconds", self.seconds)
        _check_text(self, self.text)
        _check_int(self, "chunk_size", self.chunk_size, 1)


@dataclass(frozen=True)
class _BrokenStream(_BehaviourBase):
    """Stream ``after_chunks`` valid events, then break the stream (how: the subclass says)."""

    after_chunks: int = 1
    text: str | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE

    def __post_init__(self) -> None:
        _check_int(self, "after_chunks", self.after_chunks, 0)
        _check_text(self, self.text)
        _check_int(self, "chunk_size", self.chunk_size, 1)


@dataclass(frozen=True)
class Malformed(_BrokenStream):
    """Stream ``after_chunks`` valid events, then ``data: {not json``, then close."""

    kind: ClassVar[str] = "malformed"


@dataclass(frozen=True)
class Disconnect(_BrokenStream):
    """Stream ``after_chunks`` events, then drop the connection mid-body."""

    kind: ClassVar[str] = "disconnect"


Behaviour: TypeAlias = Reply | Status | Hang | Stall | Malformed | Disconnect

# Lower-case aliases, for scripts that read like prose: fake.script(reply("Hi"), status(503)).
reply = Reply
status = Status
hang = Hang
stall = Stall
malformed = Malformed
disconnect = Disconnect

_KINDS: Final[dict[str, Callable[..., Behaviour]]] = {
    cls.kind: cls for cls in (Reply, Status, Hang, Stall, Malformed, Disconnect)
}


def behaviour_from_dict(data: Mapping[str, Any]) -> Behaviour:
    """Read a behaviour from its JSON form; raise ValueError (TypeError) if it is not one."""
    if not isinstance(data, Mapping):
        raise TypeError(f"a behaviour must be a JSON object, got {data!r}")
    kind = data.get("kind")
    factory = _KINDS.get(kind) if isinstance(kind, str) else None
    if factory is None:
        raise ValueError(f"unknown behaviour kind {kind!r}; expected one of {sorted(_KINDS)}")
    fields = {key: value for key, value in data.items() if key != "kind"}
    try:
        return factory(**fields)
    except TypeError as exc:  # unknown or missing fields
        raise ValueError(f"bad fields for behaviour {kind!r}: {exc}") from exc


def _as_behaviour(item: Behaviour | Mapping[str, Any]) -> Behaviour:
    if isinstance(item, Reply | Status | Hang | Stall | Malformed | Disconnect):
        return item
    return behaviour_from_dict(item)


# --------------------------------------------------------------------------- wire helpers


def _content_text(content: object) -> str:
    """The text of a message ``content``: a string, or a list of parts with ``text``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, dict)]
        return " ".join(text for text in texts if isinstance(text, str))
    return ""


def _count_tokens(text: str) -> int:
    return len(text.split())


def _prompt_tokens(messages: Sequence[object]) -> int:
    return sum(
        _count_tokens(_content_text(message.get("content")))
        for message in messages
        if isinstance(message, dict)
    )


def default_reply(messages: Sequence[object]) -> str:
    """The reply used when no behaviour is scripted: ``"Echo: <last user message>"``."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return "Echo: " + _content_text(message.get("content"))
    return "Echo: "


_STATUS_ERRORS: Final[dict[int, tuple[str, str | None]]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def _error_body(code: int, message: str | None = None) -> dict[str, Any]:
    error_type, error_code = _STATUS_ERRORS.get(
        code, ("server_error", None) if code >= 500 else ("invalid_request_error", None)
    )
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Error"
    return {
        "error": {
            "message": message or f"{phrase} (fake LLM, scripted HTTP {code})",
            "type": error_type,
            "param": None,
            "code": error_code,
        }
    }


def _format_retry_after(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class _Completion:
    """One answer, rendered either as a ``chat.completion`` or as SSE events."""

    id: str
    created: int
    model: str
    text: str
    chunk_size: int
    finish_reason: str
    prompt_tokens: int
    include_usage: bool

    @property
    def usage(self) -> dict[str, int]:
        completion_tokens = _count_tokens(self.text)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": self.prompt_tokens + completion_tokens,
        }

    def content_chunks(self) -> list[str]:
        size = self.chunk_size
        return [self.text[i : i + size] for i in range(0, len(self.text), size)]

    def full(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage,
        }

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, int] | None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
        }
        if self.include_usage:
            chunk["usage"] = usage
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def events(self) -> list[bytes]:
        """The ``data:`` events of the stream, without the final ``[DONE]``."""

        def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

        role = {"role": "assistant", "content": "", "refusal": None}
        events = [self._chunk([choice(role)], None)]
        events += [self._chunk([choice({"content": c})], None) for c in self.content_chunks()]
        events.append(self._chunk([choice({}, self.finish_reason)], None))
        if self.include_usage:
            events.append(self._chunk([], self.usage))
        return events


# --------------------------------------------------------------------------- state and server


class _State:
    """Script queue and recorded requests, shared by the handlers and the Python API."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._lock = threading.Lock()
        self._queue: deque[Behaviour] = deque()
        self._requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def script(self, behaviours: Sequence[Behaviour]) -> int:
        with self._lock:
            self._queue.extend(behaviours)
            return len(self._queue)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    def take(self, body: dict[str, Any]) -> tuple[Behaviour | None, int]:
        """Record a chat request; pop the next behaviour (None = default) and a serial."""
        with self._lock:
            self._requests.append(body)
            behaviour = self._queue.popleft() if self._queue else None
            return behaviour, next(self._ids)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            snapshot = list(self._requests)
        # Deep copy through JSON (bodies came from JSON), so callers cannot alter the record.
        return cast(list[dict[str, Any]], json.loads(json.dumps(snapshot)))

    def pending(self) -> list[Behaviour]:
        with self._lock:
            return list(self._queue)

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return len(self._queue), len(self._requests)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the listen backlog: many clients connect at once

    def __init__(self, address: tuple[str, int], state: _State) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.stopping = threading.Event()
        self._conn_lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would do a reverse DNS lookup (socket.getfqdn): skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections[conn] = threading.current_thread()
            if self.stopping.is_set():
                _shutdown_socket(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.pop(conn, None)

    def close_connections(self, timeout: float) -> None:
        """Shut down every open connection and wait (bounded) for their handler threads."""
        with self._conn_lock:
            connections = dict(self._connections)
        for conn in connections:
            _shutdown_socket(conn)
        deadline = time.monotonic() + timeout
        for thread in connections.values():
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # client went away, or stop() shut the socket
            logger.debug("connection %s ended: %r", client_address, exc)
        else:
            logger.exception("fake LLM: error while handling a request from %s", client_address)


def _shutdown_socket(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeLLM/1.0"
    timeout = 300  # idle keep-alive connections are dropped after this many seconds
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms stalls

    @property
    def _server(self) -> _Server:
        return cast(_Server, self.server)

    @property
    def _state(self) -> _State:
        return self._server.state

    def setup(self) -> None:
        super().setup()
        self._server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    # ------------------------------------------------------------------ plumbing

    def _path(self) -> str:
        return urlsplit(self.path).path.rstrip("/") or "/"

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_bytes(
        self,
        code: int,
        body: bytes,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, code: int, obj: object, headers: Mapping[str, str] | None = None) -> None:
        self._send_bytes(code, json.dumps(obj).encode(), headers=headers)

    def _send_error_json(self, code: int, message: str) -> None:
        self._send_json(code, _error_body(code, message))

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops; True if it is stopping."""
        if seconds <= 0:
            return self._server.stopping.is_set()
        return self._server.stopping.wait(seconds)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self) -> None:
        """Close the connection once the handler returns, whatever was (not) sent."""
        self.close_connection = True

    # ------------------------------------------------------------------ routing

    def do_GET(self) -> None:
        path = self._path()
        if path in ("/v1/models", "/models"):
            model = {"id": self._state.model, "object": "model", "created": 0, "owned_by": "fake"}
            self._send_json(200, {"object": "list", "data": [model]})
        elif path == "/_control/requests":
            self._send_json(200, self._state.requests())
        elif path == "/_control/script":
            self._send_json(200, [b.to_dict() for b in self._state.pending()])
        elif path == "/_control/health":
            queued, recorded = self._state.counts()
            self._send_json(200, {"status": "ok", "queued": queued, "requests": recorded})
        else:
            self._send_error_json(404, f"Unknown path: GET {path}")

    def do_POST(self) -> None:
        path = self._path()
        raw = self._read_body()
        if path in ("/v1/chat/completions", "/chat/completions"):
            self._chat(raw)
        elif path == "/_control/script":
            self._control_script(raw)
        elif path == "/_control/reset":
            self._state.reset()
            self._send_json(200, {"ok": True})
        else:
            self._send_error_json(404, f"Unknown path: POST {path}")

    def _control_script(self, raw: bytes) -> None:
        try:
            items = json.loads(raw)
            if not isinstance(items, list):
                raise TypeError("the body must be a JSON list of behaviours")
            behaviours = [behaviour_from_dict(item) for item in items]
        except (TypeError, ValueError) as exc:  # ValueError: JSON and Unicode decode errors too
            self._send_error_json(400, str(exc))
            return
        self._send_json(200, {"queued": self._state.script(behaviours)})

    # ------------------------------------------------------------------ chat completions

    def _chat(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            self._send_error_json(400, "The request body is not valid JSON.")
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send_error_json(400, "The request body must be an object with 'messages'.")
            return
        behaviour, serial = self._state.take(body)
        if behaviour is None:
            behaviour = Reply()
        messages: list[object] = body["messages"]
        model = body.get("model")
        stream = body.get("stream") is True
        options = body.get("stream_options")
        include_usage = (
            stream and isinstance(options, dict) and options.get("include_usage") is True
        )

        if isinstance(behaviour, Status):
            self._send_status(behaviour)
            return
        if isinstance(behaviour, Hang):
            self._wait(behaviour.seconds)
            self._drop()
            return
        completion = _Completion(
            id=f"chatcmpl-fake-{serial}",
            created=int(time.time()),
            model=model if isinstance(model, str) else self._state.model,
            text=behaviour.text if behaviour.text is not None else default_reply(messages),
            chunk_size=behaviour.chunk_size,
            finish_reason=behaviour.finish_reason if isinstance(behaviour, Reply) else "stop",
            prompt_tokens=_prompt_tokens(messages),
            include_usage=include_usage,
        )
        if stream:
            self._stream(behaviour, completion)
        else:
            self._complete(behaviour, completion)

    def _send_status(self, behaviour: Status) -> None:
        headers = {}
        if behaviour.retry_after is not None:
            headers["Retry-After"] = _format_retry_after(behaviour.retry_after)
        if isinstance(behaviour.body, str):
            body = behaviour.body.encode()
            self._send_bytes(behaviour.code, body, "text/plain; charset=utf-8", headers)
        else:
            obj = behaviour.body if behaviour.body is not None else _error_body(behaviour.code)
            self._send_json(behaviour.code, obj, headers)

    def _complete(
        self, behaviour: Reply | Stall | Malformed | Disconnect, completion: _Completion
    ) -> None:
        if isinstance(behaviour, Malformed):
            self._send_bytes(200, b"{not json", headers={"Connection": "close"})
            self._drop()
            return
        body = json.dumps(completion.full()).encode()
        if isinstance(behaviour, Reply):
            delay = behaviour.delay_between_chunks_s * len(completion.content_chunks())
            if self._wait(delay):
                self._drop()
                return
            self._send_bytes(200, body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if isinstance(behaviour, Disconnect):
            self.wfile.write(body[: len(body) // 2])
            self._drop()
            return
        if self._wait(behaviour.seconds):  # Stall
            self._drop()
            return
        self.wfile.write(body)

    def _stream(
        self, behaviour: Reply | Stall | Malformed | Disconnect, completion: _Completion
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        if isinstance(behaviour, Malformed):  # a complete response, but not for reuse
            self.send_header("Connection", "close")
        self.end_headers()
        events = completion.events()
        if isinstance(behaviour, Reply):
            for index, event in enumerate(events):
                if index and self._wait(behaviour.delay_between_chunks_s):
                    self._drop()
                    return
                self._write_chunk(event)
        else:
            head, tail = events[: behaviour.after_chunks], events[behaviour.after_chunks :]
            for event in head:
                self._write_chunk(event)
            if isinstance(behaviour, Disconnect):
                self._drop()  # no terminating chunk: the client sees a truncated body
                return
            if isinstance(behaviour, Malformed):
                self._write_chunk(MALFORMED_EVENT)
                self._end_chunks()
                self._drop()
                return
            if self._wait(behaviour.seconds):  # Stall
                self._drop()
                return
            for event in tail:
                self._write_chunk(event)
        self._write_chunk(DONE_EVENT)
        self._end_chunks()


# --------------------------------------------------------------------------- public API


class FakeLLM:
    """A fake OpenAI-compatible server on a background thread (see the module docstring)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, model: str = DEFAULT_MODEL):
        self._host = host
        self._port = port
        self._state = _State(model)
        self._lifecycle = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind and start serving; returns self. Raises RuntimeError if already running."""
        with self._lifecycle:
            if self._server is not None:
                raise RuntimeError("FakeLLM is already running")
            server = _Server((self._host, self._port), self._state)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-llm-{server.server_port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: wakes hung/stalled handlers, closes connections. Idempotent."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        server.stopping.set()
        server.shutdown()  # returns within poll_interval: no new connections after this
        server.close_connections(timeout)
        server.server_close()
        thread.join(timeout)

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        with self._lifecycle:
            return self._server is not None

    # ------------------------------------------------------------------ addresses

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0); needs start()."""
        with self._lifecycle:
            if self._server is None:
                raise RuntimeError("FakeLLM is not running: call start() first")
            return self._server.server_port

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (root, where ``/_control/...`` lives)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``: the OpenAI client's ``base_url``."""
        return self.url + "/v1"

    # ------------------------------------------------------------------ script and record

    def script(self, *behaviours: Behaviour | Mapping[str, Any]) -> None:
        """Append behaviours (dataclasses or their JSON dicts) to the FIFO queue."""
        self._state.script([_as_behaviour(b) for b in behaviours])

    def reset(self) -> None:
        """Clear the queue and the recorded requests."""
        self._state.reset()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The recorded chat request bodies (a copy), oldest first."""
        return self._state.requests()

    @property
    def pending(self) -> list[Behaviour]:
        """The behaviours not consumed yet, next first."""
        return self._state.pending()


class FakeLLMControl:
    """Drive a fake LLM running elsewhere (process, container) through its control API."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        """``url``: the fake's root (``http://host:port``); a trailing ``/v1`` is accepted."""
        root = url.rstrip("/")
        if urlsplit(root).scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = root.removesuffix("/v1")
        self.timeout = timeout

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def _call(self, method: str, path: str, payload: object = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        # The scheme is checked to be http(s) in __init__.
        request = urllib.request.Request(self.url + path, data, headers, method=method)  # noqa: S310
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return json.loads(response.read())

    def script(self, *behaviours: Behaviour | Mapping[str, Any]) -> int:
        """Append behaviours; returns how many are pending now."""
        payload = [_as_behaviour(b).to_dict() for b in behaviours]
        return int(self._call("POST", "/_control/script", payload)["queued"])

    def reset(self) -> None:
        self._call("POST", "/_control/reset", {})

    @property
    def requests(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call("GET", "/_control/requests"))

    @property
    def pending(self) -> list[Behaviour]:
        return [behaviour_from_dict(d) for d in self._call("GET", "/_control/script")]

    def health(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("GET", "/_control/health"))


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.doubles.fake_llm",
        description="Fake OpenAI-compatible LLM server (test double).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8089, help="port (default 8089, 0 = any)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model id for GET /v1/models")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    stop_requested = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    fake = FakeLLM(args.host, args.port, model=args.model).start()
    logger.info("fake LLM listening on %s (control API under %s/_control)", fake.base_url, fake.url)
    try:
        while not stop_requested.wait(0.5):
            pass
    finally:
        fake.stop()
    logger.info("fake LLM stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
