"""Many conversations at once against the real server (gunicorn, threaded) on one SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.doubles.fake_llm import FakeLLM, Reply
from tests.support import BotAPI, gunicorn_api

CONVERSATIONS = 50


@pytest.fixture
def gunicorn_sqlite(tmp_path: Path, fake_llm: FakeLLM) -> Iterator[tuple[str, Path]]:
    database = tmp_path / "aidd.db"
    with gunicorn_api(f"sqlite:///{database}", fake_llm.base_url, tmp_path / "api.log") as (url, _):
        yield url, database


def test_fifty_concurrent_streaming_conversations_on_sqlite(
    gunicorn_sqlite: tuple[str, Path], fake_llm: FakeLLM
) -> None:
    url, database = gunicorn_sqlite
    # Slow, chunked replies (text=None echoes each request) so that the streams overlap.
    fake_llm.script(*[Reply(chunk_size=3, delay_between_chunks_s=0.02)] * CONVERSATIONS)

    def converse(n: int) -> tuple[str, str, str]:
        api = BotAPI(url)
        try:
            assert api.upsert(1000 + n, username=f"user{n}").status_code == 200
            exchange = api.send(1000 + n, f"question number {n}")
            return exchange.final[0], exchange.text, exchange.final[1].get("code", "")
        finally:
            api.close()

    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool:
        results = list(pool.map(converse, range(CONVERSATIONS)))

    assert results == [("done", f"Echo: question number {n}", "") for n in range(CONVERSATIONS)]
    with sqlite3.connect(database) as connection:
        statuses = connection.execute(
            "SELECT role, status, count(*) FROM messages GROUP BY role, status ORDER BY role"
        ).fetchall()
        assert statuses == [("assistant", "ok", CONVERSATIONS), ("user", "ok", CONVERSATIONS)]
        assert connection.execute("SELECT count(*) FROM dialogs").fetchone() == (CONVERSATIONS,)
