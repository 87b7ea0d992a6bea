"""The engines: reads never wait on writers, cannot write, and are cut at their time limit."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from tests.doubles.fake_llm import FakeLLM
from tests.support import BotAPI, dispose_app, make_app, make_settings, serve
from webapi.database import (
    POOL_OPTIONS,
    READ_ENGINE_KEY,
    QueryTimeoutError,
    read_session,
    resolve_sqlite_url,
    write_session,
)
from webapi.extensions import db
from webapi.models import User

TELEGRAM_ID = 5150
HOLD_S = 2.0


@contextmanager
def a_writer_holding_the_database(app: Flask) -> Iterator[None]:
    """Another connection writes and keeps its transaction open for HOLD_S seconds."""
    with app.app_context():
        url = db.engine.url
    started = threading.Event()

    def write_and_hold() -> None:
        if url.get_backend_name() == "sqlite":
            connection = sqlite3.connect(str(url.database), isolation_level=None)
            connection.execute("BEGIN IMMEDIATE")  # SQLite's write lock
            connection.execute("UPDATE users SET username = 'writer'")
        else:
            engine = sa.create_engine(url)
            connection = engine.raw_connection()  # type: ignore[assignment]
            connection.execute("UPDATE users SET username = 'writer'")  # row locks, uncommitted
        started.set()
        time.sleep(HOLD_S)
        connection.rollback()
        connection.close()
        if url.get_backend_name() != "sqlite":
            engine.dispose()

    writer = threading.Thread(target=write_and_hold)
    writer.start()
    assert started.wait(5)
    try:
        yield
    finally:
        writer.join()


def test_reads_do_not_wait_on_a_writer(app: Flask, bot_api: BotAPI) -> None:
    """Profile, role and status answer while another transaction holds the write lock."""
    bot_api.upsert(TELEGRAM_ID, username="ada")
    bot_api.send(TELEGRAM_ID, "hello")

    with a_writer_holding_the_database(app):
        started = time.monotonic()
        profile = bot_api.http.get(f"/users/{TELEGRAM_ID}")
        role = bot_api.http.get(f"/users/{TELEGRAM_ID}/role")
        status = bot_api.status(TELEGRAM_ID)
        elapsed = time.monotonic() - started

    assert [r.status_code for r in (profile, role, status)] == [200, 200, 200]
    assert profile.json()["username"] == "ada", "the committed state, not the writer's"
    assert status.json()["today"]["messages"] == 1
    assert elapsed < HOLD_S / 2, f"the reads took {elapsed:.2f} s behind a {HOLD_S} s write"


def test_readiness_does_not_wait_on_a_writer(app: Flask, live_url: str) -> None:
    with a_writer_holding_the_database(app):
        started = time.monotonic()
        ready = httpx.get(f"{live_url}/api/v1/health/ready")
        elapsed = time.monotonic() - started

    assert ready.status_code == 200
    assert elapsed < HOLD_S / 2


def test_the_read_engine_cannot_write(app: Flask) -> None:
    with (
        app.app_context(),
        pytest.raises(sa.exc.DBAPIError),
        read_session() as session,
    ):
        session.execute(
            sa.insert(User).values(
                telegram_id=1, first_seen_at=sa.func.now(), last_seen_at=sa.func.now()
            )
        )


def test_a_burst_of_transactions_keeps_its_connections(app: Flask) -> None:
    """More transactions at once than the pool holds wait for a connection instead of opening
    one each (closed again on return): on SQLite a new connection parses the whole schema."""
    with app.app_context():
        engines = {"write": db.engine, "read": app.extensions[READ_ENGINE_KEY]}
    opened: Counter[str] = Counter()
    for name, engine in engines.items():
        sa.event.listen(engine, "connect", lambda *_, name=name: opened.update([name]))

    def transactions(_: int) -> None:
        with app.app_context():
            for _ in range(5):
                with write_session() as session:
                    session.execute(sa.text("SELECT 1"))
                with read_session() as session:
                    session.execute(sa.text("SELECT 1"))

    with ThreadPoolExecutor(max_workers=2 * POOL_OPTIONS["pool_size"]) as pool:
        list(pool.map(transactions, range(60)))

    assert 0 < opened["write"] <= POOL_OPTIONS["pool_size"], opened
    assert 0 < opened["read"] <= POOL_OPTIONS["pool_size"], opened


SLOW_QUERIES = {
    # Counts far past what a second allows.
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) "
    "FROM (SELECT i FROM n LIMIT 1000000000)",
    "postgresql": "SELECT pg_sleep(30)",
}


@pytest.mark.parametrize("settings_overrides", [{"DATABASE_READ_TIMEOUT_S": 0.5}])
def test_a_read_is_cut_at_its_time_limit(app: Flask) -> None:
    with app.app_context():
        query = SLOW_QUERIES[db.engine.dialect.name]
        started = time.monotonic()
        with pytest.raises(QueryTimeoutError), read_session() as session:
            session.execute(sa.text(query)).all()
        elapsed = time.monotonic() - started

    assert elapsed < 3, f"cut after {elapsed:.2f} s"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_database_read_url_sends_reads_elsewhere(
    app: Flask, bot_api: BotAPI, database_url: str, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    """Reads go to DATABASE_READ_URL (a replica); writes stay on the primary."""
    bot_api.upsert(TELEGRAM_ID, username="on-the-primary")
    replica = tmp_path / "replica.db"
    with sqlite3.connect(resolve_sqlite_url(database_url, tmp_path).removeprefix("sqlite:///")) as (
        primary
    ):
        primary.backup(target := sqlite3.connect(replica))
    target.execute("UPDATE users SET username = 'on-the-replica'")
    target.commit()
    target.close()
    settings = make_settings(
        database_url, fake_llm.base_url, DATABASE_READ_URL=f"sqlite:///{replica}"
    )

    second = make_app(settings)
    try:
        for url in serve(second):
            api = BotAPI(url)
            read = api.http.get(f"/users/{TELEGRAM_ID}").json()["username"]
            written = api.upsert(TELEGRAM_ID, username="written").json()["username"]
            api.close()
    finally:
        dispose_app(second)

    assert read == "on-the-replica"
    assert written == "written"
    with app.app_context():
        assert db.session.scalar(sa.select(User.username)) == "written"


def test_sqlite_relative_paths_are_relative_to_the_working_directory(tmp_path: Path) -> None:
    url = resolve_sqlite_url("sqlite:///data/aidd.db", tmp_path)

    assert url == f"sqlite:///{tmp_path / 'data' / 'aidd.db'}"
    assert (tmp_path / "data").is_dir(), "its folder is created"
    assert resolve_sqlite_url("postgresql+psycopg://u@h/db", tmp_path) == (
        "postgresql+psycopg://u@h/db"
    )
