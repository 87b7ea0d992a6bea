"""Fixtures for the bot's tests: fake Telegram, webapi (real, on SQLite), fake LLM, the bot."""

# ruff: noqa: E402 (the imports that reach aiogram follow import_aiogram, on purpose)

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bot.telegram_types import import_aiogram

# Before the bot's modules import aiogram, as `python -m bot` does: the same models, built on
# first use.
import_aiogram()

from tests.bot.support import LiveAPI, RunningBot, bot_settings, running_bot
from tests.doubles.fake_llm import FakeLLM
from tests.doubles.fake_telegram import FakeTelegram
from tests.support import BotAPI, dispose_app, make_app, make_settings

# webapi's budget for one answer in these tests: short, so timeouts are quick to provoke.
LLM_TIMEOUT_S = 3.0
_user_ids = itertools.count(10_000)


@pytest.fixture(scope="session")
def bot_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('bot-api') / 'aidd.db'}"


@pytest.fixture(scope="session")
def api_app(bot_database: str, fake_llm_server: FakeLLM) -> Iterator[Flask]:
    """One migrated webapi for the session: each test talks as users of its own."""
    settings = make_settings(
        bot_database, fake_llm_server.base_url, LLM_TIMEOUT_S=LLM_TIMEOUT_S, LLM_MAX_ATTEMPTS=1
    )
    app = make_app(settings)
    yield app
    dispose_app(app)


@pytest.fixture(scope="session")
def live_api(api_app: Flask) -> Iterator[LiveAPI]:
    api = LiveAPI(api_app)
    api.start()
    yield api
    api.stop()


@pytest.fixture
def webapi(live_api: LiveAPI, fake_llm: FakeLLM) -> Iterator[LiveAPI]:
    """webapi serving, with a fresh fake LLM; serving again after a test stopped it."""
    live_api.requests.clear()
    yield live_api
    if not live_api.running:
        live_api.start()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    """Tests change the bot's settings by overriding this fixture or parametrizing it."""
    return {}


@pytest.fixture
def bot(
    telegram: FakeTelegram, webapi: LiveAPI, bot_overrides: dict[str, Any]
) -> Iterator[RunningBot]:
    """The bot, polling the fake Telegram, talking to webapi."""
    with running_bot(bot_settings(telegram, webapi.url, **bot_overrides)) as running:
        telegram.wait_for(lambda fake: bool(fake.calls_to("deleteWebhook")))
        yield running


@pytest.fixture
def user_id() -> int:
    """A Telegram user no other test uses."""
    return next(_user_ids)


@pytest.fixture
def other_user_id() -> int:
    return next(_user_ids)


@pytest.fixture
def database_path(bot_database: str) -> Path:
    return Path(bot_database.removeprefix("sqlite:///"))


@pytest.fixture
def webapi_client(webapi: LiveAPI) -> Iterator[BotAPI]:
    """webapi's bot endpoints, called directly (to compare with what the bot shows)."""
    client = BotAPI(webapi.url)
    yield client
    client.close()
