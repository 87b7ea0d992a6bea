"""Every command in both languages, the command menu, and switching roles with buttons."""

from __future__ import annotations

import html

import pytest

from bot.texts import EN, RU, Texts
from tests.bot.support import RunningBot, wait_answers
from tests.doubles.fake_llm import FakeLLM
from tests.doubles.fake_telegram import FakeTelegram
from tests.doubles.telegram_html import parse_html
from tests.support import ROOT, BotAPI
from webapi.domain.roles import parse_role

CONSULTANT = parse_role(ROOT / "prompts" / "consultant.md")
TUTOR = parse_role(ROOT / "prompts" / "english-tutor.md")
ROLE_FILES = sorted((ROOT / "prompts").glob("*.md"))


def visible(markup: str) -> str:
    """What Telegram shows for a catalogue text (its HTML parsed as Telegram does)."""
    return parse_html(markup)[0]


def button_rows(markup: dict[str, object] | None) -> list[list[dict[str, str]]]:
    assert markup is not None
    rows = markup["inline_keyboard"]
    assert isinstance(rows, list)
    return rows


@pytest.mark.parametrize(("language", "texts"), [("en", EN), ("ru", RU)])
def test_every_command_answers_in_the_users_language(
    bot: RunningBot, telegram: FakeTelegram, user_id: int, language: str, texts: Texts
) -> None:
    def command(text: str, count: int) -> str:
        telegram.send_text(user_id, text, first_name="Ada", language_code=language)
        messages = wait_answers(telegram, user_id, count)
        assert messages[-1].parse_mode == "HTML"
        return messages[-1].text

    start = texts.start.format(
        name="Ada",
        role_title=html.escape(CONSULTANT.title),
        role_description=html.escape(CONSULTANT.description),
    )
    assert command("/start", 1) == visible(start)
    assert command("/help", 2) == visible(texts.help)
    assert command("/reset", 3) == visible(texts.reset_done)

    role_text = command("/role", 4)
    assert role_text == visible(
        texts.role_current.format(
            title=html.escape(CONSULTANT.title), description=html.escape(CONSULTANT.description)
        )
    )
    buttons = [row[0] for row in button_rows(telegram.chat_messages(user_id)[-1].reply_markup)]
    assert [b["callback_data"] for b in buttons] == [f"role:{path.stem}" for path in ROLE_FILES]
    marked = [b["text"] for b in buttons if b["text"].startswith(texts.role_mark)]
    assert marked == [texts.role_mark + CONSULTANT.title]

    status_text = command("/status", 5)
    assert status_text.startswith(visible(texts.status.split("\n", 1)[0]))
    assert "test-model" in status_text
    assert texts.llm_reachable in status_text

    assert command("/forget", 6) == visible(texts.forget_confirm)
    confirm = button_rows(telegram.chat_messages(user_id)[-1].reply_markup)[0]
    assert [b["text"] for b in confirm] == [texts.forget_yes, texts.forget_no]
    assert all(str(user_id) in b["callback_data"] for b in confirm)


def test_help_lists_every_command(bot: RunningBot, telegram: FakeTelegram, user_id: int) -> None:
    telegram.send_text(user_id, "/help")
    shown = wait_answers(telegram, user_id, 1)[0].text
    for name in ("/start", "/help", "/role", "/reset", "/status", "/forget"):
        assert name in shown


@pytest.mark.parametrize(("language", "texts"), [("en", EN), ("ru", RU)])
def test_status_reports_webapis_real_state(
    bot: RunningBot,
    telegram: FakeTelegram,
    webapi_client: BotAPI,
    user_id: int,
    language: str,
    texts: Texts,
) -> None:
    telegram.send_text(user_id, "one two three", language_code=language)
    wait_answers(telegram, user_id, 1)
    telegram.send_text(user_id, "/status", language_code=language)
    shown = wait_answers(telegram, user_id, 2)[-1].text

    state = webapi_client.status(user_id).json()
    expected = texts.status.format(
        model=state["model"],
        llm=texts.llm_reachable if state["llm_reachable"] else texts.llm_unreachable,
        role=html.escape(state["role"]["title"]),
        used=state["context"]["messages_used"],
        max=state["context"]["max_messages"],
        messages=state["today"]["messages"],
        prompt=state["today"]["prompt_tokens"],
        completion=state["today"]["completion_tokens"],
    )
    assert shown == visible(expected)
    assert state["context"]["messages_used"] == 2
    assert state["today"]["messages"] == 1


def test_commands_are_registered_in_both_languages(bot: RunningBot, telegram: FakeTelegram) -> None:
    for language, texts in (("", EN), ("ru", RU)):
        commands = telegram.my_commands(language)
        assert [c["command"] for c in commands] == [
            "start",
            "help",
            "role",
            "reset",
            "status",
            "forget",
        ]
        assert commands[0]["description"] == texts.commands.start
        assert commands[-1]["description"] == texts.commands.forget


def test_a_role_button_switches_the_role_and_the_system_prompt(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    telegram.send_text(user_id, "Hello consultant")
    wait_answers(telegram, user_id, 1)
    assert fake_llm.requests[-1]["messages"][0] == {
        "role": "system",
        "content": CONSULTANT.system_prompt,
    }

    telegram.send_text(user_id, "/role")
    menu = wait_answers(telegram, user_id, 2)[-1]
    update = telegram.press_button(user_id, menu.message_id, f"role:{TUTOR.name}")
    telegram.wait_for(lambda fake: fake.chat_messages(user_id)[-1].edits == 1)
    switched = telegram.chat_messages(user_id)[-1]
    assert switched.text == visible(
        EN.role_switched.format(
            title=html.escape(TUTOR.title), description=html.escape(TUTOR.description)
        )
    )
    assert switched.reply_markup is None  # the buttons are gone with the edit
    telegram.wait_for(lambda fake: bool(fake.callback_answers.get(update["callback_query"]["id"])))

    telegram.send_text(user_id, "Hello tutor")
    wait_answers(telegram, user_id, 3)
    assert fake_llm.requests[-1]["messages"] == [
        {"role": "system", "content": TUTOR.system_prompt},
        {"role": "user", "content": "Hello tutor"},
    ]

    telegram.send_text(user_id, "/start")
    greeting = wait_answers(telegram, user_id, 4)[-1].text
    assert TUTOR.title in greeting


def test_an_unknown_command_gets_the_list_of_commands(
    bot: RunningBot, telegram: FakeTelegram, fake_llm: FakeLLM, user_id: int
) -> None:
    telegram.send_text(user_id, "/nonsense")
    assert wait_answers(telegram, user_id, 1)[0].text == visible(EN.help)
    assert fake_llm.requests == []
