"""The control API of the fake Telegram (JSON under ``/_control/``): feed, script, read back.

Routes are listed in the package docstring. A bad body or query gets a 400
``{"error": "..."}``; nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.doubles.fake_telegram.faults import Fault, FaultQueue
from tests.doubles.fake_telegram.records import CallLog
from tests.doubles.fake_telegram.world import World

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _BadInputError(ValueError):
    """The control request itself is wrong (answered with a 400)."""


def _int_query(request: web.Request, name: str, *, required: bool) -> int | None:
    value = request.query.get(name)
    if value is None:
        if required:
            raise _BadInputError(f"query parameter {name} is required")
        return None
    try:
        return int(value)
    except ValueError:
        raise _BadInputError(f"query parameter {name} must be an integer, got {value!r}") from None


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _BadInputError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise _BadInputError("the body must be a JSON object")
    return body


def _guarded(handler: Handler) -> Handler:
    """Answer a wrong control request with a 400 instead of a 500."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (_BadInputError, TypeError, ValueError, KeyError) as exc:
            error = {"error": f"{type(exc).__name__}: {exc}"}
            return web.json_response(error, status=HTTPStatus.BAD_REQUEST)

    return guarded


def add_control_routes(
    app: web.Application, world: World, faults: FaultQueue, calls: CallLog
) -> None:
    """Mount ``/_control/...`` on ``app``."""

    async def health(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "status": "ok",
                "calls": len(calls.all()),
                "pending_updates": world.pending_update_count(),
                "faults": len(faults.pending()),
            }
        )

    async def feed_raw(request: web.Request) -> web.StreamResponse:
        return web.json_response(world.feed_update(await _json_object(request)))

    async def feed_text(request: web.Request) -> web.StreamResponse:
        body = await _json_object(request)
        return web.json_response(world.send_text(body.pop("user_id"), body.pop("text"), **body))

    async def feed_button(request: web.Request) -> web.StreamResponse:
        body = await _json_object(request)
        update = world.press_button(
            body.pop("user_id"), body.pop("message_id"), body.pop("data"), **body
        )
        return web.json_response(update)

    async def fed_updates(request: web.Request) -> web.StreamResponse:
        return web.json_response([fed.to_dict() for fed in world.fed_updates()])

    async def list_calls(request: web.Request) -> web.StreamResponse:
        method = request.query.get("method")
        found = [c for c in calls.all() if method is None or c.method.lower() == method.lower()]
        return web.json_response([call.to_dict() for call in found])

    async def messages(request: web.Request) -> web.StreamResponse:
        chat_id = _int_query(request, "chat_id", required=True)
        assert chat_id is not None
        include_deleted = request.query.get("include_deleted", "").lower() in ("1", "true")
        sent = world.sent_messages(chat_id, include_deleted)
        return web.json_response([message.to_dict() for message in sent])

    async def drafts(request: web.Request) -> web.StreamResponse:
        chat_id = _int_query(request, "chat_id", required=False)
        return web.json_response([draft.to_dict() for draft in world.drafts(chat_id)])

    async def commands(request: web.Request) -> web.StreamResponse:
        return web.json_response(world.all_commands())

    async def webhook(request: web.Request) -> web.StreamResponse:
        return web.json_response(world.webhook)

    async def callback_answers(request: web.Request) -> web.StreamResponse:
        return web.json_response(world.callback_answers())

    async def list_faults(request: web.Request) -> web.StreamResponse:
        return web.json_response([fault.to_dict() for fault in faults.pending()])

    async def add_faults(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            raise _BadInputError("the body must be JSON") from None
        items = body if isinstance(body, list) else [body]
        parsed = [Fault.from_dict(item) for item in items]  # all valid before any is queued
        for fault in parsed:
            faults.add(fault)
        return web.json_response({"pending": len(faults.pending())})

    async def reset(request: web.Request) -> web.StreamResponse:
        world.reset()
        faults.clear()
        calls.clear()
        return web.json_response({"ok": True})

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/_control/health", health),
        ("POST", "/_control/updates", feed_raw),
        ("GET", "/_control/updates", fed_updates),
        ("POST", "/_control/updates/text", feed_text),
        ("POST", "/_control/updates/button", feed_button),
        ("GET", "/_control/calls", list_calls),
        ("GET", "/_control/messages", messages),
        ("GET", "/_control/drafts", drafts),
        ("GET", "/_control/commands", commands),
        ("GET", "/_control/webhook", webhook),
        ("GET", "/_control/callback_answers", callback_answers),
        ("GET", "/_control/faults", list_faults),
        ("POST", "/_control/faults", add_faults),
        ("POST", "/_control/reset", reset),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guarded(handler))
