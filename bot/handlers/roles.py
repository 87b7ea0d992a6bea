"""/role: the current role, and buttons to switch to another one."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, User

from bot.api import ApiError, Role, WebAPI
from bot.delivery import Delivery, part_of
from bot.handlers.replies import escape, reply_to
from bot.texts import Texts

log = logging.getLogger(__name__)
CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit


class RoleChoice(CallbackData, prefix="role"):
    """A role button: the role's name."""

    name: str


def role_keyboard(roles: list[Role], current: str, texts: Texts) -> InlineKeyboardMarkup:
    """One button per role, the current one marked."""
    rows: list[list[InlineKeyboardButton]] = []
    for role in roles:
        data = RoleChoice(name=role.name).pack()
        if len(data.encode()) > CALLBACK_DATA_LIMIT:
            log.warning("role %r has a name too long for a button; not offered", role.name)
            continue
        mark = texts.role_mark if role.name == current else ""
        rows.append([InlineKeyboardButton(text=f"{mark}{role.title}", callback_data=data)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show_role(
    message: Message, event_from_user: User, api: WebAPI, delivery: Delivery, texts: Texts
) -> None:
    """Show the current role (title and what it does) with buttons for every role."""
    current = await api.role(event_from_user.id, chat_id=message.chat.id)
    roles = await api.roles()
    text = texts.role_current.format(
        title=escape(current.role.title), description=escape(current.role.description)
    )
    await delivery.send(
        message.chat.id,
        part_of(text),
        reply_to=reply_to(message),
        reply_markup=role_keyboard(roles, current.role.name, texts),
    )


async def choose_role(
    callback: CallbackQuery,
    callback_data: RoleChoice,
    event_from_user: User,
    api: WebAPI,
    delivery: Delivery,
    texts: Texts,
) -> None:
    """Switch to the chosen role: webapi keeps it and starts a new dialog in this chat."""
    chat_id = callback.message.chat.id if callback.message else event_from_user.id
    try:
        chosen = await api.choose_role(event_from_user.id, callback_data.name, chat_id=chat_id)
    except ApiError as exc:
        if exc.code != "role_not_found":
            raise
        await delivery.answer_callback(callback.id, texts.role_unknown)
        return
    text = texts.role_switched.format(
        title=escape(chosen.role.title), description=escape(chosen.role.description)
    )
    if callback.message is not None:
        await delivery.edit(chat_id, callback.message.message_id, part_of(text))
    else:
        await delivery.send(chat_id, part_of(text))
    await delivery.answer_callback(callback.id)


def router() -> Router:
    """The roles handlers, on a router of their own."""
    handlers = Router(name="roles")
    handlers.message.filter(F.from_user)
    handlers.message.register(show_role, Command("role"))
    handlers.callback_query.register(choose_role, RoleChoice.filter())
    return handlers
