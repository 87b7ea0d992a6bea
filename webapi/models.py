"""The database: Telegram users, console accounts, dialogs and their messages."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapi.extensions import db


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC; always hands back aware datetimes (SQLite would return naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WEB = "web"


class Mode(StrEnum):
    ASSISTANT = "assistant"
    INSIGHTS = "insights"


class Author(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class Status(StrEnum):
    PENDING = "pending"
    OK = "ok"
    ERROR = "error"


def _one_of(column: str, enum: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class User(db.Model):  # type: ignore[name-defined,misc]
    """A Telegram user, as last seen by the bot."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(sa.String(64))
    first_name: Mapped[str | None] = mapped_column(sa.String(255))
    last_name: Mapped[str | None] = mapped_column(sa.String(255))
    language_code: Mapped[str | None] = mapped_column(sa.String(35))
    role: Mapped[str | None] = mapped_column(sa.String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Derived, kept exact by the statistics triggers (webapi/stats/rollups.py): when the user's
    # earliest message still stored was written. New users in a window are counted by it.
    first_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Account(db.Model):  # type: ignore[name-defined,misc]
    """A console login."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Disabled by an admin: cannot sign in, and its sessions are over (its dialogs stay).
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleSession(db.Model):  # type: ignore[name-defined,misc]
    """A signed-in console session; the cookie carries its token, the table its hash.

    Kept server-side so that signing out (or expiry) ends it for good, even for a copied cookie.
    """

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class Dialog(db.Model):  # type: ignore[name-defined,misc]
    """One conversation of a user or an account; /reset ends it and a new one starts."""

    __tablename__ = "dialogs"
    __table_args__ = (
        sa.CheckConstraint("(user_id IS NULL) <> (account_id IS NULL)", name="one_owner"),
        sa.CheckConstraint(_one_of("channel", Channel), name="channel"),
        sa.CheckConstraint(_one_of("mode", Mode), name="mode"),
        # At most one open dialog per Telegram user, chat, channel and mode, even under
        # concurrent requests: a user's private chat and each group they write in are apart.
        # (A console account keeps any number and continues whichever it opens, by id.)
        sa.Index(
            "uq_dialogs_open_user",
            "user_id",
            "chat_id",
            "channel",
            "mode",
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
        # The dashboard's dialog list: a window's dialogs sorted on any of these, from the
        # index alone.
        sa.Index(
            "ix_dialogs_started_at_listing", "started_at", "message_count", "last_message_at", "id"
        ),
        # A user's dialogs (the foreign key's cascade), and those of a window that have a
        # message (top users), counted from the index alone.
        sa.Index("ix_dialogs_user_id_started_at_count", "user_id", "started_at", "message_count"),
        # The window's dialogs by message count, where the window is a large share of all.
        sa.Index("ix_dialogs_message_count", "message_count", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # The Telegram chat (the private chat's id is the user's); none for console dialogs.
    chat_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    channel: Mapped[str] = mapped_column(sa.String(16))
    mode: Mapped[str] = mapped_column(sa.String(16))
    role: Mapped[str] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Derived, kept exact by the statistics triggers (webapi/stats/rollups.py).
    message_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User | None] = relationship()
    account: Mapped[Account | None] = relationship()


# A question still waiting for its answer. Spelled with literals, here and in the queries that
# look for one, so that both databases may answer those from the small partial index below.
PENDING_QUESTION_SQL = "role = 'user' AND status = 'pending'"
PENDING_QUESTION_INDEX = "uq_messages_pending_question"
IDEMPOTENCY_KEY_INDEX = "uq_messages_idempotency_key"
# An answer delivered, as the dashboard counts it; literals for the partial indexes' sake.
DELIVERED_ANSWER_SQL = "role = 'assistant' AND status = 'ok'"


class Message(db.Model):  # type: ignore[name-defined,misc]
    """One turn of a dialog; assistant turns carry the LLM call's figures."""

    __tablename__ = "messages"
    __table_args__ = (
        sa.CheckConstraint(_one_of("role", Author), name="role"),
        sa.CheckConstraint(_one_of("status", Status), name="status"),
        # The context window reads a dialog's newest turns; the dashboard scans by time.
        sa.Index("ix_messages_dialog_id_id", "dialog_id", "id"),
        sa.Index("ix_messages_created_at_role", "created_at", "role"),
        # One question at a time per dialog, across workers and replicas: a second one waits
        # until the first is answered (or failed), so turns never interleave.
        sa.Index(
            PENDING_QUESTION_INDEX,
            "dialog_id",
            unique=True,
            sqlite_where=sa.text(PENDING_QUESTION_SQL),
            postgresql_where=sa.text(PENDING_QUESTION_SQL),
        ),
        sa.Index(IDEMPOTENCY_KEY_INDEX, "idempotency_key", unique=True),
        # The dashboard's percentiles: a window's delivered answers by time (the edges of a
        # window, binned), then by value within one bin (the exact rank). Partial: answers only.
        sa.Index(
            "ix_messages_answers_created_at",
            "created_at",
            "latency_ms",
            "ttft_ms",
            sqlite_where=sa.text(DELIVERED_ANSWER_SQL),
            postgresql_where=sa.text(DELIVERED_ANSWER_SQL),
        ),
        sa.Index(
            "ix_messages_answers_latency_ms",
            "latency_ms",
            "created_at",
            sqlite_where=sa.text(DELIVERED_ANSWER_SQL),
            postgresql_where=sa.text(DELIVERED_ANSWER_SQL),
        ),
        sa.Index(
            "ix_messages_answers_ttft_ms",
            "ttft_ms",
            "created_at",
            sqlite_where=sa.text(DELIVERED_ANSWER_SQL),
            postgresql_where=sa.text(DELIVERED_ANSWER_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dialog_id: Mapped[int] = mapped_column(sa.ForeignKey("dialogs.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.Text)
    length: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(16), default=Status.OK)
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    model: Mapped[str | None] = mapped_column(sa.String(255))
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    ttft_ms: Mapped[int | None]
    latency_ms: Mapped[int | None]
    sql: Mapped[str | None] = mapped_column(sa.Text)
    # An Insights answer's result as shown: columns, rows, truncated flag and chart.
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # A question's key from its client (the bot: chat and Telegram message id): a question is
    # stored at most once per key, whatever is redelivered or retried.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(128))

    dialog: Mapped[Dialog] = relationship()


def pending_question() -> sa.ColumnElement[bool]:
    """Messages that are questions waiting for their answer (see PENDING_QUESTION_SQL)."""
    return sa.and_(
        Message.role == sa.literal_column(f"'{Author.USER.value}'"),
        Message.status == sa.literal_column(f"'{Status.PENDING.value}'"),
    )


class RateLimitCounter(db.Model):  # type: ignore[name-defined,misc]
    """One fixed-window counter of the sign-in limits, shared by every worker and replica.

    The key is a hash of the limit and what it counts (client, username): attempted names are
    not kept in clear.
    """

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[float] = mapped_column(sa.Float(precision=53), index=True)


# --- statistics rollups -------------------------------------------------------------------------
# Derived from users, dialogs and messages and kept exact on every write by database triggers
# (webapi/stats/rollups.py holds them, how the rows are computed, and the rebuild). Each holds
# its figures per slot of several units (quarter hour, hour, day: `unit` in seconds, `slot` the
# whole units since 1970, UTC). Without rowids on SQLite: each table is read in the order of
# its primary key, as a covering index.


class StatsCount(db.Model):  # type: ignore[name-defined,misc]
    """Counts per slot, channel and role."""

    __tablename__ = "stats_counts"
    __table_args__ = ({"sqlite_with_rowid": False},)

    unit: Mapped[int] = mapped_column(primary_key=True)
    slot: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    dialogs: Mapped[int] = mapped_column(sa.BigInteger)  # started, with a message
    user_messages: Mapped[int] = mapped_column(sa.BigInteger)
    assistant_messages: Mapped[int] = mapped_column(sa.BigInteger)  # delivered answers
    answers: Mapped[int] = mapped_column(sa.BigInteger)  # questions settled, at question time
    failed: Mapped[int] = mapped_column(sa.BigInteger)
    interrupted: Mapped[int] = mapped_column(sa.BigInteger)
    cancelled: Mapped[int] = mapped_column(sa.BigInteger)
    prompt_tokens: Mapped[int] = mapped_column(sa.BigInteger)
    completion_tokens: Mapped[int] = mapped_column(sa.BigInteger)


class StatsUser(db.Model):  # type: ignore[name-defined,misc]
    """Which Telegram users wrote in a slot, how many messages, and the slot they wrote in
    before: the users active in a range of slots are its rows whose previous slot lies before
    the range (a count, where a DISTINCT would sort)."""

    __tablename__ = "stats_users"
    __table_args__ = (
        sa.Index("ix_stats_users_unit_user_id_slot", "unit", "user_id", "slot"),
        sa.Index("ix_stats_users_unit_slot_prev_slot", "unit", "slot", "prev_slot"),
        {"sqlite_with_rowid": False},
    )

    unit: Mapped[int] = mapped_column(primary_key=True)
    slot: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True)
    messages: Mapped[int] = mapped_column(sa.BigInteger)
    prev_slot: Mapped[int | None] = mapped_column(sa.BigInteger)


class StatsLatency(db.Model):  # type: ignore[name-defined,misc]
    """Histograms of delivered answers' latency (metric 0) and time to first token (metric 1)
    per slot, in the bins of webapi/stats/rollups.py; metrics 2 and 3 hold the same in coarse
    bins (eight bins each)."""

    __tablename__ = "stats_latency"
    __table_args__ = ({"sqlite_with_rowid": False},)

    unit: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    slot: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    bin: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(sa.BigInteger)
