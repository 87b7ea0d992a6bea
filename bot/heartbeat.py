"""The bot's liveness for container healthchecks: in polling mode it listens on no port.

While the bot serves (it reached Telegram and registered its commands), a task touches
BOT_HEARTBEAT_FILE every few seconds; `python -S -m bot.heartbeat` exits 0 when that file is
fresh, 1 when it is stale or missing: a bot that stopped, or whose event loop is wedged.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the check (main) runs every second: it imports no asyncio
    import asyncio

INTERVAL_S = 5.0
# Three missed beats: a busy loop may be late once, not three times.
MAX_AGE_S = 3 * INTERVAL_S


async def beat(path: Path, stop: asyncio.Event) -> None:
    """Touch `path` every INTERVAL_S until `stop` is set, then remove it."""
    import asyncio

    try:
        while not stop.is_set():
            path.touch()
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INTERVAL_S)
    finally:
        path.unlink(missing_ok=True)


def is_fresh(path: Path, max_age_s: float = MAX_AGE_S) -> bool:
    try:
        return time.time() - path.stat().st_mtime <= max_age_s
    except FileNotFoundError:
        return False


def main() -> int:
    name = os.environ.get("BOT_HEARTBEAT_FILE")
    if not name:
        print("BOT_HEARTBEAT_FILE is not set", file=sys.stderr)
        return 1
    return 0 if is_fresh(Path(name)) else 1


if __name__ == "__main__":
    sys.exit(main())
