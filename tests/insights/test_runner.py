"""Insights queries on real databases: real analytics run; attacks, guarded or not, leave the
database as it was; the connection itself refuses writes (and, on SQLite and under a read-only
PostgreSQL role, reads outside the allow-list); the time limit stops a query; rows are capped."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.doubles.fake_llm import FakeLLM
from tests.insights.corpus import ADVERSARIAL, BENIGN, SLOW_BUT_GUARDED
from tests.insights.readme import role_statements
from tests.insights.support import TIMEOUT_S, Seeded, checksum
from tests.insights.test_guard import text_for
from tests.support import dispose_app, make_app, make_settings, scratch_postgres_database
from webapi.insights.guard import MAX_ROWS, UnsafeQueryError, guard_sql
from webapi.insights.runner import (
    MAX_CELL_CHARS,
    QueryFailedError,
    QueryTimedOutError,
    create_insights_engine,
    json_value,
    run_query,
)


def test_real_analytics_run_on_both_databases(seeded: Seeded) -> None:
    answered = {}
    for name, query in BENIGN.items():
        result = run_query(
            seeded.engine, guard_sql(text_for(query, seeded.dialect), seeded.dialect)
        )
        assert len(result.rows) <= MAX_ROWS, name
        assert all(len(row) == len(result.columns) for row in result.rows), name
        answered[name] = result
    assert answered["count users"].rows == [[25]]
    assert answered["limit over the cap"].rows[:3] == [[1], [2], [3]]
    assert not answered["limit over the cap"].truncated


def test_attacks_leave_the_database_as_it_was(seeded: Seeded) -> None:
    """Every attack through the guard and then, refused or not, as its raw text straight to
    the connection (as if the guard were wrong): nothing changes."""
    before = checksum(seeded.url)
    for name, query in ADVERSARIAL.items():
        text = text_for(query, seeded.dialect)
        try:
            guarded = guard_sql(text, seeded.dialect)
        except UnsafeQueryError:
            pass
        else:
            if name in SLOW_BUT_GUARDED:
                with pytest.raises(QueryTimedOutError):
                    run_query(seeded.engine, guarded)
            else:
                assert len(run_query(seeded.engine, guarded).rows) <= MAX_ROWS, name
        if text.strip():
            with contextlib.suppress(QueryFailedError):
                run_query(seeded.engine, text)
    assert checksum(seeded.url) == before


WRITES = [
    "DELETE FROM messages",
    "UPDATE users SET username = 'owned'",
    "INSERT INTO users (telegram_id, first_seen_at, last_seen_at) VALUES (1, '2026-01-01',"
    " '2026-01-01')",
    "CREATE TABLE stolen (a INT)",
    "DROP TABLE messages",
]


@pytest.mark.parametrize("sql", WRITES)
def test_the_connection_refuses_writes(seeded: Seeded, sql: str) -> None:
    with pytest.raises(QueryFailedError):
        run_query(seeded.engine, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT password_hash FROM accounts",
        "SELECT sql FROM sqlite_master",
        "SELECT * FROM stats_counts",
        "SELECT readfile('/etc/passwd')",
        "SELECT load_extension('/tmp/x.so')",
        "PRAGMA query_only = OFF",
        "ATTACH DATABASE ':memory:' AS other",
        "SELECT * FROM pragma_table_info('accounts')",
    ],
)
def test_sqlite_refuses_reads_outside_the_allow_list(tmp_path: Path, sql: str) -> None:
    """SQLite's authorizer is the second wall: what the guard would refuse, the connection
    refuses too."""
    path = tmp_path / "aidd.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE users (id INTEGER PRIMARY KEY);"
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, password_hash TEXT);"
            "CREATE TABLE stats_counts (n INTEGER);"
            "INSERT INTO accounts VALUES (1, 'secret');"
        )
    engine = create_insights_engine(f"sqlite:///{path}", TIMEOUT_S)
    try:
        with pytest.raises(QueryFailedError):
            run_query(engine, sql)
        assert run_query(engine, "SELECT COUNT(*) FROM users").rows == [[0]]
    finally:
        engine.dispose()


def test_a_read_only_postgres_role_sees_only_the_allowed_tables(
    postgres_admin: sa.Engine, fake_llm_server: FakeLLM
) -> None:
    """With INSIGHTS_DATABASE_URL naming a role made by the README's statements (SELECT on
    users, dialogs and messages alone), the accounts are out of reach even to raw SQL."""
    role, password = f"insights_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    create, *grants = role_statements()
    with postgres_admin.connect() as connection:
        connection.execute(sa.text(_as_made(create, role, password, "")))
    try:
        with scratch_postgres_database(postgres_admin) as url:
            dispose_app(make_app(make_settings(url, fake_llm_server.base_url)))
            owner = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            with owner.connect() as connection:
                for grant in grants:
                    database = sa.make_url(url).database or ""
                    connection.execute(sa.text(_as_made(grant, role, password, database)))
            owner.dispose()
            insights_url = sa.make_url(url).set(username=role, password=password)
            engine = create_insights_engine(insights_url.render_as_string(False), TIMEOUT_S)
            try:
                assert run_query(engine, "SELECT COUNT(*) FROM users").rows == [[0]]
                with pytest.raises(QueryFailedError, match="permission denied"):
                    run_query(engine, "SELECT password_hash FROM accounts")
                with pytest.raises(QueryFailedError):
                    run_query(engine, "DELETE FROM users")
            finally:
                engine.dispose()
    finally:
        # Its grants went with the database.
        with postgres_admin.connect() as connection:
            connection.execute(sa.text(f"DROP ROLE {role}"))


def _as_made(statement: str, role: str, password: str, database: str) -> str:
    """A README statement for this test's role, password and scratch database."""
    assert statement.startswith(("CREATE ROLE aidd_insights ", "GRANT ")), statement
    made = statement.replace("aidd_insights", role).replace("choose-a-password", password)
    return made.replace("DATABASE aidd ", f'DATABASE "{database}" ')


def test_the_time_limit_stops_a_query(seeded: Seeded) -> None:
    endless = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r"
    )
    with pytest.raises(QueryTimedOutError):
        run_query(seeded.engine, guard_sql(endless, seeded.dialect))
    # The connection is fine afterwards.
    assert run_query(seeded.engine, "SELECT COUNT(*) FROM users").rows == [[25]]


def test_rows_are_capped_and_long_values_cut(seeded: Seeded) -> None:
    capped = run_query(seeded.engine, "SELECT id FROM messages ORDER BY id", max_rows=10)
    assert capped.rows == [[n] for n in range(1, 11)]
    assert capped.truncated
    long_text = run_query(seeded.engine, "SELECT '" + "x" * (MAX_CELL_CHARS * 3) + "' AS t")
    assert long_text.columns == ["t"]
    assert long_text.rows == [["x" * MAX_CELL_CHARS]]
    assert not long_text.truncated


def test_values_come_back_as_json(seeded: Seeded) -> None:
    result = run_query(
        seeded.engine,
        guard_sql(
            "SELECT MIN(created_at) AS first, AVG(latency_ms) AS mean, COUNT(*) AS n,"
            " MAX(content) IS NULL AS empty FROM messages",
            seeded.dialect,
        ),
    )
    first, mean, count, empty = result.rows[0]
    assert isinstance(first, str)
    assert first.startswith("2026-11-")
    assert isinstance(mean, float)
    assert count == 600
    assert empty in (0, False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("2.0"), 2),
        (Decimal("2.5"), 2.5),
        (Decimal("NaN"), None),
        (Decimal("Infinity"), None),
        (float("nan"), None),
        (float("-inf"), None),
        (timedelta(minutes=2), 120.0),
        (datetime(2026, 11, 20, 12, 30, tzinfo=UTC), "2026-11-20T12:30:00+00:00"),
        (b"abc", "<3 bytes>"),
        ("x" * (MAX_CELL_CHARS + 5), "x" * MAX_CELL_CHARS),
        (True, True),
        (None, None),
    ],
)
def test_every_value_becomes_json(value: object, expected: object) -> None:
    converted = json_value(value)
    assert converted == expected
    json.dumps(converted, allow_nan=False)
