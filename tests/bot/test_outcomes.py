"""Every answer-outcome code of webapi's OpenAPI document: a specific message in both languages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from bot.api import WebAPI
from bot.texts import CATALOGUES, EN, RU, Texts
from tests.bot.conftest import LLM_TIMEOUT_S
from tests.bot.support import (
    LiveAPI,
    ScriptedAPI,
    bot_settings,
    running_bot,
    wait_answers,
    wait_text,
)
from tests.doubles.fake_llm import Behaviour, FakeLLM, Hang, Malformed, Status
from tests.doubles.fake_telegram import FakeTelegram
from tests.doubles.telegram_html import parse_html
from tests.support import BOT_TOKEN, free_port, serve, started_app


@pytest.fixture
def published_codes(webapi: LiveAPI) -> list[str]:
    """AnswerErrorCode as webapi publishes it, read through the bot's own client."""

    async def fetch() -> list[str]:
        api = WebAPI(webapi.url, BOT_TOKEN, retry_s=1, read_timeout_s=5)
        try:
            return await api.answer_error_codes()
        finally:
            await api.close()

    codes = asyncio.run(fetch())
    document = httpx.get(f"{webapi.url}/api/v1/openapi.json").json()
    assert codes == document["components"]["schemas"]["AnswerErrorCode"]["enum"]
    return codes


def test_every_published_code_has_its_own_text_in_every_catalogue(
    published_codes: list[str],
) -> None:
    assert len(published_codes) >= 10
    for language, texts in CATALOGUES.items():
        missing = [code for code in published_codes if code not in texts.answer_errors]
        assert missing == [], f"{language} catalogue lacks texts for {missing}"
        specific = {texts.answer_error(code) for code in published_codes}
        assert len(specific) == len(published_codes)  # one message per code, none generic
        assert texts.failed not in specific


@pytest.mark.parametrize(
    ("code", "behaviour"),
    [
        ("llm_timeout", Hang(LLM_TIMEOUT_S + 2)),
        ("llm_rate_limited", Status(429, retry_after=0)),
        ("llm_unavailable", Status(503)),
        ("llm_bad_response", Malformed(after_chunks=2)),
        ("llm_rejected", Status(401)),
    ],
)
def test_what_the_llm_does_wrong_reaches_the_user_as_its_message(
    bot: object,
    telegram: FakeTelegram,
    fake_llm: FakeLLM,
    user_id: int,
    code: str,
    behaviour: Behaviour,
) -> None:
    fake_llm.script(behaviour)
    telegram.send_text(user_id, "please answer", language_code="ru")
    wait_text(telegram, user_id, [parse_html(RU.answer_error(code))[0]], timeout=10)
    telegram.send_text(user_id, "and again")  # the bot serves on
    assert wait_answers(telegram, user_id, 2)[-1].text == "Echo: and again"


@pytest.fixture
def unreachable_llm_api(bot_database: str) -> Iterator[str]:
    """webapi whose LLM_BASE_URL points at a port nobody listens on."""
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    with started_app(bot_database, nowhere, LLM_MAX_ATTEMPTS=1) as app:
        yield from serve(app)


def test_an_unreachable_llm_reaches_the_user_as_its_message(
    telegram: FakeTelegram, unreachable_llm_api: str, user_id: int
) -> None:
    with running_bot(bot_settings(telegram, unreachable_llm_api)):
        telegram.send_text(user_id, "hello?")
        assert (
            wait_answers(telegram, user_id, 1)[0].text
            == parse_html(EN.answer_error("llm_unreachable"))[0]
        )


@pytest.fixture
def scripted_api() -> Iterator[ScriptedAPI]:
    api = ScriptedAPI().start()
    yield api
    api.stop()


@pytest.mark.parametrize(("language", "texts"), [("en", EN), ("ru", RU)])
def test_every_published_code_gets_its_message(
    telegram: FakeTelegram,
    scripted_api: ScriptedAPI,
    published_codes: list[str],
    user_id: int,
    language: str,
    texts: Texts,
) -> None:
    """Codes webapi cannot be made to produce on demand come from a scripted stand-in."""
    with running_bot(bot_settings(telegram, scripted_api.url)):
        for index, code in enumerate(published_codes):
            scripted_api.code = code
            # webapi refuses a message that cannot get its turn before any stream starts.
            scripted_api.status = 409 if code == "answer_in_progress" else 200
            asker = user_id * 100 + index  # a chat each: no pacing between them
            telegram.send_text(asker, "question", language_code=language)
            shown = wait_answers(telegram, asker, 1, timeout=10)[-1].text
            assert shown == parse_html(texts.answer_error(code))[0], code
    posted = [body for method, _, body in scripted_api.requests if method == "POST"]
    assert [body["idempotency_key"] for body in posted] == [
        f"tg:{user_id * 100 + index}:1" for index in range(len(published_codes))
    ]
