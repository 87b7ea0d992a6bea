"""Whether a message is addressed to the bot (always in private; in groups, when asked)."""

from __future__ import annotations

import re
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import Message


class AddressedToBot(Filter):
    """Private chats: always. Groups: a mention of the bot, or a reply to one of its messages.

    Passes the text without the mention to the handler as `question`.
    """

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        text = message.text or message.caption or ""
        if message.chat.type == ChatType.PRIVATE:
            return {"question": text}
        me = await bot.me()  # cached after the first call (made at start-up)
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
            return {"question": text}
        if me.username and f"@{me.username.lower()}" in text.lower():
            mention = re.compile(rf"@{re.escape(me.username)}\b", re.IGNORECASE)
            return {"question": mention.sub("", text).strip()}
        return False
