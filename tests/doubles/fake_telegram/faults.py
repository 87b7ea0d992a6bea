"""Scripted faults of the fake Telegram: errors and slow answers, consumed FIFO per method."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any

_DEFAULT_RETRY_AFTER = 1


@dataclass(frozen=True)
class Fault:
    """One scripted fault: wait ``delay_s``, then answer ``status`` (None: answer normally).

    ``method`` None matches any method; ``times`` is how many calls it still applies to.
    """

    method: str | None
    status: int | None = 429
    retry_after: int | None = None
    description: str | None = None
    times: int = 1
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"a fault's status must be in 400..599 or None, got {self.status}")
        if self.times < 1:
            raise ValueError(f"times must be >= 1, got {self.times}")
        if self.delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {self.delay_s}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {self.retry_after}")

    def matches(self, method: str) -> bool:
        """True if this fault applies to a call of ``method`` (names are case-insensitive)."""
        return self.method is None or self.method.lower() == method.lower()

    def error_body(self) -> dict[str, Any] | None:
        """The Bot API error body this fault answers with (None for a slow-only fault)."""
        if self.status is None:
            return None
        body: dict[str, Any] = {"ok": False, "error_code": self.status}
        retry_after = self.retry_after
        if self.status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = _DEFAULT_RETRY_AFTER  # Telegram always says how long to wait
        body["description"] = self.description or _default_description(self.status, retry_after)
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return body

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the control API's ``POST /_control/faults`` body)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Read the JSON form back; raises TypeError/ValueError if it is not one."""
        if not isinstance(data, dict):
            raise TypeError(f"a fault must be a JSON object, got {data!r}")
        return cls(**data)


def _default_description(status: int, retry_after: int | None) -> str:
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after}"
    if status == HTTPStatus.BAD_REQUEST:
        return "Bad Request: scripted failure"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class FaultQueue:
    """Thread-safe FIFO of faults; a call takes the oldest fault that matches its method."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> int:
        """Queue a fault; returns how many are pending."""
        with self._lock:
            self._faults.append(fault)
            return len(self._faults)

    def take(self, method: str) -> Fault | None:
        """The oldest fault matching ``method``, counting one use of it (None if there is none)."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method):
                    if fault.times > 1:
                        self._faults[index] = Fault(**{**asdict(fault), "times": fault.times - 1})
                    else:
                        del self._faults[index]
                    return fault
            return None

    def pending(self) -> list[Fault]:
        """The faults not used up yet, oldest first."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._faults.clear()
