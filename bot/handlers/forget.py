"""/forget: delete every dialog and message of the user, after a confirmation button."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, User

from bot.api import WebAPI
from bot.delivery import Delivery, part_of
from bot.handlers.replies import reply_to
from bot.texts import Texts


class ForgetChoice(CallbackData, prefix="forget"):
    """A confirmation button: whose data, and yes or no."""

    user_id: int
    confirm: bool


async def ask_to_confirm(
    message: Message, event_from_user: User, delivery: Delivery, texts: Texts
) -> None:
    """Ask before deleting anything."""
    buttons = [
        InlineKeyboardButton(
            text=texts.forget_yes,
            callback_data=ForgetChoice(user_id=event_from_user.id, confirm=True).pack(),
        ),
        InlineKeyboardButton(
            text=texts.forget_no,
            callback_data=ForgetChoice(user_id=event_from_user.id, confirm=False).pack(),
        ),
    ]
    await delivery.send(
        message.chat.id,
        part_of(texts.forget_confirm),
        reply_to=reply_to(message),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons]),
    )


async def confirmed(
    callback: CallbackQuery,
    callback_data: ForgetChoice,
    event_from_user: User,
    api: WebAPI,
    delivery: Delivery,
    texts: Texts,
) -> None:
    """Delete on yes (and say how much went), nothing on no; only the asker may answer."""
    if event_from_user.id != callback_data.user_id:
        await delivery.answer_callback(callback.id, texts.forget_not_yours)
        return
    if callback_data.confirm:
        forgotten = await api.forget(event_from_user.id)
        text = texts.forget_done.format(
            dialogs=forgotten.dialogs_deleted, messages=forgotten.messages_deleted
        )
    else:
        text = texts.forget_cancelled
    if callback.message is not None:
        await delivery.edit(callback.message.chat.id, callback.message.message_id, part_of(text))
    else:
        await delivery.send(event_from_user.id, part_of(text))
    await delivery.answer_callback(callback.id)


def router() -> Router:
    """The forget handlers, on a router of their own."""
    handlers = Router(name="forget")
    handlers.message.filter(F.from_user)
    handlers.message.register(ask_to_confirm, Command("forget"))
    handlers.callback_query.register(confirmed, ForgetChoice.filter())
    return handlers
