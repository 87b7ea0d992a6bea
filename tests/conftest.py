"""Layered fixtures: fake LLM → database → settings → app → client / live server / bot API."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from httpx_sse import connect_sse
from werkzeug.serving import BaseWSGIServer, make_server

from tests.doubles.fake_llm import FakeLLM
from webapi import create_app
from webapi.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "test-bot-token-0123456789"
# The machine's PostgreSQL (.ci/run starts it); each test gets a database of its own.
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://aidd:aidd@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> FakeLLM:
    fake_llm_server.reset()
    return fake_llm_server


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at TEST_POSTGRES_URL ({exc.orig}); "
            "start it as .ci/run does",
            pytrace=False,
        )
    yield engine
    engine.dispose()


def _postgres_database(admin: sa.Engine) -> Iterator[str]:
    name = f"aidd_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test that uses it runs twice: on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aidd.db'}"
    else:
        yield from _postgres_database(request.getfixturevalue("postgres_admin"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'aidd.db'}"


def make_settings(database_url: str, llm_base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "LLM_BASE_URL": llm_base_url,
        "LLM_API_KEY": "test-llm-key",
        "LLM_MODEL": "test-model",
        "LLM_TIMEOUT_S": 5.0,
        "BOT_API_TOKEN": BOT_TOKEN,
        "SECRET_KEY": "test-secret-key-0123456789",
        "PROMPTS_DIR": ROOT / "prompts",
        "DEFAULT_ROLE": "consultant",
        "MAX_CONTEXT_MESSAGES": 20,
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    values.update(overrides)
    return load_settings(**values)


def flask_cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`flask --app webapi ARGS` in a child process with exactly the given environment."""
    return subprocess.run(  # noqa: S603 (a fixed command line)
        [sys.executable, "-m", "flask", "--app", "webapi", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def make_app(settings: Settings) -> Flask:
    """A migrated app, as a container runs it after `flask db upgrade`."""
    app = create_app({"TESTING": True}, settings=settings)
    with app.app_context():
        upgrade()
    return app


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Tests override settings by overriding this fixture or parametrizing it indirectly."""
    return {}


@pytest.fixture
def app(
    database_url: str, fake_llm: FakeLLM, settings_overrides: dict[str, Any]
) -> Iterator[Flask]:
    app = make_app(make_settings(database_url, fake_llm.base_url, **settings_overrides))
    yield app
    _dispose(app)


@pytest.fixture
def sqlite_app(
    sqlite_url: str, fake_llm: FakeLLM, settings_overrides: dict[str, Any]
) -> Iterator[Flask]:
    app = make_app(make_settings(sqlite_url, fake_llm.base_url, **settings_overrides))
    yield app
    _dispose(app)


def _dispose(app: Flask) -> None:
    from webapi.extensions import db
    from webapi.services import services

    with app.app_context():
        services().llm.close()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    yield from serve(app)


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

    def send(self, telegram_id: int, text: str) -> Exchange:
        with connect_sse(
            self.http, "POST", f"/users/{telegram_id}/messages", json={"text": text}
        ) as source:
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


@pytest.fixture
def bot_api(live_url: str) -> Iterator[BotAPI]:
    api = BotAPI(live_url)
    yield api
    api.close()
