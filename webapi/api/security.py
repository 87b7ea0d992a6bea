"""Who may call what: every route needs a console session or the bot token unless listed public."""

from __future__ import annotations

import hmac

from flask import Flask, current_app, g, request, session

from webapi.domain.accounts import AccountInfo, end_session, session_account, start_session
from webapi.errors import ApiError, ErrorCode

# Deny by default: a new route is closed until it is named here.
PUBLIC_ENDPOINTS = frozenset({"health.live", "health.ready", "openapi_document", "auth.login"})
BOT_BLUEPRINT = "bot"
SESSION_TOKEN_KEY = "sid"  # noqa: S105 (the cookie field's name, not a secret)

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


def sign_in(account: AccountInfo) -> None:
    """Start a console session and put its token in the (signed, HttpOnly) cookie."""
    token = start_session(account, current_app.permanent_session_lifetime)
    session.clear()
    session[SESSION_TOKEN_KEY] = token
    session.permanent = True


def sign_out() -> None:
    """End the caller's console session, whatever copies of the cookie exist."""
    token = session.get(SESSION_TOKEN_KEY)
    if isinstance(token, str):
        end_session(token)
    session.clear()


def current_account() -> AccountInfo | None:
    """The account of the caller's live console session, looked up once per request."""
    if "account" not in g:
        token = session.get(SESSION_TOKEN_KEY)
        g.account = session_account(token) if isinstance(token, str) else None
    account: AccountInfo | None = g.account
    return account


def require_account() -> AccountInfo:
    account = current_account()
    if account is None:
        raise ApiError(401, ErrorCode.UNAUTHORIZED, "Sign in first.")
    return account


def require_admin() -> AccountInfo:
    account = require_account()
    if not account.is_admin:
        raise ApiError(403, ErrorCode.FORBIDDEN, "Only an admin may do this.")
    return account


def refused_credentials(exc: ValueError) -> ApiError:
    """A name or password the account rules refuse (their sentence), as a 422."""
    return ApiError(422, ErrorCode.VALIDATION_ERROR, f"{str(exc).capitalize()}.")


def session_token() -> str | None:
    """The token of the caller's console session (in the signed cookie)."""
    token = session.get(SESSION_TOKEN_KEY)
    return token if isinstance(token, str) else None


def _guard() -> None:
    if request.url_rule is None or request.endpoint in PUBLIC_ENDPOINTS:
        return  # unknown URLs answer 404; public ones need nothing
    if request.blueprint == BOT_BLUEPRINT:
        if not bot_token_presented():
            raise ApiError(401, ErrorCode.UNAUTHORIZED, "A valid bot token is required.")
        return
    require_account()


def init_app(app: Flask) -> None:
    app.before_request(_guard)
