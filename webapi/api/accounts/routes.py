"""/api/v1/accounts/...: an admin's management of console accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from webapi.api.accounts import bp
from webapi.api.console_guard import CONSOLE_WRITE
from webapi.api.schemas import ShortName
from webapi.api.security import refused_credentials, require_admin
from webapi.domain import accounts
from webapi.domain.accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountExistsError,
    AccountRecord,
)
from webapi.errors import ApiError, ErrorCode, ErrorResponse

Password = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class AccountPath(BaseModel):
    account_id: int = Field(ge=1, le=2**63 - 1)


class ManagedAccountOut(BaseModel):
    id: int
    username: str
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None
    disabled: bool

    @classmethod
    def of(cls, record: AccountRecord) -> dict[str, Any]:
        return cls(
            id=record.id,
            username=record.username,
            is_admin=record.is_admin,
            created_at=record.created_at,
            last_login_at=record.last_login_at,
            disabled=record.disabled_at is not None,
        ).model_dump(mode="json")


class ManagedAccountsOut(BaseModel):
    accounts: list[ManagedAccountOut] = Field(description="By name.")


class NewAccountIn(BaseModel):
    username: ShortName = Field(min_length=1)
    password: str = Password
    is_admin: bool = False


class AccountChangeIn(BaseModel):
    disabled: bool = Field(description="A disabled account cannot sign in; its sessions end.")


class PasswordResetIn(BaseModel):
    password: str = Password


class PasswordResetOut(BaseModel):
    status: str = Field(description="Always `password_reset`; the account's sessions ended.")


@bp.get("", responses={200: ManagedAccountsOut})
def list_accounts() -> dict[str, Any]:
    """Every console account."""
    require_admin()
    return {"accounts": [ManagedAccountOut.of(record) for record in accounts.list_accounts()]}


@bp.post("", responses={201: ManagedAccountOut, **CONSOLE_WRITE, 409: ErrorResponse})
def create_account(body: NewAccountIn) -> tuple[dict[str, Any], int]:
    """Add an account (409 `conflict` when the name is taken)."""
    require_admin()
    try:
        created = accounts.create_account(body.username, body.password, is_admin=body.is_admin)
    except AccountExistsError as exc:
        raise ApiError(409, ErrorCode.CONFLICT, f"{str(exc).capitalize()}.") from None
    except ValueError as exc:
        raise refused_credentials(exc) from None
    return ManagedAccountOut.of(accounts.get_account(created.id)), 201


@bp.patch(
    "/<int:account_id>",
    responses={200: ManagedAccountOut, **CONSOLE_WRITE, 404: ErrorResponse, 409: ErrorResponse},
)
def change_account(path: AccountPath, body: AccountChangeIn) -> dict[str, Any]:
    """Disable an account (it cannot sign in, its sessions end) or enable it again. An admin
    cannot disable their own account (409 `conflict`)."""
    admin = require_admin()
    return ManagedAccountOut.of(accounts.set_disabled(path.account_id, body.disabled, admin))


@bp.post(
    "/<int:account_id>/password",
    responses={200: PasswordResetOut, **CONSOLE_WRITE, 404: ErrorResponse},
)
def reset_password(path: AccountPath, body: PasswordResetIn) -> dict[str, Any]:
    """Give the account a new password; every session of it ends."""
    require_admin()
    try:
        accounts.set_password(path.account_id, body.password)
    except ValueError as exc:
        raise refused_credentials(exc) from None
    return {"status": "password_reset"}
