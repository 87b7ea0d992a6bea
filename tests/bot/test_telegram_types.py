"""aiogram's Telegram types and methods built on first use (bot/telegram_types.py): the bot
starts without building them all, and every one of them still builds, and validates, when used.

Each test runs a fresh interpreter, as `python -m bot` starts: this one has imported aiogram
already."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.support import ROOT

# What `import bot.app` costs with every model built (aiogram's own import) is about 155 MB of
# anonymous memory here; deferred, about 50.
IMPORT_BUDGET_MB = 90

PRELUDE = """
import gc, json
from bot.telegram_types import aiogram_models, import_aiogram
import_aiogram()
import bot.app
"""

# An update as Telegram sends it, with nested types several levels deep.
UPDATE = {
    "update_id": 7,
    "message": {
        "message_id": 12,
        "date": 1_700_000_000,
        "chat": {"id": 42, "type": "private", "first_name": "Ada"},
        "from": {"id": 42, "is_bot": False, "first_name": "Ada", "language_code": "en"},
        "text": "/start hello",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "reply_to_message": {
            "message_id": 11,
            "date": 1_699_999_999,
            "chat": {"id": 42, "type": "private"},
            "photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}],
        },
        "reply_markup": {"inline_keyboard": [[{"text": "Role", "callback_data": "role:x"}]]},
    },
}


def run_python(code: str) -> str:
    done = subprocess.run(  # noqa: S603 (this interpreter, a fixed program)
        [sys.executable, "-c", textwrap.dedent(PRELUDE) + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def test_the_bot_starts_without_building_the_telegram_types() -> None:
    out = run_python("""
        gc.collect()
        anon_kb = next(
            int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("RssAnon")
        )
        built = [m.__name__ for m in aiogram_models()
                 if m.__module__.startswith("aiogram.types.") and m.__pydantic_complete__]
        print(json.dumps({"built": built, "anon_mb": anon_kb / 1024}))
    """)
    figures = json.loads(out)
    assert figures["built"] == []
    assert figures["anon_mb"] < IMPORT_BUDGET_MB, figures


def test_every_telegram_type_and_method_builds_when_first_used() -> None:
    """Every model resolves its forward references in the namespace aiogram gave its loop."""
    out = run_python("""
        models = list(aiogram_models())
        for model in models:
            model.model_rebuild(raise_errors=True)
        print(len(models), sum(model.__pydantic_complete__ for model in models))
    """)
    count, built = map(int, out.split())
    assert count > 500  # aiogram 3 defines some 600 types, methods and responses
    assert built == count


def test_updates_validate_and_methods_serialise_through_the_deferred_build() -> None:
    """pydantic's first-use path (the validator builds itself when called), from a call stack
    like the bot's, on an update with nested types and on a method's request and response."""
    out = run_python(f"""
        from aiogram.methods import SendMessage
        from aiogram.methods.base import Response
        from aiogram.types import Message, Update

        def use():
            update = Update.model_validate({UPDATE!r})
            message = update.message
            sent = SendMessage(chat_id=42, text="hi", reply_to_message_id=12)
            answer = Response[Message].model_validate(
                {{"ok": True, "result": {UPDATE["message"]["reply_to_message"]!r}}}
            )
            return {{
                "user": message.from_user.first_name,
                "command": message.entities[0].type,
                "nested": message.reply_to_message.photo[0].file_id,
                "button": message.reply_markup.inline_keyboard[0][0].callback_data,
                "request": sent.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
                "result": answer.result.message_id,
            }}

        def deeper(levels):  # pydantic looks up names in the caller's caller's... frames
            return deeper(levels - 1) if levels else use()

        print(json.dumps(deeper(5)))
    """)
    assert json.loads(out) == {
        "user": "Ada",
        "command": "bot_command",
        "nested": "p",
        "button": "role:x",
        "request": {"chat_id": 42, "text": "hi", "reply_to_message_id": 12},
        "result": 11,
    }


def test_what_answering_needs_is_built_soon_after_a_start() -> None:
    out = run_python("""
        import asyncio
        from aiogram.types import Update
        from bot.delivery import METHODS
        from bot.telegram_types import build_soon

        used = (Update, *METHODS)
        before = [model.__pydantic_complete__ for model in used]
        asyncio.run(build_soon(used))
        print(json.dumps([before, [model.__pydantic_complete__ for model in used]]))
    """)
    before, after = json.loads(out)
    assert before[:4] == [False] * 4  # the update, sendMessage, sendMessageDraft, editMessageText
    assert all(after)
