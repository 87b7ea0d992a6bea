"""The one outgoing path: every Telegram call the bot makes goes through Delivery.

Messages and edits are paced per chat (bot.pacing); a 429 is honoured (retry_after) and the call
retried, a bounded number of times; a part Telegram cannot parse is resent as plain text.
Streaming previews (drafts, edits) and the typing indicator are best effort: when they fail the
answer still goes out.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from enum import Enum
from typing import TypeVar

from aiogram import Bot
from aiogram.enums import ChatAction, ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendChatAction,
    SendMessage,
    SendMessageDraft,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Message, ReplyParameters

from bot.pacing import ChatPacer
from bot.render import Part

log = logging.getLogger(__name__)

T = TypeVar("T")
ATTEMPTS = 6
# A 429 asking for a longer wait than this is not waited out: the call fails.
MAX_RETRY_AFTER_S = 120.0
TYPING_EVERY_S = 4.0
TELEGRAM_LIMIT = 4096
_TAG = re.compile(r"<[^>]*>")


class Preview(Enum):
    """What became of a best-effort preview (draft or edit)."""

    SENT = "sent"
    SKIPPED = "skipped"  # not now (pacing, a 429, a network hiccup): a later one may go
    FAILED = "failed"  # Telegram refused it: stop previewing this answer


def part_of(markup: str) -> Part:
    """A catalogue text (Telegram HTML) as a Part, with its plain text for the fallback."""
    return Part(html=markup, text=html.unescape(_TAG.sub("", markup)))


def _cannot_parse(exc: TelegramBadRequest) -> bool:
    return "can't parse entities" in exc.message.lower()


def _too_long(exc: TelegramBadRequest) -> bool:
    return "message is too long" in exc.message.lower()


def _utf16_chunks(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Plain text in pieces of at most `limit` UTF-16 code units (the last-resort split)."""
    chunks: list[str] = []
    start = units = 0
    for index, char in enumerate(text):
        width = 2 if ord(char) > 0xFFFF else 1
        if units + width > limit:
            chunks.append(text[start:index])
            start, units = index, 0
        units += width
    chunks.append(text[start:])
    return [chunk for chunk in chunks if chunk.strip()]


# What answering calls (bot/telegram_types.py builds them soon after a start).
METHODS = (SendMessage, SendMessageDraft, EditMessageText, SendChatAction, AnswerCallbackQuery)


class Delivery:
    """Sends, edits, drafts and chat actions for the whole process, within Telegram's limits."""

    def __init__(self, bot: Bot, pacer: ChatPacer | None = None, *, attempts: int = ATTEMPTS):
        self.bot = bot
        self.pacer = pacer or ChatPacer()
        self.attempts = attempts

    async def call(self, method: TelegramMethod[T], *, chat_id: int | None = None) -> T:
        """Make a call that must succeed: 429s waited out, network/5xx retried, bounded."""
        for attempt in range(1, self.attempts + 1):
            if chat_id is not None:
                await self.pacer.take(chat_id)
            try:
                return await self.bot(method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > MAX_RETRY_AFTER_S:
                    raise
                log.info("telegram 429 on %s: waiting %s s", type(method).__name__, exc.retry_after)
                if chat_id is not None:
                    self.pacer.block(chat_id, exc.retry_after)  # take() waits it out
                else:
                    await asyncio.sleep(exc.retry_after)
            except (TelegramNetworkError, TelegramServerError) as exc:
                if attempt == self.attempts:
                    raise
                wait = min(0.25 * 2**attempt, 10.0)
                log.info(
                    "telegram %s on %s: retry in %.2f s",
                    type(exc).__name__,
                    type(method).__name__,
                    wait,
                )
                await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def send(
        self,
        chat_id: int,
        part: Part,
        *,
        reply_to: int | None = None,
        reply_markup: InlineKeyboardMarkup | None = None,
        thread_id: int | None = None,
    ) -> Message:
        """Send one part as HTML; as plain text if Telegram cannot parse it.

        `thread_id`: the forum topic the message belongs in (a reply lands in its question's
        topic anyway; the answer's further parts do not reply).
        """
        reply = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        try:
            return await self.call(
                SendMessage(
                    chat_id=chat_id,
                    text=part.html,
                    parse_mode=ParseMode.HTML,
                    reply_parameters=reply,
                    reply_markup=reply_markup,
                    message_thread_id=thread_id,
                ),
                chat_id=chat_id,
            )
        except TelegramBadRequest as exc:
            if _cannot_parse(exc):
                log.warning("telegram could not parse a part (%s): sent as plain text", exc.message)
                chunks = [part.text]
            elif _too_long(exc):
                log.warning("telegram found a part too long: sent as plain text pieces")
                chunks = _utf16_chunks(part.text)
            else:
                raise
        sent: Message | None = None
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            sent = await self.call(
                SendMessage(
                    chat_id=chat_id,
                    text=chunk,
                    parse_mode=None,
                    reply_parameters=reply if index == 0 else None,
                    reply_markup=reply_markup if last else None,
                    message_thread_id=thread_id,
                ),
                chat_id=chat_id,
            )
        if sent is None:
            raise ValueError("nothing to send")
        return sent

    async def edit(
        self,
        chat_id: int,
        message_id: int,
        part: Part,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> bool:
        """Replace a message's text (HTML, else plain); False if the message is gone."""
        try:
            await self._edit(chat_id, message_id, part.html, ParseMode.HTML, reply_markup)
        except TelegramBadRequest as exc:
            if not _cannot_parse(exc):
                return self._edit_refused(exc)
            log.warning("telegram could not parse an edit (%s): sent as plain text", exc.message)
            try:
                await self._edit(chat_id, message_id, part.text, None, reply_markup)
            except TelegramBadRequest as again:
                return self._edit_refused(again)
        return True

    async def _edit(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        parse_mode: str | None,
        reply_markup: InlineKeyboardMarkup | None,
    ) -> None:
        await self.call(
            EditMessageText(
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                parse_mode=parse_mode,
                reply_markup=reply_markup,
            ),
            chat_id=chat_id,
        )

    @staticmethod
    def _edit_refused(exc: TelegramBadRequest) -> bool:
        if "message is not modified" in exc.message.lower():
            return True  # it already says that
        log.warning("telegram refused an edit: %s", exc.message)
        return False

    async def try_edit(self, chat_id: int, message_id: int, markup: str) -> Preview:
        """A streaming edit: only if the chat's pace allows it now, never retried."""
        if not self.pacer.try_take(chat_id):
            return Preview.SKIPPED
        method = EditMessageText(
            chat_id=chat_id, message_id=message_id, text=markup, parse_mode=ParseMode.HTML
        )
        return await self._preview(method, chat_id)

    async def try_draft(self, chat_id: int, draft_id: int, markup: str) -> Preview:
        """A streaming draft (private chats): skipped while a 429 wait runs, never retried."""
        if self.pacer.blocked(chat_id):
            return Preview.SKIPPED
        method = SendMessageDraft(
            chat_id=chat_id, draft_id=draft_id, text=markup, parse_mode=ParseMode.HTML
        )
        return await self._preview(method, chat_id)

    async def _preview(self, method: TelegramMethod[T], chat_id: int) -> Preview:
        try:
            await self.bot(method)
        except TelegramRetryAfter as exc:
            self.pacer.block(chat_id, exc.retry_after)
            return Preview.SKIPPED
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message.lower():
                return Preview.SENT
            log.info("telegram refused a %s: %s", type(method).__name__, exc.message)
            return Preview.FAILED
        except TelegramAPIError as exc:
            log.info("a %s failed: %s", type(method).__name__, type(exc).__name__)
            return Preview.SKIPPED
        return Preview.SENT

    @asynccontextmanager
    async def typing(self, chat_id: int, thread_id: int | None = None) -> AsyncIterator[None]:
        """Keep the typing indicator on in the chat (or its forum topic) while the block runs."""
        task = asyncio.create_task(self._keep_typing(chat_id, thread_id))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _keep_typing(self, chat_id: int, thread_id: int | None) -> None:
        action = SendChatAction(
            chat_id=chat_id, action=ChatAction.TYPING, message_thread_id=thread_id
        )
        while True:
            if not self.pacer.blocked(chat_id):
                try:
                    await self.bot(action)
                except TelegramRetryAfter as exc:
                    self.pacer.block(chat_id, exc.retry_after)
                except TelegramAPIError as exc:
                    # The indicator is a courtesy: its failure never costs the answer.
                    log.debug("typing indicator failed: %s", type(exc).__name__)
            await asyncio.sleep(TYPING_EVERY_S)

    async def answer_callback(self, callback_id: str, text: str | None = None) -> None:
        """Acknowledge a button press (best effort: the button's effect is already done)."""
        try:
            await self.call(AnswerCallbackQuery(callback_query_id=callback_id, text=text))
        except TelegramAPIError as exc:
            log.info("answering a button press failed: %s", type(exc).__name__)
