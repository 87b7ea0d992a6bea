"""Try the bot with no Telegram and no LLM: `nox -s try_bot` (or `python -m tests.try_bot`).

It starts the fake Telegram Bot API and the fake LLM (tests/doubles/), webapi under gunicorn on
a scratch SQLite database and the bot itself (`python -m bot`, polling the fake), then plays a
short conversation as a user would and prints what that user would see: the bot's messages as
Telegram shows them (formatting as plain text, buttons in brackets). Add `--language ru` for
the Russian texts. Nothing listens beyond 127.0.0.1; everything stops at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

from tests.doubles.fake_llm import FakeLLM, Reply
from tests.doubles.fake_telegram import FakeTelegram, SentMessage
from tests.support import BOT_TOKEN, background_process, gunicorn_api

USER = 1001
ANSWER = """A **context window** is what the model sees at once: the role's prompt, the \
latest turns of your dialog and your new message.

- Longer windows remember more of the dialog.
- They cost more tokens per answer.

```python
context = history[-MAX_CONTEXT_MESSAGES:]
```"""


def bot(
    telegram: FakeTelegram, api_url: str, log: Path
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """`python -m bot` as a newcomer runs it, pointed at the fakes."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE": telegram.base_url,
        "API_URL": api_url,
        "BOT_API_TOKEN": BOT_TOKEN,
    }
    return background_process([sys.executable, "-m", "bot"], env, log)


def settled(telegram: FakeTelegram, before: int, quiet_s: float = 0.4) -> list[SentMessage]:
    """Wait for the bot's reply: a new or edited message, then no call for `quiet_s`."""

    def changed(fake: FakeTelegram) -> bool:
        messages = fake.chat_messages(USER)
        return len(messages) > before or any(message.edits for message in messages)

    telegram.wait_for(changed, timeout=30)
    count = len(telegram.calls)
    while True:
        time.sleep(quiet_s)
        if len(telegram.calls) == count:
            return telegram.chat_messages(USER)
        count = len(telegram.calls)


def show(message: SentMessage) -> str:
    """A message as Telegram shows it: its text, then its buttons in brackets."""
    keyboard = (message.reply_markup or {}).get("inline_keyboard", [])
    lines = message.text.split("\n")
    if keyboard:
        lines.append(" ".join(f"[{button['text']}]" for row in keyboard for button in row))
    return "\n".join(f"  bot │ {line}".rstrip() for line in lines)


def say(telegram: FakeTelegram, text: str, language: str) -> None:
    """Send a message as the user; print it and the bot's reply."""
    print(f"  you │ {text}")
    before = len(telegram.chat_messages(USER))
    telegram.send_text(USER, text, first_name="Ann", language_code=language)
    for message in settled(telegram, before)[before:]:
        print(show(message))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--language", default="en", choices=["en", "ru"])
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeLLM() as llm,
        FakeTelegram() as telegram,
        gunicorn_api(f"sqlite:///{tmp}/try.db", llm.base_url, Path(tmp) / "api.log") as (url, _),
        bot(telegram, url, Path(tmp) / "bot.log") as process,
    ):
        telegram.wait_for(lambda fake: bool(fake.calls_to("getUpdates")), timeout=30)
        say(telegram, "/start", args.language)
        say(telegram, "/help", args.language)
        llm.script(Reply(ANSWER))
        say(telegram, "What is a context window?", args.language)
        say(telegram, "/role", args.language)
        role_message = telegram.chat_messages(USER)[-1]
        keyboard = (role_message.reply_markup or {}).get("inline_keyboard", [])
        tutor = next(b for row in keyboard for b in row if "english" in b["callback_data"])
        print(f"  you │ (presses [{tutor['text']}])")
        before = len(telegram.chat_messages(USER))
        telegram.press_button(
            USER, role_message.message_id, tutor["callback_data"], language_code=args.language
        )
        for message in settled(telegram, before)[before - 1 :]:
            print(show(message))
        print()
        say(telegram, "/status", args.language)
        say(telegram, "/reset", args.language)
        if process.poll() is not None:
            raise SystemExit("the bot stopped; see its log")


if __name__ == "__main__":
    main()
