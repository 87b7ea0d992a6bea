"""``FakeTelegramControl``: drive a fake Telegram running elsewhere through its control API."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, cast

import httpx

from tests.doubles.fake_telegram.faults import Fault
from tests.doubles.fake_telegram.records import Call, Draft, FedUpdate, SentMessage


class FakeTelegramControl:
    """The in-process ``FakeTelegram``'s feeding, faults and read-backs, over HTTP."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        """``base_url``: the fake's root, ``http://host:port``."""
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, "/_control" + path, **kwargs)
        response.raise_for_status()
        return response.json()

    # ------------------------------------------------------------------ feeding updates

    def send_text(self, user_id: int, text: str, **fields: Any) -> dict[str, Any]:
        """Queue a text message (same keywords as ``FakeTelegram.send_text``)."""
        body = {"user_id": user_id, "text": text, **fields}
        return cast(dict[str, Any], self._call("POST", "/updates/text", json=body))

    def send_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any raw update; returns it with its update_id."""
        return cast(dict[str, Any], self._call("POST", "/updates", json=update))

    def press_button(
        self, user_id: int, message_id: int, data: str, **fields: Any
    ) -> dict[str, Any]:
        """Queue a callback_query (same keywords as ``FakeTelegram.press_button``)."""
        body = {"user_id": user_id, "message_id": message_id, "data": data, **fields}
        return cast(dict[str, Any], self._call("POST", "/updates/button", json=body))

    # ------------------------------------------------------------------ what the bot did

    @property
    def calls(self) -> list[Call]:
        """Every Bot API call, in the order they were answered."""
        return [Call.from_dict(item) for item in self._call("GET", "/calls")]

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method (case-insensitive)."""
        items = self._call("GET", "/calls", params={"method": method})
        return [Call.from_dict(item) for item in items]

    def chat_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The final state of the bot's messages in a chat."""
        query = {"chat_id": chat_id, "include_deleted": str(include_deleted).lower()}
        return [
            SentMessage.from_dict(item) for item in self._call("GET", "/messages", params=query)
        ]

    def drafts(self, chat_id: int | None = None) -> list[Draft]:
        """The accepted drafts (of one chat, or all)."""
        query = {} if chat_id is None else {"chat_id": chat_id}
        return [Draft.from_dict(item) for item in self._call("GET", "/drafts", params=query)]

    @property
    def updates(self) -> list[FedUpdate]:
        """Every update fed, with when it was fed and first handed to the bot."""
        return [FedUpdate.from_dict(item) for item in self._call("GET", "/updates")]

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Every command list set: ``[{"scope", "language_code", "commands"}]``."""
        return cast(list[dict[str, Any]], self._call("GET", "/commands"))

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The webhook set, or None."""
        return cast(dict[str, Any] | None, self._call("GET", "/webhook"))

    def health(self) -> dict[str, Any]:
        """``{"status": "ok", "calls", "pending_updates", "faults"}``."""
        return cast(dict[str, Any], self._call("GET", "/health"))

    def wait_for(
        self, predicate: Callable[[FakeTelegramControl], bool], timeout: float = 10.0
    ) -> None:
        """Poll ``predicate(self)`` until true; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                last = [(c.method, c.status) for c in self.calls[-20:]]
                raise AssertionError(f"condition not met within {timeout} s; last calls: {last}")
            time.sleep(0.05)

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
    ) -> int:
        """Queue a failure (see ``FakeTelegram.fail``); returns how many faults are pending."""
        fault = Fault(method, status, retry_after, description, times, delay_s)
        return int(self._call("POST", "/faults", json=fault.to_dict())["pending"])

    def slow(self, method: str | None, delay_s: float, times: int = 1) -> int:
        """Queue slow answers; returns how many faults are pending."""
        fault = Fault(method, None, times=times, delay_s=delay_s)
        return int(self._call("POST", "/faults", json=fault.to_dict())["pending"])

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults not used up yet."""
        return [Fault.from_dict(item) for item in self._call("GET", "/faults")]

    def reset(self) -> None:
        """Forget everything (chats, messages, updates, calls, faults, commands, webhook)."""
        self._call("POST", "/reset")
