"""Webhook mode: Telegram posts updates with the secret header; a wrong secret is refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.texts import EN
from tests.bot.support import (
    WEBHOOK_SECRET,
    LiveAPI,
    RunningBot,
    bot_settings,
    running_bot,
    wait_answers,
)
from tests.doubles.fake_llm import FakeLLM
from tests.doubles.fake_telegram import FakeTelegram
from tests.doubles.telegram_html import parse_html
from tests.support import free_port

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def webhook_url() -> str:
    return f"http://127.0.0.1:{free_port()}/telegram/webhook"


@pytest.fixture
def webhook_bot(telegram: FakeTelegram, webapi: LiveAPI, webhook_url: str) -> Iterator[RunningBot]:
    settings = bot_settings(
        telegram,
        webapi.url,
        BOT_MODE="webhook",
        WEBHOOK_URL=webhook_url,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        WEBHOOK_BIND=webhook_url.split("/")[2],
    )
    with running_bot(settings) as running:
        telegram.wait_for(lambda fake: fake.webhook is not None, 20)
        yield running


def post(url: str, update: dict[str, object], secret: str) -> httpx.Response:
    return httpx.post(url, json=update, headers={SECRET_HEADER: secret}, timeout=10)


def test_a_conversation_through_the_webhook(
    webhook_bot: RunningBot,
    telegram: FakeTelegram,
    fake_llm: FakeLLM,
    webhook_url: str,
    user_id: int,
) -> None:
    assert telegram.webhook is not None
    assert telegram.webhook["url"] == webhook_url
    assert telegram.webhook["secret_token"] == WEBHOOK_SECRET
    assert not telegram.calls_to("deleteWebhook")  # polling is not what this replica does

    steps = [("/start", None), ("I am Bob", "Echo: I am Bob"), ("Who am I?", "Echo: Who am I?")]
    for count, (text, expected) in enumerate(steps, start=1):
        update = telegram.send_text(user_id, text)
        assert post(webhook_url, update, WEBHOOK_SECRET).status_code == 200
        shown = wait_answers(telegram, user_id, count)[-1].text
        if expected is not None:
            assert shown == expected
    assert fake_llm.requests[-1]["messages"][1:] == [
        {"role": "user", "content": "I am Bob"},
        {"role": "assistant", "content": "Echo: I am Bob"},
        {"role": "user", "content": "Who am I?"},
    ]
    assert not telegram.calls_to("getUpdates")


def test_a_wrong_secret_is_refused(
    webhook_bot: RunningBot, telegram: FakeTelegram, webhook_url: str, user_id: int
) -> None:
    update = telegram.send_text(user_id, "/help")
    assert post(webhook_url, update, "not-the-secret").status_code == 401
    assert httpx.post(webhook_url, json=update, timeout=10).status_code == 401
    assert (
        post(webhook_url, telegram.send_text(user_id, "/help"), WEBHOOK_SECRET).status_code == 200
    )
    (only,) = wait_answers(telegram, user_id, 1)
    assert only.text == parse_html(EN.help)[0]
