"""One structured log line per update: who, what (command or length), how long, outcome.

Message text is never logged at INFO, and tokens never at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update

log = logging.getLogger("bot.updates")


@dataclass(slots=True)
class UpdateLog:
    """What the log line says of one update; handlers set `outcome` when it says more."""

    update_id: int
    kind: str
    user_id: int | None = None
    chat_id: int | None = None
    command: str | None = None
    length: int | None = None
    outcome: str | None = None

    @classmethod
    def of(cls, update: Update) -> UpdateLog:
        entry = cls(update.update_id, update.event_type)
        message, callback = update.message, update.callback_query
        if message is not None:
            entry.chat_id = message.chat.id
            entry.user_id = message.from_user.id if message.from_user else None
            text = message.text or message.caption or ""
            if text.startswith("/"):
                entry.command = text.split(maxsplit=1)[0].split("@", 1)[0]
            else:
                entry.length = len(text)
        elif callback is not None:
            entry.user_id = callback.from_user.id
            entry.chat_id = callback.message.chat.id if callback.message else None
            entry.command = f"button:{(callback.data or '').split(':', 1)[0]}"
        return entry

    def line(self, latency_ms: float) -> str:
        fields = [
            f"update={self.update_id}",
            f"kind={self.kind}",
            f"user={self.user_id}",
            f"chat={self.chat_id}",
        ]
        if self.command is not None:
            fields.append(f"command={self.command}")
        if self.length is not None:
            fields.append(f"length={self.length}")
        fields.append(f"latency_ms={latency_ms:.1f}")
        fields.append(f"outcome={self.outcome}")
        return " ".join(fields)


class UpdateLogMiddleware(BaseMiddleware):
    """Outer middleware on updates: hands an UpdateLog to the handlers, logs it at the end."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        entry = data["update_log"] = UpdateLog.of(event)
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except Exception as exc:
            entry.outcome = entry.outcome or f"failed:{type(exc).__name__}"
            raise
        else:
            if entry.outcome is None:
                entry.outcome = "ignored" if result is UNHANDLED else "ok"
            return result
        finally:
            log.info(entry.line((time.perf_counter() - started) * 1000))
