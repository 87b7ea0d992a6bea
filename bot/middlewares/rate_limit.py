"""A per-user rate limit on messages (BOT_RATE_LIMIT), counted in this process."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, User

from bot.delivery import Delivery, part_of
from bot.middlewares.update_log import UpdateLog
from bot.settings import RateLimit
from bot.texts import Texts

# Users whose windows are empty are dropped once this many are tracked.
PRUNE_AT = 10_000


class RateLimiter:
    """A sliding window per user: at most `count` messages in any `period_s` seconds."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._hits: dict[int, deque[float]] = {}
        self._told_until: dict[int, float] = {}

    def hit(self, user_id: int) -> float:
        """Count a message: 0 if it is allowed, else the seconds until one will be."""
        now = time.monotonic()
        hits = self._hits.get(user_id)
        if hits is None:
            if len(self._hits) >= PRUNE_AT:
                self._prune(now)
            hits = self._hits[user_id] = deque()
        horizon = now - self.limit.period_s
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) < self.limit.count:
            hits.append(now)
            return 0.0
        return hits[0] - horizon

    def should_tell(self, user_id: int, wait_s: float) -> bool:
        """Whether to say the user is limited: once per stretch of ignored messages."""
        now = time.monotonic()
        if self._told_until.get(user_id, 0.0) > now:
            return False
        self._told_until[user_id] = now + wait_s
        return True

    def _prune(self, now: float) -> None:
        horizon = now - self.limit.period_s
        for user_id, hits in list(self._hits.items()):
            if not hits or hits[-1] <= horizon:
                del self._hits[user_id]
        for user_id, until in list(self._told_until.items()):
            if until <= now:
                del self._told_until[user_id]


class RateLimitMiddleware(BaseMiddleware):
    """Inner middleware on messages the bot would answer: over the limit, say so once."""

    def __init__(self, limiter: RateLimiter, delivery: Delivery) -> None:
        self.limiter = limiter
        self.delivery = delivery

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Message):
            return await handler(event, data)
        wait = self.limiter.hit(user.id)
        if wait <= 0:
            return await handler(event, data)
        entry: UpdateLog | None = data.get("update_log")
        if entry is not None:
            entry.outcome = "rate_limited"
        if self.limiter.should_tell(user.id, wait):
            texts: Texts = data["texts"]
            limit = self.limiter.limit
            period = texts.periods.get(limit.period_s, f"{limit.period_s:g} s")
            text = texts.rate_limited.format(count=limit.count, period=period, wait=math.ceil(wait))
            await self.delivery.send(event.chat.id, part_of(text), reply_to=event.message_id)
        return None
