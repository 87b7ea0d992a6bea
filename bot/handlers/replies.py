"""What command handlers share: where a reply goes, and values made safe for HTML."""

from __future__ import annotations

import html

from aiogram.enums import ChatType
from aiogram.types import Message


def reply_to(message: Message) -> int | None:
    """Replies in groups quote the message they answer; in private chats they need not."""
    return None if message.chat.type == ChatType.PRIVATE else message.message_id


def escape(value: object) -> str:
    """A value put into a catalogue text (Telegram HTML)."""
    return html.escape(str(value), quote=False)
