"""``FakeTelegram``: the in-process face of the fake Bot API (start, feed, script, read back)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from tests.doubles.fake_telegram.faults import Fault, FaultQueue
from tests.doubles.fake_telegram.records import Call, CallLog, Draft, FedUpdate, SentMessage
from tests.doubles.fake_telegram.server import FakeTelegramServer
from tests.doubles.fake_telegram.world import World

DEFAULT_TOKEN = "123456:TEST-TOKEN"
_DUMP_CALLS = 30  # how many of the last calls a wait_for failure shows


class FakeTelegram:
    """A fake Telegram Bot API on a background thread (see the package docstring)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "systech_aidd_bot",
        bot_first_name: str = "Systech AIDD",
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("a bot token looks like '<bot id>:<secret>'")
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_username = bot_username
        self.host = host
        self._port = port
        self._world = World(
            {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": bot_first_name,
                "username": bot_username,
                "can_join_groups": True,
                # Every group message reaches the fake bot, so the bot itself must pick the
                # ones addressed to it (as with privacy mode off).
                "can_read_all_group_messages": True,
                "supports_inline_queries": False,
            }
        )
        self._faults = FaultQueue()
        self._calls = CallLog()
        self._lifecycle = threading.Lock()
        self._server: FakeTelegramServer | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind and serve; returns self. Raises RuntimeError if already running."""
        with self._lifecycle:
            if self._server is not None:
                raise RuntimeError("FakeTelegram is already running")
            server = FakeTelegramServer(self._world, self._faults, self._calls, self.token)
            self._port = server.start(self.host, self._port)
            self._server = server
        return self

    def stop(self) -> None:
        """Stop serving (waiting getUpdates calls return at once). Idempotent."""
        with self._lifecycle:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> Self:
        if self._server is None:
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
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0, once started)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``: aiogram's ``TelegramAPIServer.from_base(base_url)``."""
        if self._server is None:
            raise RuntimeError("FakeTelegram is not running: call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    # ------------------------------------------------------------------ feeding updates

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ann",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        reply_to_message_id: int | None = None,
        chat_title: str | None = None,
    ) -> dict[str, Any]:
        """Queue a text message from a user; returns the update. Private chat id == user id."""
        return self._world.send_text(
            user_id,
            text,
            chat_id=chat_id,
            chat_type=chat_type,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            reply_to_message_id=reply_to_message_id,
            chat_title=chat_title,
        )

    def send_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any raw update (its update_id is assigned anew); returns it."""
        return self._world.feed_update(update)

    def press_button(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """Queue a callback_query: the user presses the inline button with ``data``."""
        return self._world.press_button(
            user_id, message_id, data, chat_id=chat_id, language_code=language_code
        )

    # ------------------------------------------------------------------ what the bot did

    @property
    def calls(self) -> list[Call]:
        """Every Bot API call (failed ones too), in the order they were answered."""
        return self._calls.all()

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method (case-insensitive)."""
        return [call for call in self._calls.all() if call.method.lower() == method.lower()]

    def chat_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The final state of the bot's messages in a chat, by message id."""
        return self._world.sent_messages(chat_id, include_deleted)

    def drafts(self, chat_id: int | None = None) -> list[Draft]:
        """The accepted sendMessageDraft calls (of one chat, or all), in order."""
        return self._world.drafts(chat_id)

    @property
    def updates(self) -> list[FedUpdate]:
        """Every update fed, with when it was fed and first handed to the bot."""
        return self._world.fed_updates()

    def my_commands(
        self, language_code: str = "", scope: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The commands set with setMyCommands for exactly this language and scope."""
        return self._world.get_commands(scope, language_code)

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The webhook set (url, secret_token, allowed_updates, max_connections), or None."""
        return self._world.webhook

    @property
    def callback_answers(self) -> dict[str, list[dict[str, Any]]]:
        """answerCallbackQuery's answers per callback query id."""
        return self._world.callback_answers()

    def wait_for(self, predicate: Callable[[FakeTelegram], bool], timeout: float = 10.0) -> None:
        """Poll ``predicate(self)`` until true; AssertionError with a dump on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"fake Telegram: condition not met within {timeout} s\n{self.dump()}"
                )
            time.sleep(0.01)

    def dump(self) -> str:
        """A readable summary of the last calls and pending updates, for failure messages."""
        lines = [f"last {_DUMP_CALLS} calls (of {len(self.calls)}):"]
        for call in self.calls[-_DUMP_CALLS:]:
            params = json.dumps(call.params, ensure_ascii=False)
            lines.append(f"  {call.method} {call.status} {params[:200]}")
            if not call.ok:
                lines.append(f"    -> {call.response.get('description')}")
        pending = self._world.pending_update_count()
        lines.append(f"updates fed: {len(self.updates)}, not confirmed by the bot: {pending}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        method: str | None,
        *,
        status: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        delay_s: float = 0.0,
    ) -> None:
        """The next ``times`` calls of ``method`` (None: any) fail with ``status``."""
        self._faults.add(Fault(method, status, retry_after, description, times, delay_s))

    def slow(self, method: str | None, delay_s: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` (None: any) answer after ``delay_s``."""
        self._faults.add(Fault(method, None, times=times, delay_s=delay_s))

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults not used up yet, oldest first."""
        return self._faults.pending()

    def reset(self) -> None:
        """Forget chats, messages, updates, calls, faults, commands and the webhook."""
        self._world.reset()
        self._faults.clear()
        self._calls.clear()
