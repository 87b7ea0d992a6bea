"""The optional allow-list of user ids (BOT_ALLOWED_USER_IDS)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.delivery import Delivery, part_of
from bot.middlewares.update_log import UpdateLog
from bot.texts import Texts


class AccessMiddleware(BaseMiddleware):
    """Outer middleware on messages and button presses: strangers are turned away.

    In a private chat they are told so; in a group they are ignored (they may not even be
    talking to the bot).
    """

    def __init__(self, allowed: frozenset[int], delivery: Delivery) -> None:
        self.allowed = allowed
        self.delivery = delivery

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if not self.allowed or (user is not None and user.id in self.allowed):
            return await handler(event, data)
        entry: UpdateLog | None = data.get("update_log")
        if entry is not None:
            entry.outcome = "denied"
        texts: Texts = data["texts"]
        if isinstance(event, Message) and event.chat.type == ChatType.PRIVATE:
            await self.delivery.send(event.chat.id, part_of(texts.not_allowed))
        elif isinstance(event, CallbackQuery):
            await self.delivery.answer_callback(event.id, texts.not_allowed)
        return None
