"""Rate limits that hold across gunicorn workers and replicas: sign-in attempts and console
chat messages.

Counted in the database by default (no extra service); in Redis or Memcached when
RATELIMIT_STORAGE_URI names one (`memory://` counts per process: tests and one-worker setups).
Two fixed windows per attempt: one per client and username (LOGIN_RATE_LIMIT), so that one
person's wrong passwords do not lock out everyone behind the same address, and a looser one
per client (LOGIN_CLIENT_RATE_LIMIT) against guessing across names. Console chat messages: one
fixed window per account (CHAT_RATE_LIMIT), Assistant and Insights together.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass

import sqlalchemy as sa
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.dialects import postgresql, sqlite

from webapi.database import read_session, write_session
from webapi.models import RateLimitCounter

# Expired counters are deleted now and then, by the writes themselves.
PURGE_CHANCE = 0.01


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class DatabaseStorage(Storage):
    """A `limits` storage over the rate_limit_counters table (fixed windows only)."""

    STORAGE_SCHEME = None  # built directly, never from a URI

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        table = RateLimitCounter.__table__
        with write_session() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            expired = table.c.expires_at <= now
            statement = (
                insert(table)
                .values(key=_hashed(key), count=amount, expires_at=now + expiry)
                .on_conflict_do_update(
                    index_elements=[table.c.key],
                    set_={
                        "count": sa.case((expired, amount), else_=table.c.count + amount),
                        "expires_at": sa.case((expired, now + expiry), else_=table.c.expires_at),
                    },
                )
                .returning(table.c.count)
            )
            count: int = session.execute(statement).scalar_one()
            if random.random() < PURGE_CHANCE:  # noqa: S311 (not security: housekeeping)
                session.execute(sa.delete(table).where(table.c.expires_at <= now))
        return count

    def _live(self, key: str) -> RateLimitCounter | None:
        with read_session(fresh=True) as session:
            counter: RateLimitCounter | None = session.get(RateLimitCounter, _hashed(key))
        if counter is None or counter.expires_at <= time.time():
            return None
        return counter

    def get(self, key: str) -> int:
        counter = self._live(key)
        return 0 if counter is None else counter.count

    def get_expiry(self, key: str) -> float:
        counter = self._live(key)
        return time.time() if counter is None else counter.expires_at

    def check(self) -> bool:
        with read_session(fresh=True) as session:
            session.execute(sa.select(1))
        return True

    def reset(self) -> int | None:
        with write_session() as session:
            deleted = session.execute(sa.delete(RateLimitCounter))
        return int(deleted.rowcount)  # type: ignore[attr-defined]

    def clear(self, key: str) -> None:
        with write_session() as session:
            session.execute(sa.delete(RateLimitCounter).where(RateLimitCounter.key == _hashed(key)))


@dataclass(frozen=True)
class Refusal:
    """A refused attempt: how long until the window that refused it ends."""

    retry_after_s: int


def _limiter(storage_uri: str | None) -> FixedWindowRateLimiter:
    storage = DatabaseStorage() if storage_uri is None else storage_from_string(storage_uri)
    return FixedWindowRateLimiter(storage)


def _refusal(
    limiter: FixedWindowRateLimiter, refused: list[tuple[RateLimitItem, tuple[str, ...]]]
) -> Refusal:
    resets = [limiter.get_window_stats(item, *keys).reset_time for item, keys in refused]
    return Refusal(max(1, math.ceil(max(resets) - time.time())))


class LoginLimits:
    """The sign-in limits of one app."""

    def __init__(self, per_client_and_name: str, per_client: str, storage_uri: str | None) -> None:
        self._limiter = _limiter(storage_uri)
        self._per_name = parse(per_client_and_name)
        self._per_client = parse(per_client)

    def attempt(self, client: str, username: str) -> Refusal | None:
        """Count one sign-in attempt; a Refusal when a limit is spent (until its window ends)."""
        checks: list[tuple[RateLimitItem, tuple[str, ...]]] = [
            (self._per_name, ("login", client, username)),
            (self._per_client, ("login", client)),
        ]
        refused = [(item, keys) for item, keys in checks if not self._limiter.hit(item, *keys)]
        return _refusal(self._limiter, refused) if refused else None


class ChatLimit:
    """The console chat's limit: messages per account."""

    def __init__(self, per_account: str, storage_uri: str | None) -> None:
        self._limiter = _limiter(storage_uri)
        self._per_account = parse(per_account)

    def attempt(self, account_id: int) -> Refusal | None:
        """Count one message; a Refusal when the account's window is spent."""
        keys = ("chat", str(account_id))
        if self._limiter.hit(self._per_account, *keys):
            return None
        return _refusal(self._limiter, [(self._per_account, keys)])
