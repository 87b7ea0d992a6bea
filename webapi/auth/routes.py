"""Sign in, sign out, and who am I."""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import current_app
from pydantic import BaseModel, Field
from werkzeug.security import check_password_hash, generate_password_hash

from webapi.auth import bp
from webapi.errors import ApiError, ErrorResponse
from webapi.extensions import db, limiter
from webapi.models import Account, utcnow
from webapi.schemas import ShortName
from webapi.security import COOKIE_SCHEME, end_session, require_account, start_session


@cache
def _decoy_hash() -> str:
    """Checked for unknown names, so a wrong name costs as long as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16))


class LoginIn(BaseModel):
    username: ShortName = Field(min_length=1)
    password: str = Field(min_length=1, max_length=1024)


class AccountOut(BaseModel):
    id: int
    username: str
    is_admin: bool


class LoggedOut(BaseModel):
    status: str = Field(description="Always `signed_out`.")


def _login_limit() -> str:
    limit: str = current_app.config["LOGIN_RATE_LIMIT"]
    return limit


def _account_out(account: Account) -> dict[str, Any]:
    return AccountOut(
        id=account.id, username=account.username, is_admin=account.is_admin
    ).model_dump()


@bp.post("/login", responses={200: AccountOut, 401: ErrorResponse, 429: ErrorResponse})
@limiter.limit(_login_limit)
def login(body: LoginIn) -> dict[str, Any]:
    """Check the credentials and set the HttpOnly session cookie."""
    account = db.session.scalar(sa.select(Account).where(Account.username == body.username))
    if account is None:
        check_password_hash(_decoy_hash(), body.password)
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    if not account.check_password(body.password):
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    account.last_login_at = utcnow()
    start_session(account)
    return _account_out(account)


@bp.post(
    "/logout",
    responses={200: LoggedOut, 401: ErrorResponse},
    security=[{COOKIE_SCHEME: []}],
)
def logout() -> dict[str, Any]:
    """End the session: the cookie, and the server-side record that any copy of it needs."""
    end_session()
    return {"status": "signed_out"}


@bp.get("/me", responses={200: AccountOut, 401: ErrorResponse}, security=[{COOKIE_SCHEME: []}])
def me() -> dict[str, Any]:
    """The signed-in account."""
    return _account_out(require_account())
