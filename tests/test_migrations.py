"""Migrations build the schema the models describe, on SQLite and PostgreSQL, and undo it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade

from tests.doubles.fake_llm import FakeLLM
from tests.support import started_app
from webapi import MIGRATIONS_DIR
from webapi.database import migration_head
from webapi.extensions import db

TABLES = {
    "users",
    "accounts",
    "console_sessions",
    "dialogs",
    "messages",
    "rate_limit_counters",
    "stats_counts",
    "stats_users",
    "stats_latency",
}


def test_migrations_have_a_single_head() -> None:
    assert len(ScriptDirectory(MIGRATIONS_DIR).get_heads()) == 1


def test_upgrade_matches_the_models_and_downgrade_empties(
    database_url: str, fake_llm: FakeLLM
) -> None:
    with started_app(database_url, fake_llm.base_url) as app, app.app_context():
        assert set(sa.inspect(db.engine).get_table_names()) == set()

        upgrade()
        assert set(sa.inspect(db.engine).get_table_names()) == TABLES | {"alembic_version"}
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []

        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}

        upgrade()  # and again from empty, as a fresh deployment would
        assert set(sa.inspect(db.engine).get_table_names()) == TABLES | {"alembic_version"}


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(
    sqlite_url: str, fake_llm: FakeLLM
) -> None:
    with (
        started_app(sqlite_url, fake_llm.base_url) as app,
        app.app_context(),
        db.engine.connect() as connection,
    ):
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == 0, "writers wait for the lock in webapi, cooperatively"
        assert pragma("foreign_keys") == 1


def test_schema_refuses_a_dialog_with_two_owners(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        user = connection.execute(
            sa.text(
                "INSERT INTO users (telegram_id, first_seen_at, last_seen_at) "
                "VALUES (1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
            )
        ).scalar_one()
        account = connection.execute(
            sa.text(
                "INSERT INTO accounts (username, password_hash, is_admin, created_at) "
                "VALUES ('a', 'x', false, CURRENT_TIMESTAMP) RETURNING id"
            )
        ).scalar_one()
        connection.commit()
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(
                sa.text(
                    "INSERT INTO dialogs (user_id, account_id, channel, mode, role, started_at)"
                    " VALUES (:u, :a, 'web', 'assistant', 'consultant', CURRENT_TIMESTAMP)"
                ),
                {"u": user, "a": account},
            )


def test_schema_refuses_a_message_of_no_dialog(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
        connection.execute(
            sa.text(
                "INSERT INTO messages (dialog_id, role, content, length, created_at, status)"
                " VALUES (12345, 'user', 'hi', 2, CURRENT_TIMESTAMP, 'ok')"
            )
        )


def _insert_question(connection: sa.Connection, dialog: int, status: str) -> int:
    found: int = connection.execute(
        sa.text(
            "INSERT INTO messages (dialog_id, role, content, length, created_at, status)"
            " VALUES (:d, 'user', 'q', 1, CURRENT_TIMESTAMP, :s) RETURNING id"
        ),
        {"d": dialog, "s": status},
    ).scalar_one()
    return found


def _insert_dialogs(connection: sa.Connection, count: int) -> list[int]:
    user = connection.execute(
        sa.text(
            "INSERT INTO users (telegram_id, first_seen_at, last_seen_at) "
            "VALUES (1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
        )
    ).scalar_one()
    return [
        connection.execute(
            sa.text(
                "INSERT INTO dialogs (user_id, channel, mode, role, started_at, ended_at)"
                " VALUES (:u, 'telegram', 'assistant', 'consultant', CURRENT_TIMESTAMP,"
                " CASE WHEN :last THEN NULL ELSE CURRENT_TIMESTAMP END) RETURNING id"
            ),
            {"u": user, "last": n == count - 1},
        ).scalar_one()
        for n in range(count)
    ]


def test_schema_allows_one_pending_question_per_dialog(app: Flask) -> None:
    """The guarantee behind answering a dialog's messages in turn, across workers and replicas."""
    with app.app_context(), db.engine.connect() as connection:
        first, second = _insert_dialogs(connection, 2)
        _insert_question(connection, first, "ok")
        _insert_question(connection, first, "error")
        _insert_question(connection, first, "pending")
        _insert_question(connection, second, "pending")
        connection.commit()
        with pytest.raises(sa.exc.IntegrityError):
            _insert_question(connection, first, "pending")


def test_upgrade_settles_all_but_the_newest_pending_question_of_a_dialog(
    database_url: str, fake_llm: FakeLLM
) -> None:
    """Databases written before one-at-a-time answers may hold several pending questions in a
    dialog: the migration marks the older ones interrupted, then adds the index."""
    with started_app(database_url, fake_llm.base_url) as app, app.app_context():
        upgrade(revision="0003")
        with db.engine.connect() as connection:
            first, second = _insert_dialogs(connection, 2)
            older = [_insert_question(connection, first, "pending") for _ in range(2)]
            newest = _insert_question(connection, first, "pending")
            alone = _insert_question(connection, second, "pending")
            connection.commit()

        upgrade()

        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, status, error_code FROM messages"))
            statuses = {row.id: (row.status, row.error_code) for row in rows}
        assert statuses == {
            older[0]: ("error", "interrupted"),
            older[1]: ("error", "interrupted"),
            newest: ("pending", None),
            alone: ("pending", None),
        }
        downgrade(revision="0003")
        assert "uq_messages_pending_question" not in {
            index["name"] for index in sa.inspect(db.engine).get_indexes("messages")
        }


def test_upgrade_puts_earlier_telegram_dialogs_in_the_private_chat(
    database_url: str, fake_llm: FakeLLM
) -> None:
    """Before dialogs were kept per chat, a user's dialogs were their private chat's."""
    with started_app(database_url, fake_llm.base_url) as app, app.app_context():
        upgrade(revision="0004")
        with db.engine.connect() as connection:
            ended, still_open = _insert_dialogs(connection, 2)
            connection.commit()

        upgrade()

        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, chat_id FROM dialogs ORDER BY id"))
            assert [tuple(row) for row in rows] == [(ended, 1), (still_open, 1)]
        downgrade(revision="0004")
        assert "chat_id" not in {c["name"] for c in sa.inspect(db.engine).get_columns("dialogs")}


def test_readiness_waits_for_the_migrations(database_url: str, fake_llm: FakeLLM) -> None:
    with started_app(database_url, fake_llm.base_url) as app:
        client = app.test_client()

        before = client.get("/api/v1/health/ready")
        assert before.status_code == 503
        assert before.get_json() == {
            "status": "not_ready",
            "database": "ok",
            "migrations": "behind",
            "revision": None,
            "head": migration_head(MIGRATIONS_DIR),
        }

        with app.app_context():
            upgrade()
        after = client.get("/api/v1/health/ready")
        assert after.status_code == 200
        assert after.get_json()["status"] == "ready"
        assert client.get("/api/v1/health").get_json() == {"status": "ok"}


def test_readiness_reports_an_unreachable_database(fake_llm: FakeLLM) -> None:
    url = "postgresql+psycopg://nobody:wrong@127.0.0.1:1/none"
    with started_app(url, fake_llm.base_url) as app:
        response = app.test_client().get("/api/v1/health/ready")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
