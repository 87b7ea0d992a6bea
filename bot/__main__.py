"""`python -m bot`: run the Telegram bot until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.settings import BotSettings, ConfigError, load_settings
from bot.telegram_types import import_aiogram


def configure_logging(level: str) -> None:
    """Plain lines on stderr; aiogram's own per-update line is left out (the bot logs one)."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)


async def serve(settings: BotSettings) -> None:
    """Run the bot; SIGTERM and SIGINT stop it gracefully."""
    from bot.app import run  # aiogram loads only once the settings are known to be good

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await run(settings, stop)


def main() -> int:
    """Validate the settings (one line and exit status 1 if bad), then serve."""
    settings = load_settings()
    configure_logging(settings.BOT_LOG_LEVEL)
    import_aiogram()  # before anything else imports it: its models built on first use
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    try:
        asyncio.run(serve(settings))
    except TelegramUnauthorizedError:
        raise ConfigError("TELEGRAM_BOT_TOKEN", "was refused by Telegram") from None
    except TelegramNetworkError as exc:
        # Only at start-up: once serving, the bot rides out Telegram's outages.
        raise SystemExit(
            f"startup error: the Bot API at {settings.telegram_api_base} cannot be reached "
            f"({exc.message.split(':', 1)[0]})"
        ) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
