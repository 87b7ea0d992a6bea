"""The postgres profile: PostgreSQL in the stack, two api replicas behind the one name `api`,
and the same Telegram conversation into the dashboard's figures."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.integration.compose_stack import (
    Stack,
    ask_in_telegram,
    dialog_of,
    overview,
    start_stack,
    stop_stack,
)


@pytest.fixture(scope="module")
def pg_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    password = secrets.token_hex(12)
    started = start_stack(
        tmp_path_factory.mktemp("pg-stack"),
        f"aidd-it-pg-{secrets.token_hex(3)}",
        ["bot", "postgres"],
        POSTGRES_PASSWORD=password,
        DATABASE_URL=f"postgresql+psycopg://aidd:{password}@postgres:5432/aidd",
        API_REPLICAS="2",
    )
    try:
        yield started
    finally:
        stop_stack(started)


def test_two_api_replicas_on_postgres_hold_a_conversation(pg_stack: Stack) -> None:
    replicas = [s for s in pg_stack.services() if s["Service"] == "api"]
    assert len(replicas) == 2
    assert all(s["State"] == "running" and s["Health"] == "healthy" for s in replicas)

    user = 720_001
    ask_in_telegram(pg_stack, user, "Hello, PostgreSQL")
    ask_in_telegram(pg_stack, user, "Two replicas, one dialog")

    figures = overview(pg_stack)
    assert figures["user_messages"]["value"] == 2
    assert figures["assistant_messages"]["value"] == 2
    assert figures["active_users"]["value"] == 1
    assert dialog_of(pg_stack, user)["message_count"] == 4
    # The rows are in PostgreSQL, not in a SQLite file of either replica.
    count = pg_stack.run(
        "exec",
        "-T",
        "postgres",
        "psql",
        "--username=aidd",
        "--dbname=aidd",
        "--tuples-only",
        "--command=SELECT count(*) FROM messages",
    )
    assert count.strip() == "4"
    for replica in (1, 2):
        listing = pg_stack.run("exec", "-T", "--index", str(replica), "api", "ls", "data")
        assert "aidd.db" not in listing
