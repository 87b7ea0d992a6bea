"""Counts updates being handled, so a stop can wait for answers in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update


class InFlight:
    """How many updates are being handled; `wait_idle` waits until none is."""

    def __init__(self) -> None:
        self.count = 0
        self.last_update_id: int | None = None  # the newest update taken
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """True once nothing is in flight; False if `timeout_s` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True


class InFlightMiddleware(BaseMiddleware):
    """Outer middleware on updates: counts each one while it is handled."""

    def __init__(self, in_flight: InFlight) -> None:
        self.in_flight = in_flight

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            last = self.in_flight.last_update_id
            if last is None or event.update_id > last:
                self.in_flight.last_update_id = event.update_id
        self.in_flight.enter()
        try:
            return await handler(event, data)
        finally:
            self.in_flight.leave()
