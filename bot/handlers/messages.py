"""Text messages addressed to the bot: answered by webapi, streamed into the chat."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import Message, User

from bot.answering import Answerer, Question
from bot.delivery import Delivery, part_of
from bot.filters import AddressedToBot
from bot.handlers.replies import reply_to
from bot.middlewares import UpdateLog
from bot.settings import BotSettings
from bot.texts import Texts


async def unknown_command(message: Message, delivery: Delivery, texts: Texts) -> None:
    """A command the bot does not have: the list of those it has."""
    await delivery.send(message.chat.id, part_of(texts.help))


async def answer_question(
    message: Message,
    question: str,
    event_from_user: User,
    answerer: Answerer,
    delivery: Delivery,
    settings: BotSettings,
    texts: Texts,
    update_log: UpdateLog,
) -> None:
    """Answer the message (the length limit checked first)."""
    limit = settings.BOT_MAX_INPUT_CHARS
    if len(question) > limit:
        text = texts.too_long.format(length=len(question), limit=limit)
        await delivery.send(message.chat.id, part_of(text), reply_to=reply_to(message))
        update_log.outcome = "too_long"
        return
    if not question.strip():
        await delivery.send(
            message.chat.id, part_of(texts.empty_question), reply_to=reply_to(message)
        )
        update_log.outcome = "empty_question"
        return
    update_log.outcome = await answerer.answer(
        Question(
            user_id=event_from_user.id,
            chat_id=message.chat.id,
            message_id=message.message_id,
            text=question,
            private=message.chat.type == ChatType.PRIVATE,
            thread_id=message.message_thread_id if message.is_topic_message else None,
        ),
        texts,
    )


def router() -> Router:
    """The messages handlers, on a router of their own."""
    handlers = Router(name="messages")
    handlers.message.register(
        unknown_command, F.text.startswith("/"), F.chat.type == ChatType.PRIVATE
    )
    handlers.message.register(answer_question, F.text, F.from_user, AddressedToBot())
    return handlers
