"""``python -m tests.doubles.fake_telegram``: run the fake Bot API until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from tests.doubles.fake_telegram.fake import DEFAULT_TOKEN, FakeTelegram

logger = logging.getLogger("tests.doubles.fake_telegram")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, serve, stop cleanly on a signal."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.doubles.fake_telegram",
        description="Fake Telegram Bot API server (test double).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port (default 8081, 0 = any)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the only bot token accepted")
    parser.add_argument("--bot-username", default="systech_aidd_bot", help="getMe's username")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    stop_requested = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    fake = FakeTelegram(args.token, args.host, args.port, bot_username=args.bot_username).start()
    # The token is a secret even here: only the bot's id is logged.
    logger.info(
        "fake Telegram listening on %s (bot id %d, control API under /_control)",
        fake.base_url,
        fake.bot_id,
    )
    try:
        while not stop_requested.wait(0.5):
            pass
    finally:
        fake.stop()
    logger.info("fake Telegram stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
