"""The stack on PostgreSQL with two api replicas (Compose: the postgres profile, the replicas
behind the one name `api`; local processes: a scratch database on the tests' server, the
console on one replica and the bot on the other), and the same Telegram conversation into the
dashboard's figures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.mode import StackMode
from tests.integration.stack_handle import Stack, ask_in_telegram, dialog_of, overview
from tests.integration.stacks import running_stack


@pytest.fixture(scope="module")
def pg_stack(stack_mode: StackMode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(stack_mode, tmp_path_factory.mktemp("pg-stack"), postgres=True) as started:
        yield started


def test_two_api_replicas_on_postgres_hold_a_conversation(pg_stack: Stack) -> None:
    replicas = pg_stack.states("api")
    assert len(replicas) == 2
    assert all(s.state == "running" and s.health == "healthy" for s in replicas)

    user = 720_001
    ask_in_telegram(pg_stack, user, "Hello, PostgreSQL")
    ask_in_telegram(pg_stack, user, "Two replicas, one dialog")

    figures = overview(pg_stack)
    assert figures["user_messages"]["value"] == 2
    assert figures["assistant_messages"]["value"] == 2
    assert figures["active_users"]["value"] == 1
    assert dialog_of(pg_stack, user)["message_count"] == 4
    # The rows are in PostgreSQL, not in a SQLite database of either replica.
    assert pg_stack.postgres_scalar("SELECT count(*) FROM messages") == "4"
    for replica in (1, 2):
        assert pg_stack.sqlite_databases(replica) == []
