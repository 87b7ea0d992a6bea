"""The bot's settings: defaults, empty means unset, and one clear line for a bad value."""

from __future__ import annotations

from typing import Any

import pytest

from bot.settings import BotMode, BotSettings, ConfigError, RateLimit, load_settings

REQUIRED = {"TELEGRAM_BOT_TOKEN": "123456:ABC-def_1", "BOT_API_TOKEN": "0123456789abcdef"}
SECRETS = ("TELEGRAM_BOT_TOKEN", "BOT_API_TOKEN", "WEBHOOK_SECRET")


@pytest.fixture(autouse=True)
def no_bot_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test gives counts, whatever the machine's environment holds."""
    for name in BotSettings.model_fields:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings(**REQUIRED)
    assert settings.api_url == "http://127.0.0.1:8000"
    assert settings.telegram_api_base == "https://api.telegram.org"
    assert settings.API_RETRY_S == 30
    assert settings.BOT_MODE is BotMode.POLLING
    assert settings.webhook_host_port == ("127.0.0.1", 8081)
    assert settings.allowed_user_ids == frozenset()
    assert settings.BOT_MAX_INPUT_CHARS == 16_000
    assert settings.rate_limit == RateLimit(20, 60.0)
    assert settings.api_read_timeout_s > settings.LLM_TIMEOUT_S + 10


def test_an_empty_value_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_RETRY_S", "")
    monkeypatch.setenv("BOT_MODE", "")
    settings = load_settings(**REQUIRED)
    assert (settings.API_RETRY_S, settings.BOT_MODE) == (30, BotMode.POLLING)


def test_lists_and_limits_are_read() -> None:
    settings = load_settings(
        **REQUIRED, BOT_ALLOWED_USER_IDS=" 7, 42 ,", BOT_RATE_LIMIT="5 per second"
    )
    assert settings.allowed_user_ids == frozenset({7, 42})
    assert settings.rate_limit == RateLimit(5, 1.0)


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ({"TELEGRAM_BOT_TOKEN": None}, "TELEGRAM_BOT_TOKEN is required but not set"),
        (
            {"TELEGRAM_BOT_TOKEN": "secret-without-an-id"},
            "TELEGRAM_BOT_TOKEN is not a bot token such as 123456:ABC-DEF (ask @BotFather)",
        ),
        ({"BOT_API_TOKEN": "short"}, "BOT_API_TOKEN must have at least 16 characters"),
        ({"API_URL": "ftp://example.com"}, "API_URL must be an http(s) URL"),
        ({"TELEGRAM_API_BASE": "not a url"}, "TELEGRAM_API_BASE must be an http(s) URL"),
        ({"API_RETRY_S": "-1"}, "API_RETRY_S must be at least 0"),
        ({"API_RETRY_S": "soon"}, "API_RETRY_S must be a number"),
        ({"BOT_MODE": "push"}, "BOT_MODE must be one of 'polling' or 'webhook'"),
        ({"BOT_MODE": "webhook"}, "WEBHOOK_URL is required when BOT_MODE=webhook"),
        (
            {"BOT_MODE": "webhook", "WEBHOOK_URL": "https://bot.example.com/hook"},
            "WEBHOOK_SECRET is required when BOT_MODE=webhook",
        ),
        (
            {"WEBHOOK_SECRET": "has spaces in it"},
            "WEBHOOK_SECRET must be 1-256 characters: letters, digits, '_' and '-'",
        ),
        ({"WEBHOOK_BIND": "localhost"}, "WEBHOOK_BIND must be HOST:PORT (e.g. 127.0.0.1:8081)"),
        (
            {"WEBHOOK_BIND": "127.0.0.1:70000"},
            "WEBHOOK_BIND must be HOST:PORT (e.g. 127.0.0.1:8081)",
        ),
        (
            {"BOT_ALLOWED_USER_IDS": "1,two"},
            "BOT_ALLOWED_USER_IDS must be a comma-separated list of Telegram user ids",
        ),
        ({"BOT_RATE_LIMIT": "0/minute"}, "BOT_RATE_LIMIT is not a rate limit such as '20/minute'"),
        ({"BOT_MAX_INPUT_CHARS": "20000"}, "BOT_MAX_INPUT_CHARS must be at most 16000"),
        ({"BOT_MAX_INPUT_CHARS": "1.5"}, "BOT_MAX_INPUT_CHARS must be a whole number"),
        ({"BOT_LOG_LEVEL": "LOUD"}, "BOT_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(values: dict[str, Any], line: str) -> None:
    given = {**REQUIRED, **values}
    with pytest.raises(ConfigError) as raised:
        load_settings(**{name: value for name, value in given.items() if value is not None})
    assert raised.value.code == f"configuration error: {line}"
    for name in SECRETS:
        secret = given.get(name)
        if secret:
            assert secret not in str(raised.value.code)  # a secret is never echoed
