"""Retention: a purge deletes what is older than the cutoff and leaves the figures exactly what
the remaining rows give (the rollups equal a rebuild from them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from tests.support import flask_cli, server_environment
from webapi.extensions import db
from webapi.models import Dialog, Message, User
from webapi.stats import rollups
from webapi.stats.retention import purge

START = datetime(2026, 10, 1, 9, 7, 30, 250_000, tzinfo=UTC)
DERIVED = (
    "SELECT * FROM stats_counts ORDER BY unit, slot, channel, role",
    "SELECT * FROM stats_users ORDER BY unit, slot, user_id",
    "SELECT * FROM stats_latency ORDER BY unit, metric, slot, bin",
    "SELECT id, message_count, last_message_at FROM dialogs ORDER BY id",
    "SELECT id, first_message_at FROM users ORDER BY id",
)


def derived(connection: sa.Connection) -> list[list[tuple[Any, ...]]]:
    return [[tuple(row) for row in connection.execute(sa.text(query))] for query in DERIVED]


def kept() -> list[list[tuple[Any, ...]]]:
    with db.engine.connect() as connection:
        return derived(connection)


def rebuilt() -> list[list[tuple[Any, ...]]]:
    """What a rebuild from the rows gives, without keeping it."""
    with db.engine.connect() as connection:
        with rollups.suspended(connection):
            rollups.rebuild(connection)
        found = derived(connection)
        connection.rollback()
    return found


def _seed() -> None:
    """Three users over ten days: one gone quiet (all old), one active throughout, one new;
    an open dialog that straddles the cutoff; an empty ended dialog; an empty open one."""
    quiet = User(telegram_id=1, first_seen_at=START, last_seen_at=START + timedelta(days=1))
    steady = User(telegram_id=2, first_seen_at=START, last_seen_at=START + timedelta(days=9))
    fresh = User(telegram_id=3, first_seen_at=START + timedelta(days=8), last_seen_at=START)
    db.session.add_all([quiet, steady, fresh])
    db.session.flush()

    def dialog(user: User, day: float, ended: float | None) -> Dialog:
        found = Dialog(
            user_id=user.id,
            chat_id=user.telegram_id,
            channel="telegram",
            mode="assistant",
            role="consultant",
            started_at=START + timedelta(days=day),
            ended_at=None if ended is None else START + timedelta(days=ended),
        )
        db.session.add(found)
        db.session.flush()
        return found

    def exchange(dialog: Dialog, day: float, latency: int) -> None:
        asked = START + timedelta(days=day)
        db.session.add(
            Message(dialog_id=dialog.id, role="user", content="q", length=1, created_at=asked)
        )
        db.session.add(
            Message(
                dialog_id=dialog.id,
                role="assistant",
                content="a",
                length=1,
                created_at=asked + timedelta(milliseconds=latency),
                latency_ms=latency,
                ttft_ms=latency // 4,
                prompt_tokens=10,
                completion_tokens=3,
            )
        )

    old = dialog(quiet, 0, 1.5)
    for day in (0, 0.3, 1.2):
        exchange(old, day, 1_200 + int(day * 100))
    straddling = dialog(steady, 0.5, None)
    for day in (0.5, 2.25, 4.0, 6.5, 8.75):
        exchange(straddling, day, 2_000 + int(day * 10))
    dialog(steady, 2, 3)  # empty, ended: goes
    later = dialog(fresh, 8, None)
    exchange(later, 8.1, 900)
    dialog(quiet, 1.5, None)  # empty, open: stays
    db.session.commit()


def test_a_purge_keeps_the_figures_exact_for_what_remains(app: Flask) -> None:
    with app.app_context():
        _seed()
        cutoff = START + timedelta(days=5, hours=3, minutes=20)
        purged = purge(cutoff)
        assert kept() == rebuilt()
        with db.engine.connect() as connection:
            oldest = connection.execute(
                sa.select(sa.func.count()).where(Message.created_at < cutoff)
            ).scalar()
            telegram_ids = (
                connection.execute(sa.select(User.telegram_id).order_by(User.telegram_id))
                .scalars()
                .all()
            )
            straddling = connection.execute(
                sa.select(Dialog.message_count)
                .where(Dialog.user_id.is_not(None))
                .where(Dialog.started_at == START + timedelta(days=0.5))
            ).scalar()
    assert oldest == 0
    # quiet: 3 exchanges; steady: 3 before the cutoff (days 0.5, 2.25, 4.0).
    assert (purged.messages, purged.dialogs, purged.users) == (12, 2, 0)
    assert telegram_ids == [1, 2, 3]  # quiet keeps an open (empty) dialog
    assert straddling == 4


def test_a_purge_deletes_users_left_with_nothing(app: Flask) -> None:
    with app.app_context():
        _seed()
        with db.engine.begin() as connection:  # the quiet user's empty open dialog ends
            connection.execute(
                sa.update(Dialog)
                .where(Dialog.ended_at.is_(None), Dialog.message_count == 0)
                .values(ended_at=START + timedelta(days=2))
            )
        purged = purge(START + timedelta(days=5))
        assert kept() == rebuilt()
        with db.engine.connect() as connection:
            left = connection.execute(sa.select(User.telegram_id).order_by(User.telegram_id))
            assert list(left.scalars()) == [2, 3]
    assert purged.users == 1


def test_purge_command(database_url: str, tmp_path: Any) -> None:
    env = server_environment(database_url, "http://127.0.0.1:9/v1")
    assert flask_cli(env, "db", "upgrade").returncode == 0
    done = flask_cli(env, "purge", "--older-than", "30")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("purged 0 messages, 0 dialogs and 0 users older than ")
    refused = flask_cli(env, "purge", "--older-than", "0")
    assert refused.returncode == 2
    assert "--older-than" in refused.stderr
