"""The fake Telegram Bot API, driven by an unmodified aiogram Bot over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, InlineKeyboardButton
from aiogram.types import InlineKeyboardMarkup as Keyboard

from tests.doubles.fake_telegram import FakeTelegram, FakeTelegramControl

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[2]
USER = 42  # a private chat's id is its user's id


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeTelegram) -> FakeTelegram:
    fake_server.reset()
    return fake_server


def with_bot(fake: FakeTelegram, scenario: Callable[[Bot], Awaitable[T]], token: str = "") -> T:
    """Run ``scenario`` with a real aiogram Bot pointed at the fake, in a fresh event loop."""

    async def main() -> T:
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        bot = Bot(token or fake.token, session=session)
        try:
            return await scenario(bot)
        finally:
            await bot.session.close()

    return asyncio.run(main())


def keyboard(*data: str) -> Keyboard:
    return Keyboard(
        inline_keyboard=[[InlineKeyboardButton(text=item, callback_data=item) for item in data]]
    )


# --------------------------------------------------------------------------- identity


def test_get_me_answers_the_bot_of_the_token(fake: FakeTelegram) -> None:
    me = with_bot(fake, lambda bot: bot.get_me())
    assert (me.id, me.is_bot, me.username) == (123456, True, "systech_aidd_bot")
    assert fake.calls_to("getMe")[0].ok


def test_a_wrong_token_is_unauthorized_and_an_unknown_method_not_found(
    fake: FakeTelegram,
) -> None:
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        with_bot(fake, lambda bot: bot.get_me(), token="123456:WRONG")
    assert fake.calls[-1].status == 401

    answer = httpx.post(f"{fake.base_url}/bot{fake.token}/sendSticker", data={"chat_id": "1"})
    assert answer.status_code == 404
    assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_json_bodies_and_query_strings_work_too(fake: FakeTelegram) -> None:
    fake.send_text(USER, "hi")
    url = f"{fake.base_url}/bot{fake.token}"
    sent = httpx.post(f"{url}/sendmessage", json={"chat_id": USER, "text": "a", "x": 1}).json()
    assert sent["result"]["text"] == "a"
    action = httpx.get(f"{url}/sendChatAction", params={"chat_id": USER, "action": "dance"})
    assert action.json()["description"] == "Bad Request: wrong parameter action in request"
    assert [call.method for call in fake.calls] == ["sendMessage", "sendChatAction"]


# --------------------------------------------------------------------------- sending, editing


def test_send_message_answers_a_full_message_with_entities_from_the_html(
    fake: FakeTelegram,
) -> None:
    fake.send_text(USER, "hello")  # message 1 in the chat: the user's
    html = 'Привет, <b>Ann</b>! <a href="https://example.org">docs</a> 😀 <code>x</code>'

    async def scenario(bot: Bot) -> Any:
        first = await bot.send_message(USER, html, parse_mode="HTML", reply_markup=keyboard("a"))
        second = await bot.send_message(USER, "plain <b> stays")
        return first, second

    first, second = with_bot(fake, scenario)
    assert (first.message_id, second.message_id) == (2, 3)
    assert (first.from_user.id, first.chat.id) == (fake.bot_id, USER)
    assert first.text == "Привет, Ann! docs 😀 x"
    entities = [(e.type, e.offset, e.length, e.url) for e in first.entities]
    # Offsets count UTF-16 units: the emoji takes two.
    assert entities == [
        ("bold", 8, 3, None),
        ("text_link", 13, 4, "https://example.org"),
        ("code", 21, 1, None),
    ]
    assert first.reply_markup.inline_keyboard[0][0].callback_data == "a"
    stored = fake.chat_messages(USER)
    assert [(m.message_id, m.text, m.html, m.parse_mode) for m in stored] == [
        (2, first.text, html, "HTML"),
        (3, "plain <b> stays", "plain <b> stays", None),
    ]
    assert stored[0].reply_markup == {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}


def test_html_telegram_would_reject_gets_400_and_stores_nothing(fake: FakeTelegram) -> None:
    fake.send_text(USER, "hello")
    bad = ("<b>unclosed", "<blink>x</blink>", "a < b", "<a>no href</a>")

    async def scenario(bot: Bot) -> None:
        for text in bad:
            with pytest.raises(TelegramBadRequest, match="can't parse entities"):
                await bot.send_message(USER, text, parse_mode="HTML")

    with_bot(fake, scenario)
    assert fake.chat_messages(USER) == []
    calls = fake.calls_to("sendMessage")
    assert [call.status for call in calls] == [400] * len(bad)
    assert calls[0].response["description"].startswith("Bad Request: can't parse entities: ")


def test_length_is_counted_in_utf16_units_after_entity_parsing(fake: FakeTelegram) -> None:
    fake.send_text(USER, "hello")

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
        assert sent.text == "a" * 4096
        assert (await bot.send_message(USER, "😀" * 2048)).text == "😀" * 2048
        for too_long in ("a" * 4097, "😀" * 2049):
            with pytest.raises(TelegramBadRequest, match="message is too long"):
                await bot.send_message(USER, too_long)
        with pytest.raises(TelegramBadRequest, match="message text is empty"):
            await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(777, "nobody there")

    with_bot(fake, scenario)
    assert len(fake.chat_messages(USER)) == 2


def test_edits_change_the_stored_message_like_telegram(fake: FakeTelegram) -> None:
    fake.send_text(USER, "hello")

    async def scenario(bot: Bot) -> Any:
        sent = await bot.send_message(USER, "…", reply_markup=keyboard("a"))
        edited = await bot.edit_message_text(
            "<i>Done</i>", chat_id=USER, message_id=sent.message_id, parse_mode="HTML"
        )
        errors = []
        for text, message_id in (
            ("<i>Done</i>", sent.message_id),  # nothing changes
            ("x", 99),
            ("x", 1),  # the user's message
        ):
            try:
                await bot.edit_message_text(
                    text, chat_id=USER, message_id=message_id, parse_mode="HTML"
                )
            except TelegramBadRequest as exc:
                errors.append(exc.message)
        return edited, errors

    edited, errors = with_bot(fake, scenario)
    assert edited.text == "Done"
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    expected = ["message is not modified", "message to edit not found", "message can't be edited"]
    assert len(errors) == len(expected)
    for error, reason in zip(errors, expected, strict=True):
        assert f"Bad Request: {reason}" in error
    [message] = fake.chat_messages(USER)
    assert (message.text, message.edits, message.history) == ("Done", 1, ["…"])
    assert message.entities == [{"type": "italic", "offset": 0, "length": 4}]


def test_drafts_are_recorded_for_private_chats_only(fake: FakeTelegram) -> None:
    fake.send_text(USER, "hello")
    fake.send_text(5, "hi all", chat_id=-100, chat_type="group")

    async def scenario(bot: Bot) -> list[str]:
        assert await bot.send_message_draft(chat_id=USER, draft_id=7, text="")  # "Thinking…"
        assert await bot.send_message_draft(
            chat_id=USER, draft_id=7, text="<b>Par</b>tial", parse_mode="HTML"
        )
        errors = []
        for chat_id, draft_id, text in ((USER, 7, "<b>x"), (-100, 7, "x"), (USER, 0, "x")):
            try:
                await bot.send_message_draft(
                    chat_id=chat_id, draft_id=draft_id, text=text, parse_mode="HTML"
                )
            except TelegramBadRequest as exc:
                errors.append(exc.message)
        return errors

    errors = with_bot(fake, scenario)
    assert [(d.draft_id, d.text, d.html) for d in fake.drafts(USER)] == [
        (7, "", ""),
        (7, "Partial", "<b>Par</b>tial"),
    ]
    assert "can't parse entities" in errors[0]
    assert "private chats" in errors[1]
    assert "draft_id" in errors[2]
    assert fake.chat_messages(USER) == []  # a draft is no message


# --------------------------------------------------------------------------- faults


def test_a_429_makes_aiogram_raise_retry_after_then_the_call_succeeds(fake: FakeTelegram) -> None:
    fake.send_text(USER, "hello")
    fake.fail("sendMessage", retry_after=3)
    fake.fail("sendChatAction", status=502)

    async def scenario(bot: Bot) -> int:
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(USER, "answer")
        assert caught.value.retry_after == 3
        assert "Too Many Requests: retry after 3" in caught.value.message
        with pytest.raises(TelegramServerError):  # the 502 waited for its own method
            await bot.send_chat_action(USER, "typing")
        return (await bot.send_message(USER, "answer")).message_id

    assert with_bot(fake, scenario) == 2  # the refused call took no message id
    refused, accepted = fake.calls_to("sendMessage")
    assert refused.status == 429
    assert refused.response["parameters"] == {"retry_after": 3}
    assert accepted.ok
    assert [m.text for m in fake.chat_messages(USER)] == ["answer"]


def test_faults_are_fifo_with_times_any_method_descriptions_and_delays(
    fake: FakeTelegram,
) -> None:
    fake.fail(None, status=400, description="Bad Request: scripted", times=2)
    fake.slow("getMe", 0.3)

    async def scenario(bot: Bot) -> float:
        for _ in range(2):
            with pytest.raises(TelegramBadRequest, match="Bad Request: scripted"):
                await bot.get_me()
        started = time.monotonic()
        await bot.get_me()
        return time.monotonic() - started

    assert with_bot(fake, scenario) >= 0.3
    assert [call.status for call in fake.calls_to("getMe")] == [400, 400, 200]
    assert fake.pending_faults == []


# --------------------------------------------------------------------------- getUpdates


def test_get_updates_long_polls_until_an_update_is_fed(fake: FakeTelegram) -> None:
    feeder = threading.Timer(0.3, lambda: fake.send_text(USER, "/start", language_code="ru"))

    async def scenario(bot: Bot) -> tuple[Any, float]:
        started = time.monotonic()
        feeder.start()
        updates = await bot.get_updates(timeout=5)
        return updates, time.monotonic() - started

    updates, waited = with_bot(fake, scenario)
    feeder.join()
    assert 0.25 <= waited < 2
    [update] = updates
    message = update.message
    assert (message.text, message.from_user.language_code, message.chat.type) == (
        "/start",
        "ru",
        "private",
    )
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 6)]
    assert fake.updates[0].delivered_at is not None


def test_get_updates_honours_offsets_and_its_timeout(fake: FakeTelegram) -> None:
    ids = [fake.send_text(USER, f"m{n}")["update_id"] for n in range(3)]

    async def scenario(bot: Bot) -> tuple[list[list[int]], float]:
        seen = []
        for offset in (None, None, ids[1], None, -1, ids[2] + 1):
            batch = await bot.get_updates(offset=offset, timeout=0)
            seen.append([update.update_id for update in batch])
        started = time.monotonic()
        assert await bot.get_updates(offset=ids[2] + 1, timeout=1) == []
        return seen, time.monotonic() - started

    seen, waited = with_bot(fake, scenario)
    assert (
        seen
        == [
            ids,  # nothing confirmed yet
            ids,  # still nothing confirmed: redelivered
            ids[1:],  # the offset confirms the first
            ids[1:],
            ids[2:],  # a negative offset forgets all but the last
            [],
        ]
    )
    assert 0.9 <= waited < 2


def test_allowed_updates_are_remembered_and_group_chats_count_their_own_ids(
    fake: FakeTelegram,
) -> None:
    first = fake.send_text(7, "hi @systech_aidd_bot", chat_id=-100, chat_type="supergroup")
    fake.send_update({"edited_message": {**first["message"], "text": "hi!"}})
    second = fake.send_text(8, "/help@systech_aidd_bot", chat_id=-100, chat_type="supergroup")
    fake.send_text(7, "private")

    async def scenario(bot: Bot) -> list[Any]:
        return await bot.get_updates(allowed_updates=["message"])

    updates = with_bot(fake, scenario)
    assert [u.message.text for u in updates] == [
        "hi @systech_aidd_bot",
        "/help@systech_aidd_bot",
        "private",
    ]
    assert [u.message.message_id for u in updates] == [1, 2, 1]  # per chat
    assert first["message"]["entities"] == [{"type": "mention", "offset": 3, "length": 17}]
    assert second["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 22}]


def test_a_newer_get_updates_terminates_the_waiting_one(fake: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> list[Any]:
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        newer = await bot.get_updates(timeout=0)
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
            await waiting
        return newer

    assert with_bot(fake, scenario) == []


def test_reset_keeps_a_waiting_get_updates_working(fake: FakeTelegram) -> None:
    old = fake.send_text(USER, "before the reset")["update_id"]

    def reset_then_feed() -> None:
        fake.reset()
        fake.send_text(USER, "after the reset")

    async def scenario(bot: Bot) -> list[Any]:
        waiting = asyncio.create_task(bot.get_updates(offset=old + 1, timeout=5))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(reset_then_feed)
        return await waiting

    [update] = with_bot(fake, scenario)
    assert update.update_id > old  # update ids keep growing across a reset
    assert update.message is not None
    assert update.message.text == "after the reset"


# --------------------------------------------------------------------------- other methods


def test_commands_webhook_and_callback_queries(fake: FakeTelegram) -> None:
    fake.send_text(USER, "hello")
    commands = [BotCommand(command="start", description="Начать")]
    scope = BotCommandScopeAllPrivateChats()

    async def scenario(bot: Bot) -> Any:
        await bot.set_my_commands(commands, scope=scope, language_code="ru")
        stored = await bot.get_my_commands(scope=scope, language_code="ru")
        other = await bot.get_my_commands()
        with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
            await bot.set_my_commands([BotCommand(command="Bad Name", description="x")])

        await bot.set_webhook("https://bot.example/hook", secret_token="s3cret_-")
        info = await bot.get_webhook_info()
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook()

        sent = await bot.send_message(USER, "Pick", reply_markup=keyboard("role:a", "role:b"))
        fake.press_button(USER, sent.message_id, "role:b")
        *_, update = await bot.get_updates()  # after the unconfirmed "hello"
        query = update.callback_query
        assert query is not None
        assert await bot.answer_callback_query(query.id, text="ok")
        with pytest.raises(TelegramBadRequest, match="query is too old"):
            await bot.answer_callback_query("nonsense")
        return stored, other, info, query

    stored, other, info, query = with_bot(fake, scenario)
    assert [(c.command, c.description) for c in stored] == [("start", "Начать")]
    assert other == []
    assert fake.my_commands("ru", {"type": "all_private_chats"}) == [
        {"command": "start", "description": "Начать"}
    ]
    assert info.url == "https://bot.example/hook"
    assert fake.webhook is None  # deleted again
    assert fake.calls_to("setWebhook")[0].params["secret_token"] == "s3cret_-"
    assert (query.data, query.message.message_id, query.from_user.id) == ("role:b", 2, USER)
    assert fake.callback_answers == {query.id: [{"text": "ok"}]}
    with pytest.raises(ValueError, match="no button"):
        fake.press_button(USER, 2, "role:zzz")


def test_wait_for_fails_with_a_dump_of_the_calls(fake: FakeTelegram) -> None:
    with_bot(fake, lambda bot: bot.get_me())
    with pytest.raises(AssertionError, match=r"(?s)not met within 0.1 s.*getMe 200"):
        fake.wait_for(lambda f: len(f.calls_to("sendMessage")) > 0, timeout=0.1)


# --------------------------------------------------------------------------- stand-alone


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_stand_alone_with_the_control_api() -> None:
    port = free_port()
    token = "777:STANDALONE"
    process = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
        [
            sys.executable,
            "-m",
            "tests.doubles.fake_telegram",
            "--port",
            str(port),
            "--token",
            token,
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        with FakeTelegramControl(root) as control:
            deadline = time.monotonic() + 10
            while True:
                try:
                    assert control.health()["status"] == "ok"
                    break
                except httpx.TransportError:
                    assert process.poll() is None, "the fake exited"
                    assert time.monotonic() < deadline, "the fake did not start"
                    time.sleep(0.05)
            update = control.send_text(USER, "hello", language_code="ru")
            control.fail("sendMessage", retry_after=2)

            async def scenario() -> Any:
                session = AiohttpSession(api=TelegramAPIServer.from_base(root))
                bot = Bot(token, session=session)
                try:
                    [received] = await bot.get_updates(timeout=1)
                    assert received.message is not None
                    with pytest.raises(TelegramRetryAfter):
                        await bot.send_message(
                            received.message.chat.id, "<b>Hi</b>", parse_mode="HTML"
                        )
                    return await bot.send_message(USER, "<b>Hi</b>", parse_mode="HTML")
                finally:
                    await bot.session.close()

            sent = asyncio.run(scenario())
            assert update["message"]["from"]["language_code"] == "ru"
            [message] = control.chat_messages(USER)
            assert (message.message_id, message.text, message.html) == (
                sent.message_id,
                "Hi",
                "<b>Hi</b>",
            )
            assert [c.status for c in control.calls_to("sendMessage")] == [429, 200]
            assert control.updates[0].delivered_at is not None
            control.reset()
            assert control.health() == {
                "status": "ok",
                "calls": 0,
                "pending_updates": 0,
                "faults": 0,
            }
            assert httpx.post(f"{root}/_control/faults", json=[{}]).status_code == 400
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output.decode()
    assert token.split(":")[1] not in output.decode()  # the token's secret is never logged
