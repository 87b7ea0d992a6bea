"""Whole exchanges over HTTP, on SQLite and PostgreSQL, against the fake LLM."""

from __future__ import annotations

import socket
import time

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.doubles.fake_llm import Disconnect, FakeLLM, Hang, Malformed, Reply, Stall, Status
from tests.support import ROOT, BotAPI
from webapi.domain.roles import parse_role
from webapi.extensions import db
from webapi.models import Dialog, Message

TELEGRAM_ID = 424242


def rows(app: Flask) -> list[Message]:
    with app.app_context():
        found = db.session.scalars(sa.select(Message).order_by(Message.id)).all()
        db.session.expunge_all()
        return list(found)


def dialogs(app: Flask) -> list[Dialog]:
    with app.app_context():
        found = db.session.scalars(sa.select(Dialog).order_by(Dialog.id)).all()
        db.session.expunge_all()
        return list(found)


def test_reply_streams_and_both_turns_are_stored(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    assert bot_api.upsert(TELEGRAM_ID, username="ada", first_name="Ada").status_code == 200
    fake_llm.script(Reply("Hello there, how can I help?", chunk_size=5))

    exchange = bot_api.send(TELEGRAM_ID, "Hi!")

    assert exchange.status_code == 200
    assert exchange.content_type.startswith("text/event-stream")
    deltas = [data for name, data in exchange.events if name == "delta"]
    assert len(deltas) > 1, "the answer arrives in pieces"
    assert exchange.text == "Hello there, how can I help?"
    name, done = exchange.final
    assert name == "done"
    assert done["model"] == "test-model"
    assert done["usage"]["prompt_tokens"] > 0
    assert done["usage"]["completion_tokens"] == 6
    assert done["timings"]["ttft_ms"] is not None
    assert done["timings"]["latency_ms"] >= done["timings"]["ttft_ms"]

    sent = fake_llm.requests[0]
    role_prompt = parse_role(ROOT / "prompts" / "consultant.md").system_prompt
    assert sent["messages"] == [
        {"role": "system", "content": role_prompt},
        {"role": "user", "content": "Hi!"},
    ]
    assert sent["stream"] is True

    user_turn, answer = rows(app)
    assert (user_turn.role, user_turn.content, user_turn.status) == ("user", "Hi!", "ok")
    assert user_turn.length == 3
    assert (answer.role, answer.content, answer.status) == (
        "assistant",
        "Hello there, how can I help?",
        "ok",
    )
    assert answer.id == done["assistant_message_id"]
    assert user_turn.id == done["user_message_id"]
    assert answer.model == "test-model"
    assert answer.prompt_tokens == done["usage"]["prompt_tokens"]
    assert answer.completion_tokens == 6
    assert answer.ttft_ms == done["timings"]["ttft_ms"]
    assert answer.latency_ms == done["timings"]["latency_ms"]
    assert answer.created_at.tzinfo is not None


def test_second_message_carries_the_first_exchange(bot_api: BotAPI, fake_llm: FakeLLM) -> None:
    bot_api.upsert(TELEGRAM_ID)
    fake_llm.script(Reply("Paris."), Reply("About 2.1 million."))

    bot_api.send(TELEGRAM_ID, "Capital of France?")
    second = bot_api.send(TELEGRAM_ID, "Its population?")

    assert second.final[0] == "done"
    messages = fake_llm.requests[1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert [m["content"] for m in messages[1:]] == [
        "Capital of France?",
        "Paris.",
        "Its population?",
    ]


@pytest.mark.parametrize("settings_overrides", [{"MAX_CONTEXT_MESSAGES": 4}])
def test_context_window_keeps_the_newest_turns(bot_api: BotAPI, fake_llm: FakeLLM) -> None:
    bot_api.upsert(TELEGRAM_ID)
    for n in range(4):
        fake_llm.script(Reply(f"answer {n}"))
        bot_api.send(TELEGRAM_ID, f"question {n}")

    # The last MAX_CONTEXT_MESSAGES stored turns, oldest first, then the new message.
    contents = [m["content"] for m in fake_llm.requests[-1]["messages"][1:]]
    assert contents == ["question 1", "answer 1", "question 2", "answer 2", "question 3"]


def test_reset_gives_an_empty_context_and_a_new_dialog(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(TELEGRAM_ID)
    first = bot_api.send(TELEGRAM_ID, "Remember the number 7.")

    reset = bot_api.reset(TELEGRAM_ID)
    assert reset.status_code == 200
    assert reset.json()["ended_dialog_id"] == first.final[1]["dialog_id"]
    assert bot_api.status(TELEGRAM_ID).json()["context"]["messages_used"] == 0

    after = bot_api.send(TELEGRAM_ID, "Which number?")

    assert after.final[1]["dialog_id"] == reset.json()["dialog_id"] != first.final[1]["dialog_id"]
    assert [m["role"] for m in fake_llm.requests[-1]["messages"]] == ["system", "user"]
    old, new = dialogs(app)
    assert old.ended_at is not None
    assert new.ended_at is None
    assert len(rows(app)) == 4, "history is kept"


FAULTS = [
    pytest.param([Hang(30)], "llm_timeout", id="timeout"),
    pytest.param([Stall(after_chunks=2, seconds=30)], "llm_timeout", id="stalled-stream"),
    pytest.param([Status(429, retry_after=60)], "llm_rate_limited", id="rate-limited"),
    pytest.param([Status(503)] * 3, "llm_unavailable", id="server-error"),
    pytest.param([Status(401)], "llm_rejected", id="rejected"),
    pytest.param([Malformed(after_chunks=2)], "llm_bad_response", id="malformed-stream"),
    pytest.param([Disconnect(after_chunks=2)], "llm_bad_response", id="dropped-stream"),
]


@pytest.mark.parametrize("settings_overrides", [{"LLM_TIMEOUT_S": 1.5}])
@pytest.mark.parametrize(("script", "code"), FAULTS)
def test_llm_faults_yield_an_error_event_and_keep_the_database_consistent(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM, script: list[object], code: str
) -> None:
    bot_api.upsert(TELEGRAM_ID)
    fake_llm.script(Reply("First answer."))
    bot_api.send(TELEGRAM_ID, "First question")
    fake_llm.script(*script)  # type: ignore[arg-type]

    failed = bot_api.send(TELEGRAM_ID, "Second question")

    name, error = failed.final
    assert (name, error["code"]) == ("error", code)
    assert error["message"]
    assert "Traceback" not in str(failed.events)
    (question,) = [m for m in rows(app) if m.content == "Second question"]
    assert (question.status, question.error_code) == ("error", code)
    answers = [m for m in rows(app) if m.role == "assistant"]
    assert [(a.status, a.content) for a in answers] == [("ok", "First answer."), ("error", "")]
    assert answers[-1].error_code == code

    # The next request works, and the failed turn is not part of its context.
    fake_llm.script(Reply("Back again."))
    recovered = bot_api.send(TELEGRAM_ID, "Third question")
    assert recovered.final[0] == "done"
    assert [m["content"] for m in fake_llm.requests[-1]["messages"][1:]] == [
        "First question",
        "First answer.",
        "Third question",
    ]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "settings_overrides", [{"LLM_BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1"}]
)
def test_connection_refused_is_an_error_event(app: Flask, bot_api: BotAPI) -> None:
    bot_api.upsert(TELEGRAM_ID)
    failed = bot_api.send(TELEGRAM_ID, "Anyone there?")
    assert failed.final[0] == "error"
    assert failed.final[1]["code"] == "llm_unreachable"
    (question,) = [m for m in rows(app) if m.role == "user"]
    assert question.status == "error"


def test_rate_limit_retry_honours_retry_after(bot_api: BotAPI, fake_llm: FakeLLM) -> None:
    bot_api.upsert(TELEGRAM_ID)
    fake_llm.script(Status(429, retry_after=0.3), Reply("Made it."))

    exchange = bot_api.send(TELEGRAM_ID, "Hello?")

    assert exchange.final[0] == "done"
    assert exchange.text == "Made it."
    assert len(fake_llm.requests) == 2
    assert exchange.final[1]["timings"]["ttft_ms"] >= 300


def test_unknown_user_gets_404_and_nothing_is_written(app: Flask, bot_api: BotAPI) -> None:
    exchange = bot_api.send(999, "hello")
    assert exchange.status_code == 404
    ((kind, body),) = exchange.events
    assert (kind, body["error"]["code"]) == ("http_error", "user_not_found")
    assert rows(app) == []
    assert dialogs(app) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_client_that_leaves_mid_answer_keeps_the_question_only(
    app: Flask, live_url: str, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(TELEGRAM_ID)
    fake_llm.script(Reply("word " * 200, chunk_size=5, delay_between_chunks_s=0.02))

    with bot_api.http.stream(
        "POST", f"/users/{TELEGRAM_ID}/messages", json={"text": "Tell me a long story"}
    ) as response:
        for line in response.iter_lines():
            if line.startswith("event: delta"):
                break  # hang up after the first piece of the answer

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (question,) = [m for m in rows(app) if m.role == "user"]
        if question.status != "pending":
            break
        time.sleep(0.05)
    assert (question.status, question.error_code) == ("error", "cancelled")
    assert [(m.status, m.content) for m in rows(app) if m.role == "assistant"] == [("error", "")]
