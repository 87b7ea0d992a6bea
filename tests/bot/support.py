"""What the bot's tests share: webapi served over real HTTP (stoppable), the bot running in a
thread of its own, and a scripted stand-in for webapi's answer stream."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import ThreadedWSGIServer

from bot.app import run
from bot.settings import BotSettings, load_settings
from tests.doubles.fake_telegram import FakeTelegram, SentMessage
from tests.support import BOT_TOKEN, ROOT, free_port

WEBHOOK_SECRET = "test-webhook-secret"


@dataclass
class Request:
    """One request webapi received (method, path and query)."""

    method: str
    path: str
    query: str


class _Recording:
    """A WSGI wrapper that notes each request before passing it on."""

    def __init__(self, app: Flask, requests: list[Request], lock: threading.Lock) -> None:
        self.app = app
        self.requests = requests
        self.lock = lock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self.lock:
            self.requests.append(
                Request(environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"])
            )
        return self.app(environ, start_response)


class _Server(ThreadedWSGIServer):
    """A threaded WSGI server that can also cut its open connections, as a crash would."""

    def __init__(self, port: int, app: Any) -> None:
        super().__init__("127.0.0.1", port, app)
        self.connections: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        for connection in list(self.connections):
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class LiveAPI:
    """webapi over real HTTP on a fixed port, so it can be stopped and started again."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        wsgi = _Recording(self.app, self.requests, self._lock)
        self._server = _Server(self.port, wsgi)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="bot-tests-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        self._server.cut_connections()  # keep-alive connections too: webapi is gone
        self._server = self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def requests_to(self, method: str, path_part: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and path_part in r.path]


class RunningBot:
    """The bot (bot.app.run) in a thread with its own event loop, until stop()."""

    def __init__(self, settings: BotSettings) -> None:
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="bot-under-test", daemon=True)

    def _main(self) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._started.set()
            await run(self.settings, self._stop)

        try:
            asyncio.run(serve())
        except BaseException as exc:
            self._error = exc
        finally:
            self._started.set()

    def start(self) -> RunningBot:
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self, timeout: float = 40.0) -> None:
        """Ask the bot to stop as SIGTERM does, wait for it, and raise what it raised."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the bot did not stop within {timeout} s")
        if self._error is not None:
            raise self._error

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def bot_settings(telegram: FakeTelegram, api_url: str, **overrides: Any) -> BotSettings:
    """Settings for a bot against the fakes, with short waits."""
    values: dict[str, Any] = {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE": telegram.base_url,
        "BOT_API_TOKEN": BOT_TOKEN,
        "API_URL": api_url,
        "API_RETRY_S": 2.0,
        "LLM_TIMEOUT_S": 5.0,
        "BOT_MODE": "polling",
        "BOT_RATE_LIMIT": "1000/minute",
        "BOT_ALLOWED_USER_IDS": "",
        "BOT_SHUTDOWN_GRACE_S": 10.0,
    }
    values.update(overrides)
    return load_settings(**values)


@contextmanager
def running_bot(settings: BotSettings) -> Iterator[RunningBot]:
    """A started bot, stopped (and checked to have stopped cleanly) at the end."""
    bot = RunningBot(settings).start()
    try:
        yield bot
    finally:
        bot.stop()


def bot_environment(**settings: str) -> dict[str, str]:
    """Exactly the environment `python -m bot` gets: nothing leaks in from the machine."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), **settings}


def bot_process(env: dict[str, str]) -> subprocess.Popen[str]:
    """`python -m bot` in a child process with exactly `env`."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def texts_of(messages: Iterable[SentMessage]) -> list[str]:
    return [message.text for message in messages]


def answered(telegram: FakeTelegram, chat_id: int, count: int) -> Callable[[FakeTelegram], bool]:
    """A wait_for predicate: the chat has at least `count` messages from the bot."""
    return lambda fake: len(fake.chat_messages(chat_id)) >= count


def wait_answers(
    telegram: FakeTelegram, chat_id: int, count: int, timeout: float = 15.0
) -> list[SentMessage]:
    telegram.wait_for(answered(telegram, chat_id, count), timeout)
    return telegram.chat_messages(chat_id)


def wait_text(
    telegram: FakeTelegram, chat_id: int, expected: list[str], timeout: float = 15.0
) -> list[SentMessage]:
    """Wait until the chat's messages read exactly `expected` (previews edited to the end)."""
    telegram.wait_for(lambda fake: texts_of(fake.chat_messages(chat_id)) == expected, timeout)
    return telegram.chat_messages(chat_id)


@dataclass
class ScriptedAPI:
    """A stand-in for webapi that ends every answer with the `error` event it is given.

    For the answer-outcome codes webapi cannot be made to produce on demand (`interrupted`
    after a restart, `cancelled`, `internal_error`, a 409 `answer_in_progress` after a long
    wait): it speaks webapi's wire format, the bot cannot tell the difference.
    """

    code: str = "internal_error"
    status: int = 200  # anything else: an HTTP error with this code instead of a stream
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> ScriptedAPI:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parsed: dict[str, Any] = json.loads(raw) if raw else {}
                return parsed

            def _json(self, status: int, payload: object) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                scripted.requests.append(("PUT", self.path, self._body()))
                self._json(200, {})

            def do_POST(self) -> None:
                body = self._body()
                scripted.requests.append(("POST", self.path, body))
                if scripted.status != 200:
                    error = {"code": scripted.code, "message": "scripted"}
                    self._json(scripted.status, {"error": error})
                    return
                event = {
                    "code": scripted.code,
                    "message": "scripted",
                    "dialog_id": 1,
                    "user_message_id": 1,
                }
                frames = (
                    'event: delta\ndata: {"text": "Par"}\n\n'
                    f"event: error\ndata: {json.dumps(event)}\n\n"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(frames)))
                self.end_headers()
                self.wfile.write(frames)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass(frozen=True)
class StoredRows:
    """What webapi's database holds for one Telegram user."""

    users: int
    dialogs: int
    questions: int
    answers: int


_COUNT_USERS = "SELECT count(*) FROM users WHERE telegram_id = :t"
_COUNT_DIALOGS = (
    "SELECT count(*) FROM dialogs d JOIN users u ON d.user_id = u.id WHERE u.telegram_id = :t"
)
_COUNT_MESSAGES = """
    SELECT count(*) FROM messages m
    JOIN dialogs d ON m.dialog_id = d.id
    JOIN users u ON d.user_id = u.id
    WHERE u.telegram_id = :t AND m.role = :role
"""


def stored_rows(database_url: str, telegram_id: int) -> StoredRows:
    """Count the user's rows straight from the database file."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:

            def count(sql: str, **params: Any) -> int:
                query = sa.text(sql)
                return int(connection.execute(query, {"t": telegram_id, **params}).scalar_one())

            return StoredRows(
                users=count(_COUNT_USERS),
                dialogs=count(_COUNT_DIALOGS),
                questions=count(_COUNT_MESSAGES, role="user"),
                answers=count(_COUNT_MESSAGES, role="assistant"),
            )
    finally:
        engine.dispose()


def raw_message(
    user_id: int,
    message_id: int,
    *,
    chat_id: int | None = None,
    chat: dict[str, Any] | None = None,
    **content: Any,
) -> dict[str, Any]:
    """A raw `message` update (a photo, a redelivery...), as Telegram sends it; `chat`
    replaces the private chat (or the group `chat_id` names) whole."""
    user = {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": "en"}
    if chat is None:
        chat = (
            {"id": user_id, "type": "private", "first_name": "Ann"}
            if chat_id is None
            else {"id": chat_id, "type": "group", "title": "A group"}
        )
    message = {"message_id": message_id, "from": user, "chat": chat, "date": 1_700_000_000}
    return {"message": {**message, **content}}
