"""One update at a time per user and chat: later messages wait their turn, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User


@dataclass(slots=True)
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    holders: int = 0  # the one running and those waiting


class SerialMiddleware(BaseMiddleware):
    """Inner middleware: handlers for one (user, chat) run one after another.

    Updates are dispatched as tasks in the order they arrived, and nothing awaits before this
    lock is asked for; asyncio.Lock serves waiters first come, first served, so answers keep
    the messages' order.
    """

    def __init__(self) -> None:
        self._turns: dict[tuple[int, int], _Turn] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        chat: Chat | None = data.get("event_chat")
        key = (user.id, chat.id if chat is not None else user.id)
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.holders += 1
        try:
            async with turn.lock:
                return await handler(event, data)
        finally:
            turn.holders -= 1
            if turn.holders == 0:
                del self._turns[key]
