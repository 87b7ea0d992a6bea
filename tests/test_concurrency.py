"""Many conversations at once against the real server (gunicorn, threaded) on one SQLite file."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import BOT_TOKEN, ROOT, BotAPI, flask_cli
from tests.doubles.fake_llm import FakeLLM, Reply

CONVERSATIONS = 50


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def gunicorn_api(tmp_path: Path, fake_llm: FakeLLM) -> Iterator[tuple[str, Path]]:
    database = tmp_path / "aidd.db"
    port = _free_port()
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{database}",
        "LLM_BASE_URL": fake_llm.base_url,
        "LLM_MODEL": "test-model",
        "LLM_TIMEOUT_S": "30",
        "BOT_API_TOKEN": BOT_TOKEN,
        "SECRET_KEY": "test-secret-key-0123456789",
        "PROMPTS_DIR": str(ROOT / "prompts"),
        "API_BIND": f"127.0.0.1:{port}",
    }
    migrated = flask_cli(env, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:webapi.gunicorn_conf",
            "webapi:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "gunicorn.log").read_text())
            time.sleep(0.1)
        yield url, database
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_fifty_concurrent_streaming_conversations_on_sqlite(
    gunicorn_api: tuple[str, Path], fake_llm: FakeLLM
) -> None:
    url, database = gunicorn_api
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
