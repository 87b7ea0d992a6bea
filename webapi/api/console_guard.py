"""Console routes that change state take only JSON, and only from allowed origins.

A browser sends the console's session cookie with requests that other sites' pages make it
send, so such a page could sign the owner out, or in to an account of its choosing. Two checks
on every console POST, PUT, PATCH and DELETE (login and logout included) stop that:
- the body must be `application/json`, which a browser sends to another site only after a CORS
  preflight, and webapi grants none: a form or text/plain is refused (415);
- an `Origin` header, which browsers add to such requests, must name an allowed origin
  (CONSOLE_ORIGINS; by default the request's own host), or the request is refused (403).
A request without Origin (curl, the console's server-side proxy) goes on. The bot's routes need
a bearer token, which no browser adds by itself: they are not checked.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from webapi.api.security import BOT_BLUEPRINT
from webapi.errors import ApiError, ErrorCode, ErrorResponse
from webapi.services import services
from webapi.settings import normalized_origin

STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
# What every console route that changes state documents beside its own answers.
CONSOLE_WRITE: dict[str | int, Any] = {403: ErrorResponse, 415: ErrorResponse}
# The request body of a console write that reads none (`openapi_extensions=`): it goes as JSON
# all the same, so that generated clients send the Content-Type this guard wants.
EMPTY_JSON_BODY: dict[str, Any] = {
    "requestBody": {
        "description": "Nothing is read from it: send `{}`, as application/json.",
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _is_console_write() -> bool:
    return (
        request.url_rule is not None  # unknown URLs answer 404
        and request.method in STATE_CHANGING_METHODS
        and request.path.startswith(API_PREFIX)
        and request.blueprint != BOT_BLUEPRINT
    )


def origin_allowed(header: str) -> bool:
    origin = normalized_origin(header)
    if origin is None:
        return False  # `null` (sandboxed pages, some redirects) and anything malformed
    allowed = services().settings.console_origins
    if allowed:
        return origin in allowed
    # By default the request's own host; its scheme may differ behind a TLS-ending proxy.
    scheme = origin.partition("://")[0]
    return origin == normalized_origin(f"{scheme}://{request.host}")


def _guard() -> None:
    if not _is_console_write():
        return
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(origin):
        raise ApiError(403, ErrorCode.FORBIDDEN, "Requests from this origin are not allowed.")
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "Send this request with Content-Type: application/json.",
        )


def init_app(app: Flask) -> None:
    app.before_request(_guard)
