"""/forget: after a confirmation, the user's dialogs and messages are gone (theirs only)."""

from __future__ import annotations

from pathlib import Path

from bot.texts import EN
from tests.bot.support import RunningBot, StoredRows, stored_rows, wait_answers
from tests.doubles.fake_llm import FakeLLM
from tests.doubles.fake_telegram import FakeTelegram
from tests.doubles.telegram_html import parse_html

GROUP = -100_999


def chat_with(telegram: FakeTelegram, user: int, texts: list[str]) -> None:
    for text in texts:
        before = len(telegram.chat_messages(user))
        telegram.send_text(user, text)
        wait_answers(telegram, user, before + 1)


def test_forget_deletes_only_that_users_dialogs_and_messages(
    bot: RunningBot,
    telegram: FakeTelegram,
    fake_llm: FakeLLM,
    database_path: Path,
    user_id: int,
    other_user_id: int,
) -> None:
    url = f"sqlite:///{database_path}"
    chat_with(telegram, user_id, ["one", "two"])
    telegram.send_text(user_id, "@systech_aidd_bot three", chat_id=GROUP, chat_type="group")
    telegram.wait_for(lambda fake: [m.text for m in fake.chat_messages(GROUP)] == ["Echo: three"])
    chat_with(telegram, other_user_id, ["mine"])
    assert stored_rows(url, user_id) == StoredRows(users=1, dialogs=2, questions=3, answers=3)
    others = stored_rows(url, other_user_id)

    telegram.send_text(user_id, "/forget")
    ask = wait_answers(telegram, user_id, 3)[-1]
    assert ask.text == parse_html(EN.forget_confirm)[0]
    telegram.press_button(user_id, ask.message_id, f"forget:{user_id}:1")
    telegram.wait_for(lambda fake: fake.chat_messages(user_id)[-1].edits == 1)
    assert (
        telegram.chat_messages(user_id)[-1].text
        == parse_html(EN.forget_done.format(dialogs=2, messages=6))[0]
    )

    assert stored_rows(url, user_id) == StoredRows(users=1, dialogs=0, questions=0, answers=0)
    assert stored_rows(url, other_user_id) == others

    telegram.send_text(user_id, "fresh start")
    assert wait_answers(telegram, user_id, 4)[-1].text == "Echo: fresh start"
    assert fake_llm.requests[-1]["messages"][1:] == [{"role": "user", "content": "fresh start"}]


def test_forget_can_be_cancelled_and_only_the_asker_may_confirm(
    bot: RunningBot,
    telegram: FakeTelegram,
    database_path: Path,
    user_id: int,
    other_user_id: int,
) -> None:
    url = f"sqlite:///{database_path}"
    telegram.send_text(user_id, "@systech_aidd_bot keep me", chat_id=GROUP, chat_type="group")
    telegram.wait_for(lambda fake: len(fake.chat_messages(GROUP)) == 1)
    telegram.send_text(user_id, "/forget", chat_id=GROUP, chat_type="group")
    telegram.wait_for(lambda fake: len(fake.chat_messages(GROUP)) == 2)
    ask = telegram.chat_messages(GROUP)[-1]

    stranger = telegram.press_button(
        other_user_id, ask.message_id, f"forget:{user_id}:1", chat_id=GROUP
    )
    query_id = stranger["callback_query"]["id"]
    telegram.wait_for(lambda fake: bool(fake.callback_answers.get(query_id)))
    assert telegram.callback_answers[query_id][0]["text"] == EN.forget_not_yours
    assert stored_rows(url, user_id).questions == 1

    telegram.press_button(user_id, ask.message_id, f"forget:{user_id}:0", chat_id=GROUP)
    telegram.wait_for(lambda fake: fake.chat_messages(GROUP)[-1].edits == 1)
    assert telegram.chat_messages(GROUP)[-1].text == EN.forget_cancelled
    assert stored_rows(url, user_id).questions == 1
