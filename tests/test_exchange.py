"""The shape of one exchange: two short write transactions, no connection held while it streams,
and every failure before the first token answered in the one error shape."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.doubles.fake_llm import FakeLLM, Reply, Status
from tests.support import BotAPI, dispose_app, make_settings, serve
from webapi import create_app
from webapi.database import write_engine_options
from webapi.extensions import db

TELEGRAM_ID = 31337


@contextmanager
def write_transactions(app: Flask) -> Iterator[list[str]]:
    """Record how each write transaction on the primary ends (commit or rollback)."""
    endings: list[str] = []
    with app.app_context():
        engine = db.engine

    def on_commit(_connection: Any) -> None:
        endings.append("commit")

    def on_rollback(_connection: Any) -> None:
        endings.append("rollback")

    sa.event.listen(engine, "commit", on_commit)
    sa.event.listen(engine, "rollback", on_rollback)
    try:
        yield endings
    finally:
        sa.event.remove(engine, "commit", on_commit)
        sa.event.remove(engine, "rollback", on_rollback)


@pytest.mark.parametrize(
    ("script", "final"),
    [
        pytest.param([Reply("All good.")], "done", id="answered"),
        pytest.param([Status(400)], "error", id="failed"),
    ],
)
def test_an_answer_costs_exactly_two_write_transactions(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM, script: list[Any], final: str
) -> None:
    bot_api.upsert(TELEGRAM_ID)
    bot_api.send(TELEGRAM_ID, "a first question opens the dialog")
    fake_llm.script(*script)

    with write_transactions(app) as endings:
        exchange = bot_api.send(TELEGRAM_ID, "a question")

    assert exchange.final[0] == final
    assert endings == ["commit", "commit"], "the question, then the answer or the failure"


def test_the_first_message_of_a_dialog_also_costs_two(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(TELEGRAM_ID)

    with write_transactions(app) as endings:
        assert bot_api.send(TELEGRAM_ID, "hello").final[0] == "done"

    assert endings == ["commit", "commit"]


def _drop_table(app: Flask, table: str) -> None:
    with app.app_context():
        cascade = " CASCADE" if db.engine.dialect.name == "postgresql" else ""
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE {table}{cascade}"))


def test_a_failure_before_the_first_token_is_a_json_error(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    """Storing the question runs in the request: its failure is an error answer, not a cut
    stream."""
    bot_api.upsert(TELEGRAM_ID)
    _drop_table(app, "messages")

    exchange = bot_api.send(TELEGRAM_ID, "is anyone there?")

    assert exchange.status_code == 500
    assert exchange.content_type.startswith("application/json")
    ((kind, body),) = exchange.events
    assert (kind, body["error"]["code"]) == ("http_error", "internal_error")
    assert fake_llm.requests == [], "nothing reached the LLM"


def test_an_unknown_user_is_refused_before_the_stream(app: Flask, bot_api: BotAPI) -> None:
    exchange = bot_api.send(404404, "hello")

    assert (exchange.status_code, exchange.content_type) == (404, "application/json")


def test_streams_hold_no_connection_while_they_stream(
    app: Flask, database_url: str, fake_llm: FakeLLM
) -> None:
    """Four slow answers at once through a pool of one connection: they overlap, all finish."""
    options = write_engine_options(database_url) | {
        "pool_size": 1,
        "max_overflow": 0,
        "pool_timeout": 3,
    }
    one_connection = create_app(  # on the database the `app` fixture migrated
        {"TESTING": True, "SQLALCHEMY_ENGINE_OPTIONS": options},
        settings=make_settings(database_url, fake_llm.base_url),
    )
    streams = 4
    fake_llm.script(*[Reply("slow " * 20, chunk_size=5, delay_between_chunks_s=0.05)] * streams)
    first_delta: dict[int, float] = {}
    finished: dict[int, float] = {}
    lock = threading.Lock()

    def converse(url: str, n: int) -> str:
        api = BotAPI(url)
        try:
            api.upsert(7000 + n)
            with api.http.stream(
                "POST", f"/users/{7000 + n}/messages", json={"text": f"question {n}"}
            ) as response:
                final = ""
                for line in response.iter_lines():
                    if line.startswith("event: delta"):
                        with lock:
                            first_delta.setdefault(n, time.monotonic())
                    elif line.startswith("event: "):
                        final = line.removeprefix("event: ")
            with lock:
                finished[n] = time.monotonic()
            return final
        finally:
            api.close()

    try:
        for url in serve(one_connection):
            with ThreadPoolExecutor(max_workers=streams) as pool:
                results = list(pool.map(partial(converse, url), range(streams)))
    finally:
        dispose_app(one_connection)

    assert results == ["done"] * streams
    assert max(first_delta.values()) < min(finished.values()), "all four streamed at once"
