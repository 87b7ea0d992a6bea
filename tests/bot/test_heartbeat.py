"""The bot's heartbeat file, which its container's healthcheck reads (`python -S -m bot.heartbeat`):
fresh while the bot serves, gone once it stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bot.heartbeat import MAX_AGE_S, is_fresh
from tests.bot.support import LiveAPI, bot_settings, running_bot
from tests.doubles.fake_telegram import FakeTelegram


def healthcheck(path: Path) -> int:
    """The container's healthcheck command, as Docker runs it."""
    env = {**os.environ, "BOT_HEARTBEAT_FILE": str(path)}
    return subprocess.run(
        [sys.executable, "-S", "-m", "bot.heartbeat"], env=env, check=False
    ).returncode


def test_the_heartbeat_is_fresh_while_the_bot_serves_and_gone_after(
    tmp_path: Path, telegram: FakeTelegram, webapi: LiveAPI
) -> None:
    beat = tmp_path / "bot.alive"
    assert healthcheck(beat) == 1  # not started: unhealthy

    settings = bot_settings(telegram, webapi.url, BOT_HEARTBEAT_FILE=beat)
    with running_bot(settings):
        telegram.wait_for(lambda fake: bool(fake.calls_to("deleteWebhook")))
        deadline = time.monotonic() + 10
        while not beat.exists():
            assert time.monotonic() < deadline, "no heartbeat while serving"
            time.sleep(0.05)
        assert healthcheck(beat) == 0
    assert not beat.exists()
    assert healthcheck(beat) == 1


def test_a_stale_heartbeat_is_unhealthy(tmp_path: Path) -> None:
    beat = tmp_path / "bot.alive"
    beat.touch()
    assert is_fresh(beat)
    old = time.time() - MAX_AGE_S - 1
    os.utime(beat, (old, old))
    assert not is_fresh(beat)
    assert healthcheck(beat) == 1
