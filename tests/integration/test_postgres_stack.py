"""The scaled stack: PostgreSQL, two api replicas and two bot replicas in webhook mode
(Compose: the postgres profile, the replicas behind the names `api` and `bot`; local processes:
a scratch database on the tests' server, the console on one api replica and the bots on the
other). Telegram's updates are posted to either bot replica, as Telegram (through a proxy in
front of them) would, and make one conversation whichever replicas serve it, which shows in the
dashboard's figures."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.integration.mode import StackMode
from tests.integration.stack_handle import (
    WEBHOOK_URL,
    Stack,
    WebhookReplica,
    answers_to,
    dialog_of,
    overview,
    post_update,
    wait_for_answer,
)
from tests.integration.stacks import running_stack


@pytest.fixture(scope="module")
def pg_stack(stack_mode: StackMode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(stack_mode, tmp_path_factory.mktemp("pg-stack"), postgres=True) as started:
        yield started


def deliver(stack: Stack, replica: WebhookReplica, update: dict[str, object]) -> None:
    """Telegram posts `update` to one replica, with the secret the bot gave setWebhook."""
    assert post_update(replica, update, stack.settings["WEBHOOK_SECRET"]) == 200


def ask(stack: Stack, replica: WebhookReplica, user_id: int, text: str) -> dict[str, object]:
    """A Telegram user's message, posted to `replica`; its answer waited for. The update."""
    update = stack.telegram.send_text(user_id, text)
    deliver(stack, replica, update)
    wait_for_answer(stack, user_id, text)
    return update


def logged_by(stack: Stack, replica: WebhookReplica, update: dict[str, object]) -> bool:
    """Whether the replica's output has the bot's one line for this update."""
    return f"update={update['update_id']} kind=message" in stack.replica_output(replica.name)


def handled_by(stack: Stack, replica: WebhookReplica, update: dict[str, object]) -> bool:
    """Whether the replica handled the update: its line is logged once the handling ends,
    which may be a moment after the answer reached the chat."""
    deadline = time.monotonic() + 10
    while not logged_by(stack, replica, update):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def questions_to_the_llm(stack: Stack, text: str) -> int:
    return sum(request["messages"][-1]["content"] == text for request in stack.llm.requests)


def test_two_api_replicas_on_postgres_hold_a_conversation(pg_stack: Stack) -> None:
    replicas = pg_stack.states("api")
    assert len(replicas) == 2
    assert all(s.state == "running" and s.health == "healthy" for s in replicas)

    user = 720_001
    first_bot = pg_stack.webhook_replicas()[0]
    ask(pg_stack, first_bot, user, "Hello, PostgreSQL")
    ask(pg_stack, first_bot, user, "Two replicas, one dialog")

    figures = overview(pg_stack)
    assert figures["user_messages"]["value"] == 2
    assert figures["assistant_messages"]["value"] == 2
    assert figures["active_users"]["value"] == 1
    assert dialog_of(pg_stack, user)["message_count"] == 4
    # The rows are in PostgreSQL, not in a SQLite database of either replica.
    assert pg_stack.postgres_scalar("SELECT count(*) FROM messages") == "4"
    for replica in (1, 2):
        assert pg_stack.sqlite_databases(replica) == []


def test_two_bot_replicas_in_webhook_mode_share_one_conversation(pg_stack: Stack) -> None:
    bots = pg_stack.webhook_replicas()
    assert len(bots) == 2
    states = pg_stack.states("bot")
    assert len(states) == 2
    assert all(s.state == "running" and s.health == "healthy" for s in states), states
    # Each replica told Telegram where to post, the same address; none polls.
    telegram = pg_stack.telegram
    webhook = telegram.webhook
    assert webhook is not None
    assert webhook["url"] == WEBHOOK_URL
    same_secret = webhook["secret_token"] == pg_stack.settings["WEBHOOK_SECRET"]
    assert same_secret  # (compared apart: a failure does not print it)
    assert len(telegram.calls_to("setWebhook")) >= 2
    assert telegram.calls_to("getUpdates") == []

    user = 720_101
    first, second = bots
    refused = telegram.send_text(user, "/help")
    for bot in bots:
        assert post_update(bot, refused, "not-the-secret") == 401

    # One dialog, whichever replica takes the update: the api holds it.
    opening = ask(pg_stack, first, user, "I am Bob, says the first replica")
    follow_up = ask(pg_stack, second, user, "Who am I, asks the second?")
    assert handled_by(pg_stack, first, opening)
    assert handled_by(pg_stack, second, follow_up)
    assert not logged_by(pg_stack, second, opening)
    assert not logged_by(pg_stack, first, follow_up)
    (request,) = [
        r
        for r in pg_stack.llm.requests
        if r["messages"][-1]["content"] == "Who am I, asks the second?"
    ]
    assert request["messages"][1:] == [
        {"role": "user", "content": "I am Bob, says the first replica"},
        {"role": "assistant", "content": "Echo: I am Bob, says the first replica"},
        {"role": "user", "content": "Who am I, asks the second?"},
    ]
    assert dialog_of(pg_stack, user)["message_count"] == 4

    # Telegram delivers an update again, to the other replica: the question is stored and
    # asked once; the second delivery is told the stored answer, not a new one.
    text = "Once, whichever replica gets it"
    update = ask(pg_stack, first, user, text)
    deliver(pg_stack, second, update)
    telegram.wait_for(lambda fake: answers_to(fake, user, text) >= 2, 60)
    assert handled_by(pg_stack, second, update)
    assert questions_to_the_llm(pg_stack, text) == 1
    assert dialog_of(pg_stack, user)["message_count"] == 6
