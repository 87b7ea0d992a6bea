"""Who may call what: every route needs a console session or the bot token unless listed public."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app, g, request, session

from webapi.errors import ApiError
from webapi.extensions import db
from webapi.models import Account, ConsoleSession, utcnow

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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(account: Account) -> None:
    """Record a new console session and put its token in the (signed, HttpOnly) cookie."""
    token = secrets.token_urlsafe(32)
    lifetime: timedelta = current_app.permanent_session_lifetime
    db.session.add(
        ConsoleSession(
            account_id=account.id, token_hash=_token_hash(token), expires_at=utcnow() + lifetime
        )
    )
    db.session.commit()
    session.clear()
    session[SESSION_TOKEN_KEY] = token
    session.permanent = True


def end_session() -> None:
    """Revoke the caller's console session, whatever copies of the cookie exist."""
    token = session.get(SESSION_TOKEN_KEY)
    if isinstance(token, str):
        db.session.execute(
            sa.update(ConsoleSession)
            .where(ConsoleSession.token_hash == _token_hash(token))
            .where(ConsoleSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        db.session.commit()
    session.clear()


def current_account() -> Account | None:
    """The account of a live (unrevoked, unexpired) console session, looked up once per request."""
    if "account" not in g:
        token = session.get(SESSION_TOKEN_KEY)
        g.account = None
        if isinstance(token, str):
            g.account = db.session.scalar(
                sa.select(Account)
                .join(ConsoleSession, ConsoleSession.account_id == Account.id)
                .where(
                    ConsoleSession.token_hash == _token_hash(token),
                    ConsoleSession.revoked_at.is_(None),
                    ConsoleSession.expires_at > utcnow(),
                )
            )
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
