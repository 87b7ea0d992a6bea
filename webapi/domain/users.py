"""Telegram users: their profiles as the bot last saw them, and the role each one chose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from webapi.database import read_session, write_session
from webapi.errors import ApiError, ErrorCode
from webapi.models import User, utcnow


@dataclass(frozen=True)
class Profile:
    telegram_id: int
    username: str | None
    first_name: str | None
    last_name: str | None
    language_code: str | None
    role: str | None
    first_seen_at: datetime
    last_seen_at: datetime


PROFILE_FIELDS = ("username", "first_name", "last_name", "language_code")


def _profile(user: Any) -> Profile:
    return Profile(
        telegram_id=user.telegram_id,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        language_code=user.language_code,
        role=user.role,
        first_seen_at=user.first_seen_at,
        last_seen_at=user.last_seen_at,
    )


def not_found() -> ApiError:
    return ApiError(404, ErrorCode.USER_NOT_FOUND, "No such user; upsert the profile first.")


_users = User.__table__
# When a user was last seen is kept to this precision: a user who writes often is marked
# seen once a minute, not once per message.
SEEN_PRECISION = timedelta(minutes=1)
# Built once: these run for every message.
_IDENTIFY = sa.select(_users.c.id, _users.c.role).where(
    _users.c.telegram_id == sa.bindparam("user_telegram_id")
)
_MARK_SEEN = (
    sa.update(_users)
    .where(_users.c.id == sa.bindparam("user_id"))
    .values(last_seen_at=sa.bindparam("seen_at", type_=_users.c.last_seen_at.type))
)


def identify(session: Session, telegram_id: int) -> tuple[int, str | None]:
    """The user's row id and chosen role."""
    found = session.connection().execute(_IDENTIFY, {"user_telegram_id": telegram_id}).first()
    if found is None:
        raise not_found()
    return found.id, found.role


def mark_seen(connection: sa.Connection, user_id: int, last_seen_at: datetime) -> None:
    """Mark the user seen now, unless they were within SEEN_PRECISION."""
    now = utcnow()
    if now - last_seen_at >= SEEN_PRECISION:
        connection.execute(_MARK_SEEN, {"user_id": user_id, "seen_at": now})


def find(session: Session, telegram_id: int) -> User:
    """The user inside the caller's transaction; 404 when the bot never upserted them."""
    user: User | None = session.scalar(sa.select(User).where(User.telegram_id == telegram_id))
    if user is None:
        raise not_found()
    return user


def upsert(telegram_id: int, profile: dict[str, str | None]) -> Profile:
    """Create or update a profile in one statement; safe under concurrent calls and replicas."""
    now = utcnow()
    values = {name: profile.get(name) for name in PROFILE_FIELDS}
    with write_session() as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(User)
            .values(telegram_id=telegram_id, first_seen_at=now, last_seen_at=now, **values)
            .on_conflict_do_update(
                index_elements=[User.telegram_id], set_={"last_seen_at": now, **values}
            )
            .returning(User)
        )
        user = session.scalars(statement).one()
        return _profile(user)


def get(telegram_id: int) -> Profile:
    """A user's stored profile, read without waiting on writers."""
    with read_session() as session:
        return _profile(find(session, telegram_id))
