"""/start, /help, /reset and /status."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message, User

from bot.api import WebAPI
from bot.delivery import Delivery, part_of
from bot.handlers.replies import escape, reply_to
from bot.texts import Texts


async def start(
    message: Message, event_from_user: User, api: WebAPI, delivery: Delivery, texts: Texts
) -> None:
    """Greet the user by name and present the current role."""
    current = await api.role(event_from_user.id, chat_id=message.chat.id)
    text = texts.start.format(
        name=escape(event_from_user.first_name),
        role_title=escape(current.role.title),
        role_description=escape(current.role.description),
    )
    await delivery.send(message.chat.id, part_of(text), reply_to=reply_to(message))


async def help_(message: Message, delivery: Delivery, texts: Texts) -> None:
    """List the commands."""
    await delivery.send(message.chat.id, part_of(texts.help), reply_to=reply_to(message))


async def reset(
    message: Message, event_from_user: User, api: WebAPI, delivery: Delivery, texts: Texts
) -> None:
    """Start a new dialog in this chat (the old one's history is kept)."""
    await api.reset(event_from_user.id, chat_id=message.chat.id)
    await delivery.send(message.chat.id, part_of(texts.reset_done), reply_to=reply_to(message))


async def status(
    message: Message, event_from_user: User, api: WebAPI, delivery: Delivery, texts: Texts
) -> None:
    """Report webapi's real state: model, LLM reachable, context used, today's usage."""
    state = await api.status(event_from_user.id, chat_id=message.chat.id)
    text = texts.status.format(
        model=escape(state.model),
        llm=texts.llm_reachable if state.llm_reachable else texts.llm_unreachable,
        role=escape(state.role.title),
        used=state.context.messages_used,
        max=state.context.max_messages,
        messages=state.today.messages,
        prompt=state.today.prompt_tokens,
        completion=state.today.completion_tokens,
    )
    await delivery.send(message.chat.id, part_of(text), reply_to=reply_to(message))


def router() -> Router:
    """The commands handlers, on a router of their own."""
    handlers = Router(name="commands")
    handlers.message.filter(F.from_user)
    handlers.message.register(start, CommandStart())
    handlers.message.register(help_, Command("help"))
    handlers.message.register(reset, Command("reset"))
    handlers.message.register(status, Command("status"))
    return handlers
