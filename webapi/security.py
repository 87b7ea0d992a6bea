"""Who may call what: every route needs a console session or the bot token unless listed public."""

from __future__ import annotations

import hmac

from flask import Flask, current_app, g, request, session

from webapi.errors import ApiError
from webapi.extensions import db
from webapi.models import Account

# Deny by default: a new route is closed until it is named here.
PUBLIC_ENDPOINTS = frozenset({"health.live", "health.ready", "openapi_document", "auth.login"})
BOT_BLUEPRINT = "bot"
SESSION_ACCOUNT_KEY = "account_id"

BEARER_SCHEME = "bearerAuth"
COOKIE_SCHEME = "cookieAuth"
SESSION_COOKIE_NAME = "aidd_session"
SECURITY_SCHEMES = {
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "BOT_API_TOKEN, for the Telegram bot.",
    },
    COOKIE_SCHEME: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE_NAME,
        "description": "Console session cookie set by POST /api/v1/auth/login.",
    },
}


def bot_token_presented() -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    expected: str = current_app.config["BOT_API_TOKEN"]
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def current_account() -> Account | None:
    """The signed-in console account, looked up once per request."""
    if "account" not in g:
        account_id = session.get(SESSION_ACCOUNT_KEY)
        g.account = db.session.get(Account, account_id) if isinstance(account_id, int) else None
    account: Account | None = g.account
    return account


def require_account() -> Account:
    account = current_account()
    if account is None:
        raise ApiError(401, "unauthorized", "Sign in first.")
    return account


def _guard() -> None:
    if request.url_rule is None or request.endpoint in PUBLIC_ENDPOINTS:
        return  # unknown URLs answer 404; public ones need nothing
    if request.blueprint == BOT_BLUEPRINT:
        if not bot_token_presented():
            raise ApiError(401, "unauthorized", "A valid bot token is required.")
        return
    require_account()


def init_app(app: Flask) -> None:
    app.before_request(_guard)
