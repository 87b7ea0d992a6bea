"""What tests and benchmarks share: app and settings builders, real servers, the bot's client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from httpx_sse import connect_sse
from werkzeug.serving import BaseWSGIServer, make_server

from webapi import create_app
from webapi.database import dispose_read_engines
from webapi.extensions import db
from webapi.services import services
from webapi.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "test-bot-token-0123456789"
SECRET_KEY = "test-secret-key-0123456789"
# The machine's PostgreSQL (.ci/run starts it): a role that may create databases.
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://aidd:aidd@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def flask_cli(
    env: dict[str, str], *args: str, stdin: str = "", app: str = "webapi"
) -> subprocess.CompletedProcess[str]:
    """`flask --app APP ARGS` in a child process with exactly the given environment."""
    return subprocess.run(  # noqa: S603 (a fixed command line)
        [sys.executable, "-m", "flask", "--app", app, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:webapi.gunicorn_conf"]
APP = "webapi:create_app()"


def server_environment(database_url: str, llm_base_url: str, **settings: str) -> dict[str, str]:
    """Exactly the environment webapi's processes get: nothing leaks in from the machine."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/"),
        "FLASK_SKIP_DOTENV": "1",
        "DATABASE_URL": database_url,
        "LLM_BASE_URL": llm_base_url,
        "LLM_MODEL": "test-model",
        "LLM_TIMEOUT_S": "30",
        "BOT_API_TOKEN": BOT_TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "PROMPTS_DIR": str(ROOT / "prompts"),
        "API_BIND": f"127.0.0.1:{free_port()}",
        **settings,
    }


@contextmanager
def background_process(
    command: list[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """One of our own commands, run from the repository with exactly `env` and its output in
    `log_path`; stopped (SIGTERM, then SIGKILL after 60 s) at the end."""
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 (our own commands, no outside input)
            command, cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def gunicorn_server(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn as the README starts it, with its output in `log_path`; stopped at the end."""
    with background_process([*GUNICORN, APP], env, log_path) as server:
        yield server


@contextmanager
def gunicorn_api(
    database_url: str, llm_base_url: str, log_path: Path, **settings: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Migrate, then serve webapi as production does (gunicorn) on 127.0.0.1: its URL and
    gunicorn's master process."""
    env = server_environment(database_url, llm_base_url, **settings)
    with migrated_and_served(env, log_path) as served:
        yield served


@contextmanager
def migrated_and_served(
    env: dict[str, str], log_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`flask db upgrade`, then gunicorn, both with exactly `env`; its URL once it is ready."""
    migrated = flask_cli(env, "db", "upgrade")
    if migrated.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{migrated.stderr}")
    with gunicorn_server(env, log_path) as server:
        url = f"http://{env['API_BIND']}"
        wait_ready(url, server, log_path)
        yield url, server


def wait_ready(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"webapi did not become ready:\n{log_path.read_text()}")


@contextmanager
def scratch_postgres_database(admin: sa.Engine) -> Iterator[str]:
    """A new, empty database for one test or run, dropped afterwards (admin: AUTOCOMMIT)."""
    name = f"aidd_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(database_url: str, llm_base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "LLM_BASE_URL": llm_base_url,
        "LLM_API_KEY": "test-llm-key",
        "LLM_MODEL": "test-model",
        "LLM_TIMEOUT_S": 5.0,
        "BOT_API_TOKEN": BOT_TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "PROMPTS_DIR": ROOT / "prompts",
        "DEFAULT_ROLE": "consultant",
        "MAX_CONTEXT_MESSAGES": 20,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "LOGIN_CLIENT_RATE_LIMIT": "1000 per minute",
    }
    values.update(overrides)
    return load_settings(**values)


def make_app(settings: Settings) -> Flask:
    """A migrated app, as a container runs it after `flask db upgrade`."""
    app = create_app({"TESTING": True}, settings=settings)
    with app.app_context():
        upgrade()
    return app


def dispose_app(app: Flask) -> None:
    """Close what an app holds open: its LLM client and its database connections."""
    with app.app_context():
        services().llm.close()
        db.engine.dispose()
    dispose_read_engines(app)


@contextmanager
def started_app(database_url: str, llm_base_url: str, **overrides: Any) -> Iterator[Flask]:
    """An app as a (re)start builds it: no migration run; disposed afterwards."""
    app = create_app(
        {"TESTING": True}, settings=make_settings(database_url, llm_base_url, **overrides)
    )
    try:
        yield app
    finally:
        dispose_app(app)


def serve(app: Flask) -> Iterator[str]:
    """Serve the app over real HTTP on 127.0.0.1 with a thread per request."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class Exchange:
    """What one streamed answer looked like on the wire."""

    status_code: int
    content_type: str
    events: list[tuple[str, dict[str, Any]]]

    @property
    def text(self) -> str:
        return "".join(data["text"] for name, data in self.events if name == "delta")

    @property
    def final(self) -> tuple[str, dict[str, Any]]:
        return self.events[-1]


class BotAPI:
    """The bot's side of the API, spoken over HTTP with the bot token."""

    def __init__(self, base_url: str, token: str = BOT_TOKEN) -> None:
        self.http = httpx.Client(
            base_url=f"{base_url}/api/v1/bot",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def close(self) -> None:
        self.http.close()

    def upsert(self, telegram_id: int, **profile: Any) -> httpx.Response:
        return self.http.put(f"/users/{telegram_id}", json=profile)

    def send(self, telegram_id: int, text: str, **fields: Any) -> Exchange:
        """Send a message (`fields`: chat_id, idempotency_key) and read the whole answer."""
        body = {"text": text, **fields}
        with connect_sse(self.http, "POST", f"/users/{telegram_id}/messages", json=body) as source:
            response = source.response
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                events = [(sse.event, sse.json()) for sse in source.iter_sse()]
            else:
                response.read()
                events = [("http_error", response.json())]
            return Exchange(response.status_code, response.headers["content-type"], events)

    def reset(self, telegram_id: int) -> httpx.Response:
        return self.http.post(f"/users/{telegram_id}/reset")

    def status(self, telegram_id: int) -> httpx.Response:
        return self.http.get(f"/users/{telegram_id}/status")
