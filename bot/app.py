"""Assembles the bot (dispatcher, middlewares, routers, clients) and runs it until told to stop.

Polling (the default) or webhook mode (aiogram's aiohttp server, Telegram's secret-token header
checked). On stop: no new updates are taken, answers in flight get BOT_SHUTDOWN_GRACE_S to
finish, then the sessions are closed.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import DeleteWebhook, GetMe, GetUpdates, SetMyCommands, SetWebhook
from aiogram.types import BotCommand, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.answering import Answerer
from bot.api import WebAPI
from bot.delivery import METHODS, Delivery
from bot.handlers import routers
from bot.heartbeat import beat
from bot.middlewares import (
    AccessMiddleware,
    InFlight,
    InFlightMiddleware,
    LanguageMiddleware,
    ProfileMiddleware,
    Profiles,
    RateLimiter,
    RateLimitMiddleware,
    SerialMiddleware,
    UpdateLogMiddleware,
)
from bot.settings import BotMode, BotSettings
from bot.telegram_types import build_soon
from bot.texts import CATALOGUES, Texts

log = logging.getLogger(__name__)


def build_dispatcher(
    settings: BotSettings, api: WebAPI, delivery: Delivery, in_flight: InFlight
) -> Dispatcher:
    """The dispatcher with its middlewares, routers and the objects handlers are given."""
    dp = Dispatcher(disable_fsm=True)  # no conversation states: webapi holds the dialog
    dp["settings"] = settings
    dp["api"] = api
    dp["delivery"] = delivery
    dp["answerer"] = Answerer(api, delivery)

    # Around every update, outermost first.
    dp.update.outer_middleware(InFlightMiddleware(in_flight))
    dp.update.outer_middleware(UpdateLogMiddleware())
    dp.update.outer_middleware(LanguageMiddleware())
    access = AccessMiddleware(settings.allowed_user_ids, delivery)
    dp.message.outer_middleware(access)
    dp.callback_query.outer_middleware(access)
    # Around handlers (after their filters matched), in this order.
    dp.message.middleware(RateLimitMiddleware(RateLimiter(settings.rate_limit), delivery))
    serial, profiles = SerialMiddleware(), ProfileMiddleware(Profiles(api))
    for observer in (dp.message, dp.callback_query):
        observer.middleware(serial)
        observer.middleware(profiles)

    dp.include_routers(*routers())
    return dp


def make_bot(settings: BotSettings) -> Bot:
    """The aiogram Bot, with one HTTP session for the process, at TELEGRAM_API_BASE."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(
        settings.TELEGRAM_BOT_TOKEN.get_secret_value(),
        session=session,
        default=DefaultBotProperties(link_preview_is_disabled=True),
    )


def bot_commands(texts: Texts) -> list[BotCommand]:
    """The command menu in one language."""
    described = texts.commands
    return [
        BotCommand(command="start", description=described.start),
        BotCommand(command="help", description=described.help),
        BotCommand(command="role", description=described.role),
        BotCommand(command="reset", description=described.reset),
        BotCommand(command="status", description=described.status),
        BotCommand(command="forget", description=described.forget),
    ]


async def register_commands(delivery: Delivery) -> None:
    """setMyCommands in English (the default) and in every other catalogue's language."""
    for language, texts in CATALOGUES.items():
        code = None if language == "en" else language
        await delivery.call(SetMyCommands(commands=bot_commands(texts), language_code=code))


async def run(settings: BotSettings, stop: asyncio.Event) -> None:
    """Serve until `stop` is set; then finish answers in flight (bounded) and close."""
    bot = make_bot(settings)
    api = WebAPI(
        settings.api_url,
        settings.BOT_API_TOKEN.get_secret_value(),
        retry_s=settings.API_RETRY_S,
        read_timeout_s=settings.api_read_timeout_s,
    )
    try:
        await _serve(settings, bot, api, stop)
    finally:
        await api.close()
        await bot.session.close()
    log.info("bot stopped")


async def _serve(settings: BotSettings, bot: Bot, api: WebAPI, stop: asyncio.Event) -> None:
    delivery = Delivery(bot)
    in_flight = InFlight()
    dp = build_dispatcher(settings, api, delivery, in_flight)
    await delivery.call(GetMe())
    me = await bot.me()  # cached from here on: filters use it
    log.info("bot @%s starting in %s mode", me.username, settings.BOT_MODE.value)
    await register_commands(delivery)
    heartbeat = None
    if settings.BOT_HEARTBEAT_FILE is not None:
        heartbeat = asyncio.create_task(beat(settings.BOT_HEARTBEAT_FILE, stop))
    # Serving already: what every answer needs is built meanwhile, not by the first answer.
    warm_up = asyncio.create_task(build_soon((Update, *METHODS)))
    if settings.BOT_MODE is BotMode.POLLING:
        await _poll(dp, bot, delivery, stop)
        await _confirm_taken(delivery, in_flight)
    else:
        await _serve_webhook(dp, bot, delivery, settings, stop, in_flight)
    if heartbeat is not None:
        await heartbeat  # stop is set: the file goes, a stopping bot is no longer healthy
    await warm_up
    if not await in_flight.wait_idle(settings.BOT_SHUTDOWN_GRACE_S):
        log.warning("stopping with %d updates still being handled", in_flight.count)


async def _poll(dp: Dispatcher, bot: Bot, delivery: Delivery, stop: asyncio.Event) -> None:
    # Telegram refuses getUpdates while a webhook is set.
    await delivery.call(DeleteWebhook(drop_pending_updates=False))
    polling = asyncio.create_task(
        dp.start_polling(
            bot,
            handle_signals=False,
            close_bot_session=False,
            allowed_updates=dp.resolve_used_update_types(),
        )
    )
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not polling.done():
        try:
            await dp.stop_polling()
        except RuntimeError:  # stopped before polling had begun
            polling.cancel()
    stopped.cancel()
    with suppress(asyncio.CancelledError):
        await polling


async def _confirm_taken(delivery: Delivery, in_flight: InFlight) -> None:
    """Tell Telegram the updates taken so far are handled (it confirms them on the next
    getUpdates), so the next start does not get them again; newer ones stay queued."""
    if in_flight.last_update_id is None:
        return
    confirm = GetUpdates(offset=in_flight.last_update_id + 1, limit=1, timeout=0)
    try:
        await delivery.call(confirm)
    except TelegramAPIError as exc:
        log.warning("could not confirm the last updates: %s", type(exc).__name__)


async def _serve_webhook(
    dp: Dispatcher,
    bot: Bot,
    delivery: Delivery,
    settings: BotSettings,
    stop: asyncio.Event,
    in_flight: InFlight,
) -> None:
    if settings.WEBHOOK_URL is None or settings.WEBHOOK_SECRET is None:
        raise RuntimeError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET (checked at load)")
    secret = settings.WEBHOOK_SECRET.get_secret_value()
    app = web.Application()
    handler = SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret)
    handler.register(app, path=urlsplit(str(settings.WEBHOOK_URL)).path or "/")
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    host, port = settings.webhook_host_port
    site = web.TCPSite(runner, host, port)
    await dp.emit_startup(bot=bot, **dp.workflow_data)
    await site.start()
    log.info("webhook server listening on %s", settings.WEBHOOK_BIND)
    await delivery.call(
        SetWebhook(
            url=str(settings.WEBHOOK_URL),
            secret_token=secret,
            allowed_updates=dp.resolve_used_update_types(),
        )
    )
    try:
        await stop.wait()
    finally:
        await site.stop()  # no new updates; those being handled go on
        if not await in_flight.wait_idle(settings.BOT_SHUTDOWN_GRACE_S):
            log.warning("stopping with %d updates still being handled", in_flight.count)
        await dp.emit_shutdown(bot=bot, **dp.workflow_data)
        await runner.shutdown()  # the request handler closes the bot's session here
        await runner.cleanup()
