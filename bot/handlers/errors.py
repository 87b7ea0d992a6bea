"""What the user hears when a handler fails: webapi unreachable, or anything unexpected."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.api import ApiUnavailableError
from bot.delivery import Delivery, part_of
from bot.texts import texts_for

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, delivery: Delivery) -> None:
    """Apologise in the user's language; log the failure (never the message's text)."""
    exc = event.exception
    update = event.update
    if isinstance(exc, TelegramAPIError):
        log.warning("update %s: telegram refused the reply: %s", update.update_id, exc.message)
        return  # there is no way to tell the user
    if isinstance(exc, ApiUnavailableError):
        log.warning("update %s: webapi unavailable: %s", update.update_id, exc)
    else:
        log.error("update %s failed", update.update_id, exc_info=exc)
    message, callback = update.message, update.callback_query
    user = message.from_user if message is not None else callback.from_user if callback else None
    texts = texts_for(user.language_code if user else None)
    text = texts.api_unavailable if isinstance(exc, ApiUnavailableError) else texts.failed
    try:
        if callback is not None:
            await delivery.answer_callback(callback.id, text)
        chat_id = (
            message.chat.id
            if message is not None
            else callback.message.chat.id
            if callback is not None and callback.message is not None
            else None
        )
        if chat_id is not None:
            await delivery.send(chat_id, part_of(text))
    except TelegramAPIError as failure:
        log.warning("update %s: the apology failed too: %s", update.update_id, failure.message)


def router() -> Router:
    """The errors handlers, on a router of their own."""
    handlers = Router(name="errors")
    handlers.errors.register(on_error)
    return handlers
