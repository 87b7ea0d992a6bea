"""Retention: `flask --app webapi purge --older-than DAYS` deletes what is older, and leaves every
figure exactly what the rows that remain give.

A purge deletes the messages written before the cutoff, then the dialogs left empty that had
ended by then, then the Telegram users left with no dialog who were last seen before it (their
profile is personal data too). It walks from the oldest day to the cutoff a day at a time, one
short transaction each, so that answers keep being stored meanwhile; with the triggers off, it
puts right the derived data that those rows touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from webapi.database import read_session, write_session
from webapi.models import UTCDateTime, utcnow
from webapi.stats import rollups

STEP = timedelta(days=1)


@dataclass
class Purged:
    messages: int = 0
    dialogs: int = 0
    users: int = 0


def purge_before(connection: sa.Connection, cutoff: datetime) -> Purged:
    """Within the caller's transaction: delete what is older than `cutoff`."""
    moment = sa.bindparam("cutoff", cutoff, type_=UTCDateTime())

    def run(sql: str) -> int:
        return connection.execute(sa.text(sql).bindparams(moment)).rowcount

    with rollups.suspended(connection):
        # Derived data of what stays, computed before the old rows go.
        run(
            "UPDATE dialogs SET message_count = (SELECT COUNT(*) FROM messages m"
            " WHERE m.dialog_id = dialogs.id AND m.created_at >= :cutoff),"
            " last_message_at = (SELECT MAX(m.created_at) FROM messages m"
            " WHERE m.dialog_id = dialogs.id AND m.created_at >= :cutoff)"
            " WHERE id IN (SELECT dialog_id FROM messages WHERE created_at < :cutoff)"
        )
        run(
            "UPDATE users SET first_message_at = (SELECT MIN(m.created_at) FROM messages m"
            " JOIN dialogs d ON d.id = m.dialog_id WHERE d.user_id = users.id"
            " AND m.role = 'user' AND m.created_at >= :cutoff) WHERE first_message_at < :cutoff"
        )
        purged = Purged(messages=run("DELETE FROM messages WHERE created_at < :cutoff"))
        purged.dialogs = run(
            "DELETE FROM dialogs WHERE message_count = 0 AND ended_at < :cutoff"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.dialog_id = dialogs.id)"
        )
        purged.users = run(
            "DELETE FROM users WHERE last_seen_at < :cutoff"
            " AND NOT EXISTS (SELECT 1 FROM dialogs d WHERE d.user_id = users.id)"
        )
        rollups.rebuild_rollups(connection, before=cutoff)
    return purged


def oldest_message() -> datetime | None:
    with read_session(fresh=True) as session:
        oldest: datetime | None = session.execute(
            sa.text("SELECT MIN(created_at) FROM messages").columns(
                sa.column("oldest", UTCDateTime())
            )
        ).scalar()
    return oldest


def purge(cutoff: datetime) -> Purged:
    """Delete everything older than `cutoff`, oldest day first, a transaction a day."""
    total = Purged()
    oldest = oldest_message()
    if oldest is None:
        return total
    step = oldest + STEP
    while True:
        step = min(step, cutoff)
        with write_session() as session:
            done = purge_before(session.connection(), step)
        total.messages += done.messages
        total.dialogs += done.dialogs
        total.users += done.users
        if step >= cutoff:
            return total
        step += STEP


@click.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    required=True,
    help="Delete dialogs and messages older than this many days.",
)
@with_appcontext
def purge_command(days: int) -> None:
    """Delete messages older than DAYS days, the dialogs and users left with none, and keep the
    dashboard's figures exact for what remains."""
    cutoff = utcnow() - timedelta(days=days)
    purged = purge(cutoff)
    click.echo(
        f"purged {purged.messages:,} messages, {purged.dialogs:,} dialogs and"
        f" {purged.users:,} users older than {cutoff:%Y-%m-%d %H:%M} UTC"
    )


@click.command("stats-rebuild")
@with_appcontext
def stats_rebuild_command() -> None:
    """Compute the dashboard's rollups again from the rows (they are kept exact on every write;
    this is for after a restore, or data changed with the triggers off)."""
    with write_session() as session:
        connection = session.connection()
        with rollups.suspended(connection):
            rollups.rebuild(connection)
    click.echo("statistics rebuilt")
