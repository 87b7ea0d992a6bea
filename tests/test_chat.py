"""The console's chat over real HTTP, on both databases: a signed-in account starts, lists,
reopens and continues its own dialogs in both modes; answers stream as events and are stored
(Insights: the SQL, rows, chart and summary); failures carry their codes; an answer stops on
a cancel or when its client leaves, and the dialog takes the next question at once; messages
are rate-limited per account; another account's dialogs do not exist for it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from httpx_sse import connect_sse

from tests.doubles.fake_llm import FakeLLM, Reply, Stall
from tests.support import gunicorn_api
from webapi.database import read_session
from webapi.domain.accounts import create_account
from webapi.models import Message

CHAT = "/api/v1/chat"
OWNER = ("owner", "owner-password-1")
OTHER = ("other", "other-password-1")
PER_CHANNEL = "SELECT channel, COUNT(*) AS dialogs FROM dialogs GROUP BY channel ORDER BY channel"


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    # Stalled answers outlast the tests' usual 5 s LLM budget.
    overrides = {"CHAT_RATE_LIMIT": "30 per minute", "LLM_TIMEOUT_S": 30.0}
    return {**overrides, **getattr(request, "param", {})}


class Console:
    """One signed-in console account, spoken to over HTTP as the console's proxy does."""

    def __init__(self, base_url: str, credentials: tuple[str, str]) -> None:
        self.http = httpx.Client(base_url=base_url + CHAT, timeout=30)
        signed_in = self.http.post(
            base_url + "/api/v1/auth/login",
            json={"username": credentials[0], "password": credentials[1]},
        )
        assert signed_in.status_code == 200, signed_in.text

    def start(self, mode: str, **fields: Any) -> dict[str, Any]:
        response = self.http.post("/dialogs", json={"mode": mode, **fields})
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()
        return found

    def send(self, dialog_id: int, text: str) -> tuple[int, list[tuple[str, Any]]]:
        """The status and the events of one message's answer (or its JSON error)."""
        path = f"/dialogs/{dialog_id}/messages"
        with connect_sse(self.http, "POST", path, json={"text": text}) as source:
            response = source.response
            if not response.headers["content-type"].startswith("text/event-stream"):
                response.read()
                return response.status_code, [("http_error", response.json())]
            return response.status_code, [(sse.event, sse.json()) for sse in source.iter_sse()]

    def open(self, dialog_id: int) -> dict[str, Any]:
        response = self.http.get(f"/dialogs/{dialog_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


@pytest.fixture
def accounts(app: Flask) -> None:
    with app.app_context():
        create_account(*OWNER, is_admin=False)
        create_account(*OTHER, is_admin=False)


@pytest.fixture
def owner(live_url: str, accounts: None) -> Iterator[Console]:
    console = Console(live_url, OWNER)
    yield console
    console.http.close()


@pytest.fixture
def other(live_url: str, accounts: None) -> Iterator[Console]:
    console = Console(live_url, OTHER)
    yield console
    console.http.close()


def names(events: list[tuple[str, Any]]) -> list[str]:
    """Event names, with runs of deltas as one."""
    shown: list[str] = []
    for name, _ in events:
        if not (name == "delta" and shown and shown[-1] == "delta"):
            shown.append(name)
    return shown


def text_of(events: list[tuple[str, Any]]) -> str:
    return "".join(data["text"] for name, data in events if name == "delta")


def plan(sql: str, **chart: Any) -> Reply:
    return Reply(json.dumps({"sql": sql, "chart": chart or {"kind": "none"}}))


def question_status(app: Flask, message_id: int) -> tuple[str, str | None]:
    with app.app_context(), read_session(fresh=True) as session:
        row = session.execute(
            sa.select(Message.status, Message.error_code).where(Message.id == message_id)
        ).one()
    return row.status, row.error_code


def test_the_chat_needs_a_console_session(live_url: str) -> None:
    with httpx.Client(base_url=live_url + CHAT) as anonymous:
        assert anonymous.get("/dialogs").status_code == 401
        assert anonymous.post("/dialogs", json={"mode": "assistant"}).status_code == 401
        refused = anonymous.post("/dialogs/1/messages", json={"text": "hi"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"


def test_an_assistant_dialog_streams_is_stored_reopened_and_continued(
    owner: Console, fake_llm: FakeLLM
) -> None:
    dialog = owner.start("assistant", role="editor")
    assert (dialog["mode"], dialog["role"], dialog["title"], dialog["message_count"]) == (
        "assistant",
        "editor",
        None,
        0,
    )
    fake_llm.script(Reply("Tighter: keep it short."), Reply("Shorter still."))

    status, first = owner.send(dialog["id"], "Edit my sentence, please.")
    assert status == 200
    assert names(first) == ["delta", "done"]
    assert text_of(first) == "Tighter: keep it short."
    status, second = owner.send(dialog["id"], "Shorter?")
    assert (status, text_of(second)) == (200, "Shorter still.")

    # The second request carried the role's prompt and the first turn: the same context
    # rules as Telegram's.
    request = fake_llm.requests[-1]["messages"]
    assert request[0]["role"] == "system"
    assert "edit" in request[0]["content"].lower()
    assert [(m["role"], m["content"]) for m in request[1:]] == [
        ("user", "Edit my sentence, please."),
        ("assistant", "Tighter: keep it short."),
        ("user", "Shorter?"),
    ]
    opened = owner.open(dialog["id"])
    assert opened["dialog"]["title"] == "Edit my sentence, please."
    assert opened["dialog"]["message_count"] == 4
    assert [(m["role"], m["content"], m["status"]) for m in opened["messages"]] == [
        ("user", "Edit my sentence, please.", "ok"),
        ("assistant", "Tighter: keep it short.", "ok"),
        ("user", "Shorter?", "ok"),
        ("assistant", "Shorter still.", "ok"),
    ]
    assert opened["messages"][1]["result"] is None
    assert second[-1][1]["assistant_message_id"] == opened["messages"][3]["id"]


def test_an_insights_answer_streams_its_sql_rows_chart_and_summary_and_is_stored(
    owner: Console, fake_llm: FakeLLM
) -> None:
    dialog = owner.start("insights")
    assert dialog["role"] == "insights"
    fake_llm.script(
        plan(PER_CHANNEL, kind="bar", x="channel", y=["dialogs"]), Reply("One web dialog.")
    )

    status, events = owner.send(dialog["id"], "How many dialogs per channel?")

    assert status == 200
    assert names(events) == ["sql", "rows", "chart", "delta", "done"]
    found = dict(events)
    assert found["sql"]["sql"].startswith("SELECT channel, COUNT(*) AS dialogs FROM dialogs")
    assert found["sql"]["sql"].endswith("LIMIT 1000")
    assert found["rows"] == {
        "columns": ["channel", "dialogs"],
        "rows": [["web", 1]],
        "truncated": False,
    }
    assert found["chart"] == {"kind": "bar", "x": "channel", "y": ["dialogs"]}
    assert text_of(events) == "One web dialog."

    answer = owner.open(dialog["id"])["messages"][1]
    assert answer["content"] == "One web dialog."
    assert answer["sql"] == found["sql"]["sql"]
    assert answer["result"] == {**found["rows"], "chart": found["chart"]}
    assert answer["ttft_ms"] is not None
    assert answer["prompt_tokens"] is not None


def test_an_insights_follow_up_sees_the_query_before_it(owner: Console, fake_llm: FakeLLM) -> None:
    dialog = owner.start("insights")
    fake_llm.script(plan(PER_CHANNEL), Reply("Per channel."))
    owner.send(dialog["id"], "Dialogs per channel?")
    fake_llm.script(plan("SELECT COUNT(*) AS n FROM dialogs WHERE mode = 'insights'"), Reply("1"))

    status, events = owner.send(dialog["id"], "And only Insights ones?")

    assert status == 200
    assert events[-1][0] == "done"
    planner = fake_llm.requests[-2]["messages"]
    assert planner[0]["role"] == "system"
    assert "dialogs" in planner[0]["content"]
    turns = [(m["role"], m["content"]) for m in planner[1:]]
    assert turns[0] == ("user", "Dialogs per channel?")
    assert turns[1][0] == "assistant"
    assert json.loads(turns[1][1])["sql"].startswith(PER_CHANNEL)
    assert turns[2] == ("user", "And only Insights ones?")


@pytest.mark.parametrize(
    ("replies", "code"),
    [
        ([plan("DELETE FROM messages")], "insights_unsafe_query"),
        (
            [Reply(json.dumps({"unanswerable": "there is no weather data"}))],
            "insights_unanswerable",
        ),
        ([plan("SELECT nope FROM dialogs")], "insights_unsafe_query"),
        (
            [plan("SELECT id FROM users u JOIN dialogs d ON d.user_id = u.id")] * 2,
            "insights_query_failed",
        ),
        ([Reply("no JSON at all")], "llm_bad_response"),
    ],
    ids=["write", "unanswerable", "unknown column", "database error twice", "bad shape"],
)
def test_an_insights_failure_is_an_error_event_stored_with_its_code(
    owner: Console, fake_llm: FakeLLM, replies: list[Reply], code: str
) -> None:
    dialog = owner.start("insights")
    fake_llm.script(*replies)

    status, events = owner.send(dialog["id"], "Something")

    assert status == 200
    assert [name for name, _ in events] == ["error"]
    error = events[0][1]
    assert error["code"] == code
    stored = owner.open(dialog["id"])["messages"]
    assert [(m["role"], m["status"], m["error_code"]) for m in stored] == [
        ("user", "error", code),
        ("assistant", "error", code),
    ]
    assert stored[1]["error_message"] == error["message"]
    assert stored[1]["sql"] == error.get("sql")
    if code == "insights_unanswerable":
        assert error["message"] == "I can't answer that from this data: there is no weather data"
    # A failed answer leaves the dialog free.
    fake_llm.script(plan(PER_CHANNEL), Reply("Fine now."))
    assert owner.send(dialog["id"], "Again")[1][-1][0] == "done"


def test_another_accounts_dialogs_do_not_exist_for_an_account(
    owner: Console, other: Console, fake_llm: FakeLLM
) -> None:
    mine = owner.start("assistant")
    fake_llm.script(Reply("Hello."))
    owner.send(mine["id"], "Hi")

    assert other.http.get(f"/dialogs/{mine['id']}").status_code == 404
    status, events = other.send(mine["id"], "Let me in")
    assert (status, events[0][1]["error"]["code"]) == (404, "not_found")
    assert other.http.post(f"/dialogs/{mine['id']}/cancel", json={}).status_code == 404
    assert other.http.get("/dialogs").json()["total"] == 0
    assert len(owner.open(mine["id"])["messages"]) == 2


def test_the_list_pages_newest_first_with_titles(owner: Console, fake_llm: FakeLLM) -> None:
    started = [owner.start("assistant")["id"] for _ in range(3)]
    fake_llm.script(Reply("ok"))
    owner.send(started[0], "x" * 200)

    first = owner.http.get("/dialogs", params={"per_page": 2}).json()
    second = owner.http.get("/dialogs", params={"per_page": 2, "page": 2}).json()

    assert first["total"] == second["total"] == 3
    assert [d["id"] for d in first["dialogs"] + second["dialogs"]] == started[::-1]
    assert second["dialogs"][0]["title"] == "x" * 80
    assert second["dialogs"][0]["message_count"] == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"mode": "poetry"}, 422, "validation_error"),
        ({"mode": "assistant", "role": "nobody"}, 404, "role_not_found"),
        ({"mode": "assistant", "role": "../etc"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
def test_a_bad_new_dialog_is_refused_clearly(
    owner: Console, body: dict[str, Any], status: int, code: str
) -> None:
    response = owner.http.post("/dialogs", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert owner.http.get("/dialogs").json()["total"] == 0


@pytest.mark.parametrize("text", ["", "   ", "a\x00b", "x" * 16_001])
def test_a_bad_message_is_refused_and_stores_nothing(owner: Console, text: str) -> None:
    dialog = owner.start("assistant")
    status, events = owner.send(dialog["id"], text)
    assert (status, events[0][1]["error"]["code"]) == (422, "validation_error")
    assert owner.open(dialog["id"])["messages"] == []


@pytest.mark.parametrize("settings_overrides", [{"CHAT_RATE_LIMIT": "2 per minute"}], indirect=True)
def test_messages_are_limited_per_account(
    owner: Console, other: Console, fake_llm: FakeLLM
) -> None:
    dialog = owner.start("assistant")
    fake_llm.script(Reply("one"), Reply("two"), Reply("theirs"))
    assert owner.send(dialog["id"], "1")[0] == 200
    assert owner.send(dialog["id"], "2")[0] == 200

    path = f"/dialogs/{dialog['id']}/messages"
    refused = owner.http.post(path, json={"text": "3"})

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(owner.open(dialog["id"])["messages"]) == 4
    # Another account has its own allowance.
    theirs = other.start("assistant")
    assert other.send(theirs["id"], "mine")[0] == 200


def _first_delta_then(
    console: Console, dialog_id: int, act: Any
) -> tuple[list[tuple[str, Any]], float]:
    """Send, and once the first delta arrived call `act`; the events and the seconds from
    `act` to the stream's end."""
    events: list[tuple[str, Any]] = []
    path = f"/dialogs/{dialog_id}/messages"
    acted = 0.0
    with connect_sse(console.http, "POST", path, json={"text": "Tell me a long story"}) as source:
        for sse in source.iter_sse():
            events.append((sse.event, sse.json()))
            if sse.event == "delta" and not acted:
                acted = time.monotonic()
                act()
    return events, time.monotonic() - acted


def test_a_cancel_ends_the_stream_and_frees_the_dialog(
    app: Flask, owner: Console, fake_llm: FakeLLM
) -> None:
    dialog = owner.start("assistant")
    fake_llm.script(Stall(after_chunks=3, seconds=8, text="Once upon a time, far away."))
    answers: list[dict[str, Any]] = []

    def cancel() -> None:
        def call() -> None:
            answers.append(owner.http.post(f"/dialogs/{dialog['id']}/cancel", json={}).json())

        threading.Thread(target=call).start()

    events, _ = _first_delta_then(owner, dialog["id"], cancel)

    assert events[-1][0] == "error"
    assert events[-1][1]["code"] == "cancelled"
    assert answers == [{"cancelled": True}]
    assert question_status(app, events[-1][1]["user_message_id"]) == ("error", "cancelled")
    stopped = owner.open(dialog["id"])["messages"][1]
    assert (stopped["status"], stopped["error_code"]) == ("error", "cancelled")
    assert stopped["latency_ms"] > 0, "the stopped call's time is its latency"
    # The dialog is free (the stalled answer is still being read): the next question goes on.
    fake_llm.script(Reply("Next."))
    status, following = owner.send(dialog["id"], "Something else")
    assert (status, text_of(following)) == (200, "Next.")
    # Nothing of the stopped answer was stored.
    contents = [m["content"] for m in owner.open(dialog["id"])["messages"]]
    assert contents == ["Tell me a long story", "", "Something else", "Next."]
    assert owner.http.post(f"/dialogs/{dialog['id']}/cancel", json={}).json() == {
        "cancelled": False
    }


def test_a_client_that_leaves_frees_the_dialog_soon(
    app: Flask, owner: Console, fake_llm: FakeLLM
) -> None:
    dialog = owner.start("assistant")
    fake_llm.script(Stall(after_chunks=3, seconds=10, text="Once upon a time, far away."))
    path = f"/dialogs/{dialog['id']}/messages"
    with connect_sse(owner.http, "POST", path, json={"text": "Tell me"}) as source:
        for sse in source.iter_sse():
            assert sse.event == "delta"
            break  # leave: closing the response closes the connection
    with app.app_context(), read_session(fresh=True) as session:
        question_id = session.scalar(sa.select(sa.func.max(Message.id)))
    assert question_id is not None

    # Settled well before the stalled answer would have ended (10 s).
    deadline = time.monotonic() + 5
    while question_status(app, question_id)[0] == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert question_status(app, question_id) == ("error", "cancelled")
    fake_llm.script(Reply("Welcome back."))
    assert text_of(owner.send(dialog["id"], "Back")[1]) == "Welcome back."


UNBOUNDED = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT COUNT(*) FROM c"


def test_under_gunicorn_a_running_insights_query_holds_up_no_other_request(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    """On SQLite a query steps in C: under gevent it runs in a thread apart, and the worker's
    other requests go on meanwhile; the time limit stops it."""
    password = "admin-password-1"
    with gunicorn_api(
        f"sqlite:///{tmp_path / 'aidd.db'}",
        fake_llm.base_url,
        tmp_path / "api.log",
        API_WORKERS="1",
        INSIGHTS_TIMEOUT_S="2",
        ADMIN_USERNAME="admin",
        ADMIN_PASSWORD=password,
    ) as (url, _):
        console = Console(url, ("admin", password))
        dialog = console.start("insights")
        fake_llm.script(plan(UNBOUNDED))
        answered: list[tuple[int, list[tuple[str, Any]]]] = []
        asking = threading.Thread(target=lambda: answered.append(console.send(dialog["id"], "?")))
        asking.start()
        while not fake_llm.requests:
            time.sleep(0.02)
        time.sleep(0.3)  # the plan has arrived: the query runs now, for 2 s

        health = httpx.get(url + "/api/v1/health", timeout=30)

        still_answering = asking.is_alive()
        asking.join(timeout=30)
        console.http.close()
    assert health.status_code == 200
    assert still_answering, "the health check waited for the query"
    assert answered[0][1][-1][1]["code"] == "insights_query_timeout"
