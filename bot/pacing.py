"""Per-chat pacing of messages and edits, within Telegram's flood limits.

Telegram allows about one message a second in a chat and 20 a minute in a group (edits count);
a short burst passes. A token bucket per chat keeps to that, and a 429's retry_after blocks the
chat until it has passed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

PRIVATE_RATE = 1.0  # messages per second
GROUP_RATE = 20 / 60
BURST = 3
# Idle buckets are dropped once there are this many (a bucket that is full holds nothing).
PRUNE_AT = 10_000


@dataclass(slots=True)
class _Bucket:
    rate: float
    tokens: float
    updated: float
    blocked_until: float = 0.0

    def refill(self, now: float) -> None:
        self.tokens = min(BURST, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a token may be taken (0: now)."""
        self.refill(now)
        return max(self.blocked_until - now, (1 - self.tokens) / self.rate, 0.0)


class ChatPacer:
    """Token buckets per chat: private chats 1/s, groups 20/min, bursts of 3."""

    def __init__(self, private_rate: float = PRIVATE_RATE, group_rate: float = GROUP_RATE) -> None:
        self.private_rate = private_rate
        self.group_rate = group_rate
        self._buckets: dict[int, _Bucket] = {}

    def _bucket(self, chat_id: int, now: float) -> _Bucket:
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            if len(self._buckets) >= PRUNE_AT:
                self._prune(now)
            # Private chats have positive ids (the user's); groups and channels negative ones.
            rate = self.private_rate if chat_id > 0 else self.group_rate
            bucket = self._buckets[chat_id] = _Bucket(rate, BURST, now)
        return bucket

    def _prune(self, now: float) -> None:
        for chat_id, bucket in list(self._buckets.items()):
            if bucket.wait(now) == 0 and bucket.tokens >= BURST:
                del self._buckets[chat_id]

    async def take(self, chat_id: int) -> None:
        """Wait for the chat's turn, then use it."""
        while True:
            now = time.monotonic()
            bucket = self._bucket(chat_id, now)
            wait = bucket.wait(now)
            if wait <= 0:
                bucket.tokens -= 1
                return
            await asyncio.sleep(wait)

    def try_take(self, chat_id: int) -> bool:
        """Use the chat's turn if it is free now; False (nothing used) otherwise."""
        now = time.monotonic()
        bucket = self._bucket(chat_id, now)
        if bucket.wait(now) > 0:
            return False
        bucket.tokens -= 1
        return True

    def block(self, chat_id: int, seconds: float) -> None:
        """Telegram said to wait: nothing goes to the chat for `seconds`."""
        now = time.monotonic()
        bucket = self._bucket(chat_id, now)
        bucket.blocked_until = max(bucket.blocked_until, now + seconds)

    def blocked(self, chat_id: int) -> bool:
        """Whether a 429's wait is still running for the chat."""
        bucket = self._buckets.get(chat_id)
        return bucket is not None and bucket.blocked_until > time.monotonic()
