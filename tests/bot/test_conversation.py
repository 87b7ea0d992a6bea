"""Conversations: context kept and reset, groups, streaming, limits, order under load."""

# Russian text in the long answer is deliberate: Cyrillic that looks Latin is fine here.
# ruff: noqa: RUF001

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from bot.texts import EN
from tests.bot.support import (
    LiveAPI,
    RunningBot,
    raw_message,
    stored_rows,
    texts_of,
    wait_answers,
    wait_text,
)
from tests.doubles.fake_llm import FakeLLM, Reply
from tests.doubles.fake_telegram import FakeTelegram
from tests.doubles.telegram_html import parse_html

GROUP = -100_777


def visible(markup: str) -> str:
    return parse_html(markup)[0]


def conversation(fake_llm: FakeLLM) -> list[dict[str, str]]:
    """The last request's messages, without the system prompt."""
    messages: list[dict[str, str]] = fake_llm.requests[-1]["messages"][1:]
    return messages


def test_a_three_turn_conversation_keeps_its_context_and_reset_clears_it(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    for turn, text in enumerate(["I am Bob", "I like tea", "What do you know?"], start=1):
        telegram.send_text(user_id, text)
        assert wait_answers(telegram, user_id, turn)[-1].text == f"Echo: {text}"
    assert conversation(fake_llm) == [
        {"role": "user", "content": "I am Bob"},
        {"role": "assistant", "content": "Echo: I am Bob"},
        {"role": "user", "content": "I like tea"},
        {"role": "assistant", "content": "Echo: I like tea"},
        {"role": "user", "content": "What do you know?"},
    ]

    telegram.send_text(user_id, "/reset")
    assert wait_answers(telegram, user_id, 4)[-1].text == visible(EN.reset_done)
    telegram.send_text(user_id, "Who am I?")
    wait_answers(telegram, user_id, 5)
    assert conversation(fake_llm) == [{"role": "user", "content": "Who am I?"}]


def test_groups_answer_only_when_addressed_and_keep_their_own_context(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    telegram.send_text(user_id, "My private secret")
    wait_answers(telegram, user_id, 1)

    group: dict[str, Any] = {"chat_id": GROUP, "chat_type": "supergroup"}
    telegram.send_text(user_id, "just chatting with people", **group)
    asked = telegram.send_text(user_id, "@systech_aidd_bot what is SQL?", **group)
    answer = wait_text(telegram, GROUP, ["Echo: what is SQL?"])[0]
    assert answer.reply_to_message_id == asked["message"]["message_id"]
    assert conversation(fake_llm) == [{"role": "user", "content": "what is SQL?"}]

    telegram.send_text(user_id, "and NoSQL?", reply_to_message_id=answer.message_id, **group)
    wait_text(telegram, GROUP, ["Echo: what is SQL?", "Echo: and NoSQL?"])
    assert conversation(fake_llm) == [
        {"role": "user", "content": "what is SQL?"},
        {"role": "assistant", "content": "Echo: what is SQL?"},
        {"role": "user", "content": "and NoSQL?"},
    ]

    telegram.send_text(user_id, "/help", **group)
    wait_text(telegram, GROUP, ["Echo: what is SQL?", "Echo: and NoSQL?", visible(EN.help)])
    telegram.send_text(user_id, "still not for the bot", **group)
    time.sleep(0.5)
    assert len(telegram.chat_messages(GROUP)) == 3
    assert len(fake_llm.requests) == 3  # the unaddressed messages never reached the model

    telegram.send_text(user_id, "Back in private")
    wait_answers(telegram, user_id, 2)
    assert conversation(fake_llm) == [
        {"role": "user", "content": "My private secret"},
        {"role": "assistant", "content": "Echo: My private secret"},
        {"role": "user", "content": "Back in private"},
    ]


def test_private_answers_stream_as_drafts_then_arrive_as_messages(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    text = "Streaming **answers** arrive piece by piece, " * 3
    fake_llm.script(Reply(text.strip(), chunk_size=10, delay_between_chunks_s=0.08))
    telegram.send_text(user_id, "stream please")
    final = wait_answers(telegram, user_id, 1)[0]

    assert final.text == visible(text.strip().replace("**answers**", "<b>answers</b>"))
    drafts = telegram.drafts(user_id)
    assert len(drafts) >= 2
    assert {draft.draft_id for draft in drafts} == {drafts[0].draft_id}
    assert all(final.text.startswith(draft.text) for draft in drafts)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(drafts)]
    assert min(gaps) >= 0.25  # throttled
    sent = telegram.calls_to("sendMessage")[-1]
    assert sent.at >= drafts[-1].at
    assert telegram.calls_to("sendChatAction")


def test_group_answers_stream_into_an_edited_message(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    text = "Edited " + "answer that grows " * 8
    fake_llm.script(Reply(text.strip(), chunk_size=8, delay_between_chunks_s=0.08))
    telegram.send_text(user_id, "@systech_aidd_bot go", chat_id=GROUP, chat_type="group")
    wait_text(telegram, GROUP, [text.strip()])

    (message,) = telegram.chat_messages(GROUP)
    assert message.edits >= 1
    assert all(text.startswith(earlier) for earlier in message.history)
    edits = telegram.calls_to("editMessageText")
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(edits)]
    assert all(gap >= 0.2 for gap in gaps)
    assert telegram.drafts(GROUP) == []


LONG_MARKDOWN_BLOCKS = [
    "# Руководство §01\n\nЭто длинный ответ с **жирным**, *курсивом* и `кодом` 😀 §02.",
    "- пункт первый §03\n- пункт второй с [ссылкой](https://example.com/a?b=1&c=2) §04\n"
    "- third item with ~~strike~~ §05",
    "> A quote with <angle brackets> & ampersands §06",
    "```python\n" + "\n".join(f"print('line-{n:04d}')  # строка" for n in range(180)) + "\n```",
    "## Section two §07\n\n" + "Длинный абзац о базах данных и индексах. " * 80 + "§08",
    "1. first §09\n2. second §10\n3. third §11",
    "```sql\nSELECT * FROM messages WHERE text LIKE '%<b>%';\n``` §12",
    "Final paragraph: " + "многоязычный текст — 中文 — emoji 🚀. " * 75 + "§13",
]
LONG_MARKDOWN = "\n\n".join(LONG_MARKDOWN_BLOCKS)


def test_an_answer_in_a_forum_topic_stays_in_that_topic(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    """Every part of a long answer, and the typing indicator, go to the question's topic."""
    forum, topic = -100_888, 77
    mention = "@systech_aidd_bot"
    fake_llm.script(Reply(LONG_MARKDOWN, chunk_size=400))
    telegram.send_update(
        raw_message(
            user_id,
            1000,
            chat={"id": forum, "type": "supergroup", "title": "A forum", "is_forum": True},
            text=f"{mention} tell me everything",
            entities=[{"type": "mention", "offset": 0, "length": len(mention)}],
            message_thread_id=topic,
            is_topic_message=True,
        )
    )
    telegram.wait_for(lambda fake: "§13" in "".join(texts_of(fake.chat_messages(forum))), 20)

    sent = [call for call in telegram.calls if call.params.get("chat_id") == forum]
    sends = [call for call in sent if call.method == "sendMessage"]
    assert len(sends) >= 2, "a long answer comes in several parts"
    for call in sent:
        if call.method in ("sendMessage", "sendChatAction"):
            assert int(call.params["message_thread_id"]) == topic, call.method


def test_a_long_markdown_answer_arrives_whole_in_valid_parts(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    assert 11_000 <= len(LONG_MARKDOWN) <= 13_000
    fake_llm.script(Reply(LONG_MARKDOWN, chunk_size=400))
    telegram.send_text(user_id, "tell me everything")
    telegram.wait_for(lambda fake: "§13" in "".join(texts_of(fake.chat_messages(user_id))), 20)

    parts = telegram.chat_messages(user_id)
    assert len(parts) >= 3
    assert all(part.parse_mode == "HTML" for part in parts)  # no part needed the fallback
    assert not [call for call in telegram.calls_to("sendMessage") if not call.ok]
    for part in parts:
        assert len(part.text.encode("utf-16-le")) // 2 <= 4096
    whole = "\n".join(texts_of(parts))
    markers = [f"§{n:02d}" for n in range(1, 14)]
    assert [whole.count(marker) for marker in markers] == [1] * len(markers)
    assert sorted(markers, key=whole.index) == markers
    lines = [f"print('line-{n:04d}')" for n in range(180)]
    assert [whole.count(line) for line in lines] == [1] * len(lines)
    assert sorted(lines, key=whole.index) == lines
    assert "<angle brackets> & ampersands" in whole
    assert whole.count("🚀") == 75
    code_parts = [p for p in parts if any(e["type"] == "pre" for e in p.entities)]
    assert len(code_parts) >= 2  # the long code block went out as several closed blocks
    links = [e for p in parts for e in p.entities if e["type"] == "text_link"]
    assert [link["url"] for link in links] == ["https://example.com/a?b=1&c=2"]


def test_non_text_messages_get_a_polite_text_only_answer(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    photo = [{"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90}]
    telegram.send_update(raw_message(user_id, 500, photo=photo))
    assert wait_answers(telegram, user_id, 1)[0].text == visible(EN.non_text)
    telegram.send_update(raw_message(user_id, 501, chat_id=GROUP, photo=photo))
    time.sleep(0.3)
    assert telegram.chat_messages(GROUP) == []  # not addressed to the bot
    assert fake_llm.requests == []


@pytest.mark.parametrize("bot_overrides", [{"BOT_MAX_INPUT_CHARS": 20}])
def test_too_long_input_is_refused_with_a_clear_message(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    telegram.send_text(user_id, "x" * 21)
    assert wait_answers(telegram, user_id, 1)[0].text == visible(
        EN.too_long.format(length=21, limit=20)
    )
    assert fake_llm.requests == []
    telegram.send_text(user_id, "y" * 20)
    assert wait_answers(telegram, user_id, 2)[-1].text == "Echo: " + "y" * 20


@pytest.mark.parametrize("bot_overrides", [{"BOT_RATE_LIMIT": "2/minute"}])
def test_the_rate_limit_answers_once_with_a_clear_message(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    for n in range(4):
        telegram.send_text(user_id, f"message {n}")
    telegram.wait_for(lambda fake: len(fake.chat_messages(user_id)) >= 3)
    time.sleep(0.5)
    shown = texts_of(telegram.chat_messages(user_id))
    assert len(shown) == 3
    assert "Echo: message 0" in shown
    assert "Echo: message 1" in shown
    (limited,) = [text for text in shown if not text.startswith("Echo")]
    assert limited.startswith("Too many messages: at most 2 per minute.")
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize("bot_overrides", [{"BOT_ALLOWED_USER_IDS": "424242"}])
def test_the_allow_list_turns_strangers_away(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, webapi: LiveAPI, user_id: int
) -> None:
    telegram.send_text(user_id, "let me in")
    assert wait_answers(telegram, user_id, 1)[0].text == visible(EN.not_allowed)
    telegram.send_text(424242, "I am allowed")
    assert wait_answers(telegram, 424242, 1)[0].text == "Echo: I am allowed"
    assert webapi.requests_to("PUT", f"/users/{user_id}") == []
    assert len(fake_llm.requests) == 1


def test_the_profile_is_sent_only_when_new_or_changed(
    bot: RunningBot, telegram: FakeTelegram, webapi: LiveAPI, user_id: int
) -> None:
    for n in range(3):
        telegram.send_text(user_id, f"hello {n}", first_name="Ann")
        wait_answers(telegram, user_id, n + 1)
    assert len(webapi.requests_to("PUT", f"/users/{user_id}")) == 1
    telegram.send_text(user_id, "renamed", first_name="Anna")
    wait_answers(telegram, user_id, 4)
    assert len(webapi.requests_to("PUT", f"/users/{user_id}")) == 2


def test_a_redelivered_update_stores_one_question(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, database_path: Path, user_id: int
) -> None:
    # Needs webapi's idempotency keys (the lead's change to POST .../messages).
    update = telegram.send_text(user_id, "Only once, please")
    assert wait_answers(telegram, user_id, 1)[0].text == "Echo: Only once, please"
    telegram.send_update({"message": update["message"]})  # Telegram delivers it again
    answers = wait_answers(telegram, user_id, 2)
    assert texts_of(answers) == ["Echo: Only once, please"] * 2  # the stored answer, replayed
    assert len(fake_llm.requests) == 1
    rows = stored_rows(f"sqlite:///{database_path}", user_id)
    assert (rows.questions, rows.answers) == (1, 1)


def test_twenty_users_sending_five_messages_at_once_get_every_answer_in_order(
    bot: RunningBot, telegram: FakeTelegram, user_id: int
) -> None:
    users = [user_id * 100 + n for n in range(20)]
    for turn in range(5):
        for user in users:
            telegram.send_text(user, f"user {user} message {turn}")
    deadline = 60.0
    telegram.wait_for(
        lambda fake: all(len(fake.chat_messages(user)) == 5 for user in users), deadline
    )
    for user in users:
        assert texts_of(telegram.chat_messages(user)) == [
            f"Echo: user {user} message {turn}" for turn in range(5)
        ]


def test_one_log_line_per_update_and_never_the_text(
    bot: RunningBot, telegram: FakeTelegram, user_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secret = "my very private question about pies"
    telegram.send_text(user_id, "/help")
    telegram.send_text(user_id, secret)
    wait_answers(telegram, user_id, 2)
    telegram.wait_for(lambda _: len(_update_lines(caplog)) >= 2)

    lines = _update_lines(caplog)
    assert len(lines) == 2
    assert f"user={user_id}" in lines[0]
    assert "command=/help" in lines[0]
    assert "outcome=ok" in lines[0]
    assert f"length={len(secret)}" in lines[1]
    assert "outcome=answered" in lines[1]
    assert all("latency_ms=" in line for line in lines)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and "pies" in r.getMessage()]


def _update_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.updates"]
