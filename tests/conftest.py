"""Layered fixtures: fake LLM → database → settings → app → client / live server / bot API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.doubles.fake_llm import FakeLLM
from tests.support import (
    POSTGRES_ADMIN_URL,
    BotAPI,
    dispose_app,
    make_app,
    make_settings,
    scratch_postgres_database,
    serve,
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test that uses it runs twice: on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aidd.db'}"
    else:
        with scratch_postgres_database(request.getfixturevalue("postgres_admin")) as url:
            yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'aidd.db'}"


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
    dispose_app(app)


@pytest.fixture
def sqlite_app(
    sqlite_url: str, fake_llm: FakeLLM, settings_overrides: dict[str, Any]
) -> Iterator[Flask]:
    app = make_app(make_settings(sqlite_url, fake_llm.base_url, **settings_overrides))
    yield app
    dispose_app(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    yield from serve(app)


@pytest.fixture
def bot_api(live_url: str) -> Iterator[BotAPI]:
    api = BotAPI(live_url)
    yield api
    api.close()
