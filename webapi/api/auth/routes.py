"""Sign in, sign out, and who am I."""

from __future__ import annotations

from typing import Any

from flask import request
from pydantic import BaseModel, Field

from webapi.api.auth import bp
from webapi.api.console_guard import CONSOLE_WRITE, EMPTY_JSON_BODY
from webapi.api.schemas import ShortName
from webapi.api.security import (
    COOKIE_SCHEME,
    refused_credentials,
    require_account,
    session_token,
    sign_in,
    sign_out,
)
from webapi.domain.accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountInfo,
    authenticate,
    change_own_password,
)
from webapi.errors import ApiError, ErrorCode, ErrorResponse
from webapi.services import services


class LoginIn(BaseModel):
    username: ShortName = Field(min_length=1)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class AccountOut(BaseModel):
    id: int
    username: str
    is_admin: bool

    @classmethod
    def of(cls, account: AccountInfo) -> dict[str, Any]:
        return cls(id=account.id, username=account.username, is_admin=account.is_admin).model_dump()


class LoggedOut(BaseModel):
    status: str = Field(description="Always `signed_out`.")


@bp.post(
    "/login", responses={200: AccountOut, **CONSOLE_WRITE, 401: ErrorResponse, 429: ErrorResponse}
)
def login(body: LoginIn) -> dict[str, Any]:
    """Check the credentials and set the HttpOnly session cookie.

    Attempts are limited per client and username, and more loosely per client; a refused
    attempt (429, with Retry-After) is refused whatever its password, until its window ends.
    """
    refused = services().login_limits.attempt(request.remote_addr or "unknown", body.username)
    if refused is not None:
        raise ApiError(
            429,
            ErrorCode.TOO_MANY_REQUESTS,
            f"Too many sign-in attempts; try again in {refused.retry_after_s} s.",
            headers={"Retry-After": str(refused.retry_after_s)},
        )
    account = authenticate(body.username, body.password)
    if account is None:
        raise ApiError(401, ErrorCode.INVALID_CREDENTIALS, "Wrong username or password.")
    sign_in(account)
    return AccountOut.of(account)


@bp.post(
    "/logout",
    responses={200: LoggedOut, **CONSOLE_WRITE, 401: ErrorResponse},
    security=[{COOKIE_SCHEME: []}],
    openapi_extensions=EMPTY_JSON_BODY,
)
def logout() -> dict[str, Any]:
    """End the session: the cookie, and the server-side record that any copy of it needs."""
    sign_out()
    return {"status": "signed_out"}


@bp.get("/me", responses={200: AccountOut, 401: ErrorResponse}, security=[{COOKIE_SCHEME: []}])
def me() -> dict[str, Any]:
    """The signed-in account."""
    return AccountOut.of(require_account())


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class PasswordChanged(BaseModel):
    status: str = Field(description="Always `password_changed`; the other sessions ended.")


@bp.put(
    "/password",
    responses={200: PasswordChanged, **CONSOLE_WRITE, 401: ErrorResponse, 403: ErrorResponse},
    security=[{COOKIE_SCHEME: []}],
)
def change_password(body: PasswordChangeIn) -> dict[str, Any]:
    """Change the signed-in account's password: the current one must be right (403
    `invalid_credentials`); the account's other sessions end, this one goes on."""
    account = require_account()
    token = session_token()
    assert token is not None  # require_account found the session by it
    try:
        change_own_password(account, body.current_password, body.new_password, token)
    except ValueError as exc:
        raise refused_credentials(exc) from None
    return {"status": "password_changed"}
