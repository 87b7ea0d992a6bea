"""webapi going away and coming back; SIGTERM while an answer is streaming."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.texts import EN
from tests.bot.support import (
    LiveAPI,
    RunningBot,
    bot_environment,
    bot_process,
    stored_rows,
    texts_of,
    wait_answers,
)
from tests.doubles.fake_llm import FakeLLM, Reply
from tests.doubles.fake_telegram import FakeTelegram, FakeTelegramControl
from tests.doubles.telegram_html import parse_html
from tests.support import BOT_TOKEN


@pytest.mark.parametrize("bot_overrides", [{"API_RETRY_S": 5.0}])
def test_a_message_sent_while_webapi_is_down_is_answered_when_it_is_back(
    bot: RunningBot, telegram: FakeTelegram, webapi: LiveAPI, user_id: int
) -> None:
    telegram.send_text(user_id, "warm up")
    wait_answers(telegram, user_id, 1)
    webapi.stop()
    telegram.send_text(user_id, "are you there?")
    time.sleep(1.5)
    assert len(telegram.chat_messages(user_id)) == 1
    webapi.start()
    assert wait_answers(telegram, user_id, 2)[-1].text == "Echo: are you there?"


@pytest.mark.parametrize("bot_overrides", [{"API_RETRY_S": 1.0}])
def test_webapi_down_for_longer_brings_an_apology_then_normal_service(
    bot: RunningBot, telegram: FakeTelegram, webapi: LiveAPI, user_id: int
) -> None:
    webapi.stop()
    started = time.monotonic()
    telegram.send_text(user_id, "hello?")
    apology = wait_answers(telegram, user_id, 1)[0]
    assert apology.text == parse_html(EN.api_unavailable)[0]
    assert time.monotonic() - started >= 1.0  # retried for API_RETRY_S first
    telegram.send_text(user_id, "/status")  # commands apologise the same way
    assert wait_answers(telegram, user_id, 2)[-1].text == parse_html(EN.api_unavailable)[0]
    webapi.start()
    telegram.send_text(user_id, "hello again")
    assert wait_answers(telegram, user_id, 3)[-1].text == "Echo: hello again"


def test_a_user_webapi_lost_is_sent_again_and_answered(
    bot: RunningBot, telegram: FakeTelegram, webapi: LiveAPI, database_path: Path, user_id: int
) -> None:
    telegram.send_text(user_id, "first")
    wait_answers(telegram, user_id, 1)
    engine = sa.create_engine(f"sqlite:///{database_path}")
    with engine.begin() as connection:  # as if webapi had been given a new database
        user = {"t": user_id}
        connection.execute(
            sa.text(
                "DELETE FROM messages WHERE dialog_id IN (SELECT d.id FROM dialogs d "
                "JOIN users u ON d.user_id = u.id WHERE u.telegram_id = :t)"
            ),
            user,
        )
        connection.execute(
            sa.text(
                "DELETE FROM dialogs WHERE user_id IN (SELECT id FROM users WHERE telegram_id = :t)"
            ),
            user,
        )
        connection.execute(sa.text("DELETE FROM users WHERE telegram_id = :t"), user)
    engine.dispose()

    telegram.send_text(user_id, "second")
    assert wait_answers(telegram, user_id, 2)[-1].text == "Echo: second"
    assert stored_rows(f"sqlite:///{database_path}", user_id).questions == 1


def test_sigterm_finishes_the_answer_in_flight_then_exits(
    telegram: FakeTelegram, webapi: LiveAPI, fake_llm: FakeLLM, user_id: int
) -> None:
    slow = "A slow answer " + "that takes its time " * 5
    fake_llm.script(Reply(slow.strip(), chunk_size=5, delay_between_chunks_s=0.08))
    env = bot_environment(
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_BASE=telegram.base_url,
        BOT_API_TOKEN=BOT_TOKEN,
        API_URL=webapi.url,
        API_RETRY_S="2",
        BOT_SHUTDOWN_GRACE_S="20",
    )
    process = bot_process(env)
    try:
        telegram.wait_for(lambda fake: bool(fake.calls_to("deleteWebhook")), 20)
        asked = telegram.send_text(user_id, "take your time")
        telegram.wait_for(lambda fake: bool(fake.drafts(user_id)), 10)  # streaming under way
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        telegram.send_text(user_id, "sent after the stop")
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert texts_of(telegram.chat_messages(user_id)) == [slow.strip()]
    assert "bot stopped" in stderr
    # The answered update was confirmed (a restart will not get it again); the later one waits.
    assert telegram.calls_to("getUpdates")[-1].params["offset"] == asked["update_id"] + 1
    with FakeTelegramControl(telegram.base_url) as control:
        assert control.health()["pending_updates"] == 1
    assert "Traceback" not in stderr


def test_settings_errors_stop_the_bot_with_one_line() -> None:
    cases = {
        "configuration error: TELEGRAM_BOT_TOKEN is required but not set": {},
        "configuration error: BOT_API_TOKEN must have at least 16 characters": {
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "BOT_API_TOKEN": "short",
        },
        "configuration error: BOT_RATE_LIMIT is not a rate limit such as '20/minute'": {
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "BOT_API_TOKEN": BOT_TOKEN,
            "BOT_RATE_LIMIT": "lots",
        },
    }
    for line, settings in cases.items():
        result = subprocess.run(
            [sys.executable, "-m", "bot"],
            env=bot_environment(**settings),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (result.returncode, result.stderr, result.stdout) == (1, line + "\n", "")


def test_a_token_telegram_refuses_stops_the_bot_with_one_line(
    telegram: FakeTelegram, webapi: LiveAPI
) -> None:
    env = bot_environment(
        TELEGRAM_BOT_TOKEN="999:not-the-fakes-token",
        TELEGRAM_API_BASE=telegram.base_url,
        BOT_API_TOKEN=BOT_TOKEN,
        API_URL=webapi.url,
    )
    process = bot_process(env)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr.strip().splitlines()[-1] == (
        "configuration error: TELEGRAM_BOT_TOKEN was refused by Telegram"
    )
    assert "Traceback" not in stderr
