"""The fake Telegram's HTTP server: the Bot API and the control API on one aiohttp app.

It runs on its own thread with its own event loop, so synchronous tests and an asyncio bot
in the test's own loop can both use it. getUpdates long-polls here: it waits on an event
that feeding an update sets (from any thread, through ``call_soon_threadsafe``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.doubles.fake_telegram import methods
from tests.doubles.fake_telegram.control_api import add_control_routes
from tests.doubles.fake_telegram.faults import FaultQueue
from tests.doubles.fake_telegram.methods import ApiError, Params
from tests.doubles.fake_telegram.records import Call, CallLog
from tests.doubles.fake_telegram.world import World

logger = logging.getLogger(__name__)

CLIENT_GONE = 499  # recorded status of a call whose client hung up before the answer


class FakeTelegramServer:
    """The aiohttp app on a background thread (``start`` / ``stop``)."""

    def __init__(
        self,
        world: World,
        faults: FaultQueue,
        calls: CallLog,
        token: str,
    ) -> None:
        self._world = world
        self._faults = faults
        self._calls = calls
        self._token = token
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._updates_changed: asyncio.Event | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self, host: str, port: int) -> int:
        """Bind ``host:port`` (0: any free port) and serve; returns the bound port."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-telegram", daemon=True)
        thread.start()
        try:
            future = asyncio.run_coroutine_threadsafe(self._serve(host, port), loop)
            self.port = future.result(timeout=10)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()
            raise
        self._loop, self._thread = loop, thread
        self._world.on_update = self._notify_from_any_thread
        return self.port

    async def _serve(self, host: str, port: int) -> int:
        self._stopping = asyncio.Event()
        self._updates_changed = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        add_control_routes(app, self._world, self._faults, self._calls)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # A getUpdates whose client hung up must stop waiting, as on Telegram.
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound: int = runner.addresses[0][1]
        return bound

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: waiting getUpdates calls return at once. Idempotent."""
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        self._world.on_update = None
        with contextlib.suppress(Exception):  # a stop never raises
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()

    async def _shutdown(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        self._notify_pollers()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ long polling

    def _notify_from_any_thread(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self._notify_pollers)

    def _notify_pollers(self) -> None:
        """Wake every waiting getUpdates (they re-check; a fresh event for the next wait)."""
        changed = self._updates_changed
        self._updates_changed = asyncio.Event()
        if changed is not None:
            changed.set()

    async def _get_updates(self, params: Params) -> list[Any]:
        with self._world.lock:
            poll = methods.poll_request(self._world, params)
            generation = self._world.new_poll()
            updates = self._world.take_updates(poll.offset, poll.limit, poll.allowed_updates)
        self._notify_pollers()  # an earlier getUpdates still waiting is now superseded
        deadline = time.monotonic() + poll.timeout
        while not updates and self._stopping is not None and not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            changed = self._updates_changed
            assert changed is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
            with self._world.lock:
                if self._world.poll_generation != generation:
                    raise ApiError(
                        HTTPStatus.CONFLICT,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                updates = self._world.take_updates(poll.offset, poll.limit, None)
        return updates

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but not past stop()."""
        if seconds > 0 and self._stopping is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    # ------------------------------------------------------------------ the Bot API

    async def _bot_api(self, request: web.Request) -> web.Response:
        arrived = time.time()
        name = request.match_info["method"]
        method = methods.canonical_name(name) or name
        params: dict[str, Any] = {}
        status: int = HTTPStatus.OK
        body: dict[str, Any] = {}
        try:
            params = await read_params(request)
            status, body = await self._answer(request.match_info["token"], method, params)
        except asyncio.CancelledError:
            status, body = CLIENT_GONE, {"ok": False, "description": "client went away"}
            raise
        except ApiError as exc:
            status, body = exc.status, exc.body()
        finally:
            self._calls.add(Call(method, params, arrived, body, int(status), time.time()))
        return web.json_response(body, status=status)

    async def _answer(
        self, token: str, method: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if token != self._token:
            raise ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
        handler = methods.METHODS.get(method)
        if handler is None and method != methods.GET_UPDATES:
            raise ApiError(HTTPStatus.NOT_FOUND, "Not Found")
        fault = self._faults.take(method)
        if fault is not None:
            await self._sleep(fault.delay_s)
            error = fault.error_body()
            if error is not None:
                return error["error_code"], error
        if handler is None:
            result = await self._get_updates(Params(params))
        else:
            with self._world.lock:
                result = handler(self._world, Params(params))
        return HTTPStatus.OK, {"ok": True, "result": result}

    async def _not_found(self, request: web.Request) -> web.Response:
        body = {"ok": False, "error_code": 404, "description": "Not Found"}
        return web.json_response(body, status=HTTPStatus.NOT_FOUND)


async def read_params(request: web.Request) -> dict[str, Any]:
    """The call's parameters from the query string and a form, multipart or JSON body."""
    raw: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return methods.decode_params(raw)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise methods.bad_request("can't parse JSON request body") from exc
        if not isinstance(body, dict):
            raise methods.bad_request("the JSON request body must be an object")
        raw.update(body)
    else:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                raw[key] = {"filename": value.filename, "size": len(value.file.read())}
            else:
                raw[key] = value
    return methods.decode_params(raw)
