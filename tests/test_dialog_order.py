"""One user, many messages at once: a dialog's messages are answered one at a time, in turn.

The context is always question, its answer, question, its answer, in the order the questions
were taken. A message that comes while another answer of the dialog is in progress waits its
turn (no byte is sent meanwhile); one that cannot get it in time is refused with 409.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.doubles.fake_llm import FakeLLM, Reply, Stall
from tests.support import BotAPI, gunicorn_api
from webapi.extensions import db
from webapi.models import Message
from webapi.services import services

TELEGRAM_ID = 2024
CONCURRENT = 10


def turns(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, content) of what an LLM request carried between its system prompt and its
    question."""
    return [(m["role"], m["content"]) for m in request["messages"][1:-1]]


def assert_in_turn(context: list[tuple[str, str]]) -> None:
    """Question, its answer, question, its answer (the fake LLM answers `Echo: <question>`)."""
    assert [role for role, _ in context] == ["user", "assistant"] * (len(context) // 2)
    for (_, question), (_, answer) in zip(context[::2], context[1::2], strict=True):
        assert answer == f"Echo: {question}", "each answer follows its own question"


def stored_turns(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Message.role, Message.content, Message.status).order_by(Message.id)
        ).all()
        return [(role, content, status) for role, content, status in rows]


@pytest.fixture
def gunicorn_url(database_url: str, fake_llm: FakeLLM, tmp_path: Path) -> Iterator[str]:
    """webapi as production serves it: several worker processes, one database."""
    with gunicorn_api(database_url, fake_llm.base_url, tmp_path / "api.log") as (url, _server):
        yield url


def test_concurrent_messages_of_one_user_are_answered_in_turn(
    gunicorn_url: str, fake_llm: FakeLLM
) -> None:
    # Answers that take a while, so that unordered ones would overlap.
    fake_llm.script(*[Reply(chunk_size=4, delay_between_chunks_s=0.01)] * CONCURRENT)
    api = BotAPI(gunicorn_url)
    assert api.upsert(TELEGRAM_ID).status_code == 200

    def send(n: int) -> tuple[str, str]:
        client = BotAPI(gunicorn_url)
        try:
            exchange = client.send(TELEGRAM_ID, f"message {n}")
            return exchange.final[0], exchange.text
        finally:
            client.close()

    try:
        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            results = list(pool.map(send, range(CONCURRENT)))
        last = api.send(TELEGRAM_ID, "one more")
    finally:
        api.close()

    assert results == [("done", f"Echo: message {n}") for n in range(CONCURRENT)]
    assert last.final[0] == "done"
    requests = fake_llm.requests
    assert len(requests) == CONCURRENT + 1
    # The k-th call to the LLM carried all k answers before it: each answer began only after
    # the one before it had ended and been stored, so no two answers of the dialog overlapped.
    assert [len(turns(request)) for request in requests] == [2 * k for k in range(CONCURRENT + 1)]
    for earlier, later in itertools.pairwise(requests):
        assert turns(later)[: len(turns(earlier))] == turns(earlier)
    final_context = turns(requests[-1])
    assert_in_turn(final_context)
    asked = sorted(content for role, content in final_context if role == "user")
    assert asked == sorted(f"message {n}" for n in range(CONCURRENT))
    assert requests[-1]["messages"][-1] == {"role": "user", "content": "one more"}


def test_quick_messages_are_answered_in_the_order_sent(
    app: Flask, live_url: str, fake_llm: FakeLLM
) -> None:
    """Three messages sent in quick succession, the first still being answered: three answers,
    in the order sent, each with the ones before as context."""
    fake_llm.script(Reply(chunk_size=2, delay_between_chunks_s=0.05))
    clients = [BotAPI(live_url) for _ in range(3)]
    clients[0].upsert(TELEGRAM_ID)
    first_delta = threading.Event()
    finals: dict[str, str] = {}  # how each exchange ended

    def send(client: BotAPI, text: str) -> None:
        finals[text] = client.send(TELEGRAM_ID, text).final[0]

    def send_first() -> None:
        with clients[0].http.stream(
            "POST", f"/users/{TELEGRAM_ID}/messages", json={"text": "one"}
        ) as response:
            for line in response.iter_lines():
                if line.startswith("event: delta"):
                    first_delta.set()
                elif line.startswith("event: "):
                    finals["one"] = line.removeprefix("event: ")

    try:
        threads = [threading.Thread(target=send_first)]
        threads[0].start()
        assert first_delta.wait(10)
        for client, text in zip(clients[1:], ["two", "three"], strict=True):
            threads.append(threading.Thread(target=send, args=(client, text)))
            threads[-1].start()
            time.sleep(0.2)  # sent after the one before, while "one" is still answered
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for client in clients:
            client.close()

    assert finals == {"one": "done", "two": "done", "three": "done"}
    asked = [request["messages"][-1]["content"] for request in fake_llm.requests]
    assert asked == ["one", "two", "three"]
    assert turns(fake_llm.requests[2]) == [
        ("user", "one"),
        ("assistant", "Echo: one"),
        ("user", "two"),
        ("assistant", "Echo: two"),
    ]
    assert [(role, content) for role, content, _ in stored_turns(app)] == [
        ("user", "one"),
        ("assistant", "Echo: one"),
        ("user", "two"),
        ("assistant", "Echo: two"),
        ("user", "three"),
        ("assistant", "Echo: three"),
    ]


def test_a_message_that_cannot_get_its_turn_in_time_is_refused(
    app: Flask, live_url: str, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(TELEGRAM_ID)
    with app.app_context():
        services().conversation.turn_wait_s = 0.5  # instead of LLM_TIMEOUT_S and a margin
    fake_llm.script(Stall(after_chunks=2, seconds=2, text="a slow answer"))
    other = BotAPI(live_url)

    try:
        with bot_api.http.stream(
            "POST", f"/users/{TELEGRAM_ID}/messages", json={"text": "first"}
        ) as response:
            lines = response.iter_lines()
            for line in lines:
                if line.startswith("event: delta"):
                    break
            started = time.monotonic()
            refused = other.send(TELEGRAM_ID, "second")
            waited = time.monotonic() - started
            rest = list(lines)
        third = other.send(TELEGRAM_ID, "third")
    finally:
        other.close()

    assert (refused.status_code, refused.content_type) == (409, "application/json")
    ((kind, body),) = refused.events
    assert (kind, body["error"]["code"]) == ("http_error", "answer_in_progress")
    assert 0.4 < waited < 1.9, "it waited its turn, then was refused before the first answer ended"
    assert "event: done" in rest, "the answer in progress went on"
    assert third.final[0] == "done"
    assert turns(fake_llm.requests[-1]) == [("user", "first"), ("assistant", "a slow answer")]
    assert [content for _, content, _ in stored_turns(app)] == [
        "first",
        "a slow answer",
        "third",
        "Echo: third",
    ], "the refused message was not stored"


def test_the_document_says_what_a_message_that_cannot_wait_gets(sqlite_app: Flask) -> None:
    document = sqlite_app.test_client().get("/api/v1/openapi.json").get_json()
    responses = document["paths"]["/api/v1/bot/users/{telegram_id}/messages"]["post"]["responses"]

    conflict = responses["409"]
    assert "answer_in_progress" in conflict["description"]
    schema = conflict["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "one at a time" in document["paths"]["/api/v1/bot/users/{telegram_id}/messages"][
        "post"
    ].get("description", "")
