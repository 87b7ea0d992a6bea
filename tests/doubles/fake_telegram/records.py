"""What the fake Telegram records: calls, the bot's messages, drafts and fed updates.

Immutable snapshots with a JSON form (``to_dict`` / ``from_dict``), shared by the in-process
server and the control client, so both hand tests the same objects.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """One Bot API call as the fake answered it (the failed ones too)."""

    method: str
    params: dict[str, Any]
    at: float  # time.time() when the request arrived
    response: dict[str, Any]  # the JSON body sent back
    status: int = 200  # the HTTP status sent back (499: the client went away first)
    done_at: float = 0.0  # time.time() when the answer was ready

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.response.get("ok") is True

    @property
    def result(self) -> Any:
        """The ``result`` of a successful call (None for a failed one)."""
        return self.response.get("result")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Call:
        """Read the JSON form back."""
        return cls(**data)


@dataclass(frozen=True)
class SentMessage:
    """The current state of one message the bot sent."""

    message_id: int
    chat_id: int
    text: str  # the visible text, after entity parsing
    html: str  # the text exactly as the bot sent it (HTML source when parse_mode is HTML)
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    edits: int = 0
    history: list[str] = field(default_factory=list)  # earlier visible texts, oldest first
    date: int = 0
    reply_to_message_id: int | None = None
    deleted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SentMessage:
        """Read the JSON form back."""
        return cls(**data)


@dataclass(frozen=True)
class Draft:
    """One accepted sendMessageDraft call (a streamed preview of a reply)."""

    chat_id: int
    draft_id: int
    text: str  # visible text
    html: str
    parse_mode: str | None
    entities: list[dict[str, Any]]
    at: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        """Read the JSON form back."""
        return cls(**data)


@dataclass(frozen=True)
class FedUpdate:
    """An update fed to the fake, with when it was fed and first handed to the bot."""

    update: dict[str, Any]
    fed_at: float
    delivered_at: float | None = None  # None: not returned by getUpdates yet

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FedUpdate:
        """Read the JSON form back."""
        return cls(**data)


class CallLog:
    """Every Bot API call, in the order the answers were ready (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def add(self, call: Call) -> None:
        """Record one call."""
        with self._lock:
            self._calls.append(call)

    def all(self) -> list[Call]:
        """The recorded calls, oldest first."""
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        """Forget every call."""
        with self._lock:
            self._calls.clear()
