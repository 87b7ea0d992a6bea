"""Questions whose answer can no longer arrive end `interrupted`, never pending, on both databases.

A worker killed mid-answer (kill -9) settles nothing itself: a serving process marks what it left,
within LLM_TIMEOUT_S and a small margin. An answer that comes after that mark is not stored.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from tests.doubles.fake_llm import FakeLLM, Stall
from tests.support import (
    BotAPI,
    dispose_app,
    gunicorn_api,
    make_app,
    make_settings,
    started_app,
)
from webapi.domain import interruptions
from webapi.extensions import db
from webapi.models import Dialog, Message, User, utcnow
from webapi.services import services

LLM_TIMEOUT_S = 3.0
CUT = 5  # answers in flight when the worker is killed


def messages(database_url: str) -> list[dict[str, Any]]:
    """Every message row, oldest first, read straight from the database."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sa.text(
                    "SELECT m.id, u.telegram_id, m.role, m.content, m.status, m.error_code"
                    " FROM messages m JOIN dialogs d ON d.id = m.dialog_id"
                    " JOIN users u ON u.id = d.user_id ORDER BY m.id"
                )
            )
            return [dict(row._mapping) for row in found]
    finally:
        engine.dispose()


def app_timeout(app: Flask) -> float:
    with app.app_context():
        return services().settings.LLM_TIMEOUT_S


def worker_pids(master: int) -> list[int]:
    """gunicorn's workers: the processes whose parent is its master (from /proc/PID/stat)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        if int(stat.rpartition(")")[2].split()[1]) == master:
            children.append(int(entry.name))
    return children


def wait_for_workers(master: int, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(pids := worker_pids(master)) == count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"gunicorn did not have {count} worker(s) in time")


@contextmanager
def streaming(url: str, telegram_ids: list[int]) -> Iterator[threading.Barrier]:
    """One streamed question per user, each read until its connection ends, however it ends.

    The barrier lets the caller wait until every stream has received its first delta.
    """
    started = threading.Barrier(len(telegram_ids) + 1, timeout=15)

    def converse(telegram_id: int) -> None:
        api = BotAPI(url)
        try:
            with api.http.stream(
                "POST", f"/users/{telegram_id}/messages", json={"text": f"cut {telegram_id}"}
            ) as response:
                first = True
                for line in response.iter_lines():
                    if first and line.startswith("event: delta"):
                        first = False
                        started.wait()
        except httpx.HTTPError:
            pass  # the worker died under it: the stream breaks off
        finally:
            api.close()

    threads = [threading.Thread(target=converse, args=(t,), daemon=True) for t in telegram_ids]
    for thread in threads:
        thread.start()
    try:
        yield started
    finally:
        for thread in threads:
            thread.join(timeout=30)


def test_a_killed_worker_leaves_no_question_pending(
    database_url: str, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    log_path = tmp_path / "api.log"
    cut_users = [9000 + n for n in range(CUT)]
    # Each answer sends a few words, then stalls far beyond LLM_TIMEOUT_S: it is cut mid-answer.
    fake_llm.script(*[Stall(after_chunks=2, seconds=30, text="half an answer " * 5)] * CUT)

    with gunicorn_api(
        database_url,
        fake_llm.base_url,
        log_path,
        LLM_TIMEOUT_S=str(LLM_TIMEOUT_S),
        API_WORKERS="1",
    ) as (url, server):
        api = BotAPI(url)
        try:
            for telegram_id in cut_users:
                assert api.upsert(telegram_id).status_code == 200
            (worker,) = wait_for_workers(server.pid, 1)

            with streaming(url, cut_users) as started:
                started.wait()  # every answer is under way, on the one worker
                os.kill(worker, signal.SIGKILL)
                killed_at = time.monotonic()

            cut = sorted((m["telegram_id"], m["status"]) for m in messages(database_url))
            assert cut == [(t, "pending") for t in cut_users], "cut before anything settled"

            # A cut user asks again at once: the message waits for the dialog to be free.
            follow_up = api.send(cut_users[0], "are you back?")
            # LLM_TIMEOUT_S and the margin, with room for a slow machine.
            within = LLM_TIMEOUT_S + interruptions.MARGIN_S + interruptions.MAX_PERIOD_S + 10
            while (settled_after := time.monotonic() - killed_at) < within:
                rows = messages(database_url)
                if all(m["status"] != "pending" for m in rows):
                    break
                time.sleep(0.2)
        finally:
            api.close()

        assert settled_after < within, f"questions still pending {within:.0f} s after the kill"
        rows = messages(database_url)
        questions = [m for m in rows if m["content"].startswith("cut ")]
        assert (
            sorted((m["status"], m["error_code"]) for m in questions)
            == [("error", "interrupted")] * CUT
        )
        answers = [m for m in rows if m["role"] == "assistant"]
        assert [m["content"] for m in answers] == ["Echo: are you back?"], (
            "no answer row for a cut question: only the follow-up's"
        )
        assert follow_up.final[0] == "done", "the server kept serving, the cut user too"
        assert follow_up.text == "Echo: are you back?"
        context = fake_llm.requests[-1]["messages"]
        assert [m["role"] for m in context] == ["system", "user"], (
            "an interrupted turn is no context"
        )
    assert "interrupted" in log_path.read_text()


@pytest.mark.parametrize(
    ("settings_overrides", "behaviour"),
    [
        pytest.param({}, Stall(after_chunks=2, seconds=1.0), id="late-answer"),
        pytest.param({"LLM_TIMEOUT_S": 1.5}, Stall(after_chunks=2, seconds=10), id="late-failure"),
    ],
)
def test_an_answer_that_ends_after_the_sweep_is_not_stored(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM, behaviour: Stall
) -> None:
    """The race: the sweep marks the question while its answer still streams. The answer's
    end then stores nothing, and its stream ends with `interrupted`."""
    telegram_id = 5150
    bot_api.upsert(telegram_id)
    fake_llm.script(behaviour)

    with bot_api.http.stream(
        "POST", f"/users/{telegram_id}/messages", json={"text": "a slow one"}
    ) as response:
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("event: delta"):
                break
        with app.app_context():  # as if the answer had outlived its deadline
            later = utcnow() + timedelta(hours=1)
            assert interruptions.sweep(app_timeout(app), now=later) == 1
        events = [line for line in lines if line.startswith(("event: ", "data: "))]

    assert events[-2] == "event: error"
    assert '"code":"interrupted"' in events[-1].replace(" ", "")
    with app.app_context():
        rows = db.session.execute(sa.select(Message.role, Message.status, Message.error_code))
        assert list(map(tuple, rows)) == [("user", "error", "interrupted")], (
            "neither the answer nor the failed call is stored after the mark"
        )


def test_the_sweep_spares_young_and_settled_questions(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(77)
    assert bot_api.send(77, "answered").final[0] == "done"
    with app.app_context():
        dialog_id = db.session.scalar(sa.select(Dialog.id))
        db.session.add(
            Message(dialog_id=dialog_id, role="user", content="young", length=5, status="pending")
        )
        db.session.commit()
        timeout = app_timeout(app)

        assert interruptions.sweep(timeout) == 0, "a young question may still be answered"
        statuses = db.session.execute(sa.select(Message.content, Message.status)).all()
        assert sorted(map(tuple, statuses)) == [
            ("Echo: answered", "ok"),
            ("answered", "ok"),
            ("young", "pending"),
        ]
        db.session.rollback()

        just_past = utcnow() + timedelta(seconds=interruptions.horizon_s(timeout) + 1)
        assert interruptions.sweep(timeout, now=just_past) == 1
        rows = db.session.execute(sa.select(Message.content, Message.status, Message.error_code))
        assert sorted(map(tuple, rows)) == [
            ("Echo: answered", "ok", None),
            ("answered", "ok", None),
            ("young", "error", "interrupted"),
        ]


def test_a_started_server_marks_what_the_last_one_left_pending(
    database_url: str, fake_llm: FakeLLM
) -> None:
    """No human, no request: a (re)started app sweeps on its own, at once and then again."""
    first = make_app(make_settings(database_url, fake_llm.base_url))
    try:
        with first.app_context():
            user = User(telegram_id=1)
            db.session.add(user)
            db.session.flush()
            dialog = Dialog(user_id=user.id, channel="telegram", mode="assistant", role="x")
            db.session.add(dialog)
            db.session.flush()
            db.session.add(
                Message(
                    dialog_id=dialog.id,
                    role="user",
                    content="left pending by a crash",
                    length=23,
                    status="pending",
                    created_at=utcnow() - timedelta(hours=1),
                )
            )
            db.session.commit()
    finally:
        dispose_app(first)

    with started_app(database_url, fake_llm.base_url):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            (question,) = messages(database_url)
            if question["status"] != "pending":
                break
            time.sleep(0.1)
    assert (question["status"], question["error_code"]) == ("error", "interrupted")
