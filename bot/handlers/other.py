"""Anything but text (photos, voice, stickers...): a polite text-only answer."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.delivery import Delivery, part_of
from bot.filters import AddressedToBot
from bot.handlers.replies import reply_to
from bot.texts import Texts


async def not_text(message: Message, delivery: Delivery, texts: Texts) -> None:
    """Say that only text is read."""
    await delivery.send(message.chat.id, part_of(texts.non_text), reply_to=reply_to(message))


def router() -> Router:
    """The other handlers, on a router of their own."""
    handlers = Router(name="other")
    handlers.message.register(not_text, AddressedToBot())
    return handlers
