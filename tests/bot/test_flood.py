"""Telegram's flood control and refusals: the reply still arrives, after the wait."""

from __future__ import annotations

from tests.bot.support import RunningBot, texts_of, wait_answers, wait_text
from tests.doubles.fake_llm import FakeLLM, Reply
from tests.doubles.fake_telegram import FakeTelegram

GROUP = -100_555


def test_a_429_on_send_message_is_waited_out(
    bot: RunningBot, telegram: FakeTelegram, user_id: int
) -> None:
    telegram.fail("sendMessage", status=429, retry_after=1)
    telegram.send_text(user_id, "flooded")
    assert wait_answers(telegram, user_id, 1)[0].text == "Echo: flooded"

    refused, sent = telegram.calls_to("sendMessage")
    assert (refused.status, sent.status) == (429, 200)
    assert sent.at - refused.done_at >= 1.0


def test_a_429_on_an_edit_is_waited_out(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    text = "A group answer " + "that keeps on growing " * 8
    fake_llm.script(Reply(text.strip(), chunk_size=8, delay_between_chunks_s=0.06))
    telegram.fail("editMessageText", status=429, retry_after=1)
    telegram.send_text(user_id, "@systech_aidd_bot hi", chat_id=GROUP, chat_type="group")
    wait_text(telegram, GROUP, [text.strip()])

    edits = telegram.calls_to("editMessageText")
    assert edits[0].status == 429
    later = [call for call in edits[1:] if call.ok]
    assert later
    assert later[0].at - edits[0].done_at >= 1.0


def test_a_429_on_a_draft_is_waited_out(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    text = "Drafted " + "words arriving one by one " * 6
    fake_llm.script(Reply(text.strip(), chunk_size=8, delay_between_chunks_s=0.05))
    telegram.fail("sendMessageDraft", status=429, retry_after=2)
    telegram.send_text(user_id, "draft me")
    assert wait_answers(telegram, user_id, 1)[0].text == text.strip()

    refused = telegram.calls_to("sendMessageDraft")[0]
    assert refused.status == 429
    (sent,) = telegram.calls_to("sendMessage")
    assert sent.at - refused.done_at >= 2.0
    # Nothing else went to the chat while Telegram asked to wait.
    during = [
        call
        for call in telegram.calls
        if refused.done_at < call.at < refused.done_at + 2.0 and call.method != "getUpdates"
    ]
    assert during == []


def test_failing_typing_and_drafts_never_cost_the_answer(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    text = "Still " + "delivered in the end " * 6
    fake_llm.script(Reply(text.strip(), chunk_size=8, delay_between_chunks_s=0.05))
    telegram.fail("sendChatAction", status=500, times=5)
    telegram.fail("sendMessageDraft", status=400, description="Bad Request: draft refused")
    telegram.send_text(user_id, "break the extras")
    assert wait_answers(telegram, user_id, 1)[0].text == text.strip()
    assert len(telegram.calls_to("sendMessageDraft")) == 1  # refused: streaming stopped


def test_a_part_telegram_cannot_parse_is_resent_as_plain_text(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    fake_llm.script(Reply("Some **bold** claim & more"))
    telegram.fail(
        "sendMessage",
        status=400,
        description='Bad Request: can\'t parse entities: Unsupported start tag "b" at byte 5',
    )
    telegram.send_text(user_id, "format it")
    (message,) = wait_answers(telegram, user_id, 1)
    assert message.text == "Some bold claim & more"
    assert message.parse_mode is None
    assert texts_of(telegram.chat_messages(user_id)) == ["Some bold claim & more"]


def test_a_part_telegram_finds_too_long_is_resent_as_plain_pieces(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    fake_llm.script(Reply("Short *enough* for us"))
    telegram.fail("sendMessage", status=400, description="Bad Request: message is too long")
    telegram.send_text(user_id, "too long?")
    (message,) = wait_answers(telegram, user_id, 1)
    assert (message.text, message.parse_mode) == ("Short enough for us", None)
