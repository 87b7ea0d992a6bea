"""Console accounts and their sign-in sessions.

A session's token lives in the (signed, HttpOnly) cookie; the table keeps only its hash, so that
signing out or expiry ends it for good, copies of the cookie included.

Admins list, create and disable accounts and reset their passwords; every account changes its
own. A disabled account cannot sign in and its sessions end. An admin cannot disable their
own account, so the console always keeps an admin who can sign in.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from webapi.database import read_session, write_session
from webapi.errors import ApiError, ErrorCode
from webapi.models import Account, ConsoleSession, UTCDateTime, utcnow

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_USERNAME_LENGTH = 64


@dataclass(frozen=True)
class AccountInfo:
    id: int
    username: str
    is_admin: bool


class AccountExistsError(ValueError):
    """An account of that name exists already."""


@dataclass(frozen=True)
class AccountRecord:
    """An account as an admin sees it."""

    id: int
    username: str
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


def check_credentials(username: str, password: str) -> None:
    """Raise ValueError (a sentence) unless a new account may have this name and password."""
    if not 1 <= len(username.strip()) <= MAX_USERNAME_LENGTH or username != username.strip():
        raise ValueError(
            f"the name must have 1 to {MAX_USERNAME_LENGTH} characters, no outer spaces"
        )
    check_password(password)


def check_password(password: str) -> None:
    """Raise ValueError (a sentence) unless an account may have this password."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValueError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
            f" (and at most {MAX_PASSWORD_LENGTH})"
        )


def create_account(username: str, password: str, *, is_admin: bool) -> AccountInfo:
    """Add an account; AccountExistsError when the name is taken, ValueError when it is unusable."""
    check_credentials(username, password)
    account = Account(
        username=username, is_admin=is_admin, password_hash=generate_password_hash(password)
    )
    try:
        with write_session() as session:
            session.add(account)
            session.flush()
            return AccountInfo(account.id, account.username, account.is_admin)
    except sa.exc.IntegrityError:
        raise AccountExistsError(f"an account named '{username}' exists already") from None


def ensure_first_admin(username: str | None, password: str | None) -> bool:
    """Create the admin from the environment when the database has no account yet."""
    if not username or not password:
        return False
    with read_session(fresh=True) as session:
        if not sa.inspect(session.connection()).has_table(Account.__tablename__):
            return False  # not migrated yet: `flask db upgrade` comes first
        if session.scalar(sa.select(sa.func.count(Account.id))):
            return False
    try:
        create_account(username, password, is_admin=True)
    except AccountExistsError:
        return False  # another worker created it at the same moment
    log.info("created the first admin account %r from ADMIN_USERNAME", username)
    return True


@cache
def _decoy_hash() -> str:
    """Checked for unknown names, so a wrong name costs as long as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(username: str, password: str) -> AccountInfo | None:
    """The account these credentials open, or None (a disabled account opens none); as slow
    for a wrong name as for a wrong password. No transaction is held while the password is
    checked."""
    with read_session(fresh=True) as session:
        found = session.execute(
            sa.select(Account.id, Account.username, Account.is_admin, Account.password_hash).where(
                Account.username == username, Account.disabled_at.is_(None)
            )
        ).one_or_none()
    if found is None:
        check_password_hash(_decoy_hash(), password)
        return None
    if not check_password_hash(found.password_hash, password):
        return None
    return AccountInfo(found.id, found.username, found.is_admin)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(account: AccountInfo, lifetime: timedelta) -> str:
    """Record a new console session for the account; answer its token (for the cookie)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with write_session() as session:
        session.add(
            ConsoleSession(
                account_id=account.id, token_hash=_token_hash(token), expires_at=now + lifetime
            )
        )
        session.execute(
            sa.update(Account).where(Account.id == account.id).values(last_login_at=now)
        )
    return token


def end_session(token: str) -> None:
    """Revoke a console session, whatever copies of its cookie exist."""
    with write_session() as session:
        session.execute(
            sa.update(ConsoleSession)
            .where(ConsoleSession.token_hash == _token_hash(token))
            .where(ConsoleSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


# Every console request asks it: built once, not per request.
_SESSION_ACCOUNT = (
    sa.select(Account.id, Account.username, Account.is_admin)
    .join(ConsoleSession, ConsoleSession.account_id == Account.id)
    .where(
        ConsoleSession.token_hash == sa.bindparam("token_hash"),
        ConsoleSession.revoked_at.is_(None),
        ConsoleSession.expires_at > sa.bindparam("now", type_=UTCDateTime()),
        Account.disabled_at.is_(None),
    )
)


def session_account(token: str) -> AccountInfo | None:
    """The account of a live (unrevoked, unexpired) console session of an enabled account."""
    with read_session(fresh=True) as session:
        found = session.execute(
            _SESSION_ACCOUNT, {"token_hash": _token_hash(token), "now": utcnow()}
        ).one_or_none()
    return None if found is None else AccountInfo(found.id, found.username, found.is_admin)


# --- administration ----------------------------------------------------------------------------


def _record(account: Account) -> AccountRecord:
    return AccountRecord(
        account.id,
        account.username,
        account.is_admin,
        account.created_at,
        account.last_login_at,
        account.disabled_at,
    )


def account_not_found() -> ApiError:
    return ApiError(404, ErrorCode.NOT_FOUND, "There is no such account.")


def get_account(account_id: int) -> AccountRecord:
    with read_session(fresh=True) as session:
        account = session.get(Account, account_id)
        if account is None:
            raise account_not_found()
        return _record(account)


def list_accounts() -> list[AccountRecord]:
    """Every account, by name."""
    with read_session(fresh=True) as session:
        accounts = session.scalars(sa.select(Account).order_by(Account.username)).all()
        return [_record(account) for account in accounts]


def _end_sessions(session: sa.orm.Session, account_id: int, but: str | None = None) -> None:
    """Revoke the account's live sessions (all but the one whose token is `but`)."""
    statement = (
        sa.update(ConsoleSession)
        .where(ConsoleSession.account_id == account_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if but is not None:
        statement = statement.where(ConsoleSession.token_hash != _token_hash(but))
    session.execute(statement)


def set_disabled(account_id: int, disabled: bool, by: AccountInfo) -> AccountRecord:
    """Disable (its sessions end) or enable an account. An admin cannot disable themselves,
    so the console always keeps an admin who can sign in (409 otherwise)."""
    with write_session() as session:
        account = session.get(Account, account_id, with_for_update=True)
        if account is None:
            raise account_not_found()
        if disabled and account.id == by.id:
            raise ApiError(409, ErrorCode.CONFLICT, "You cannot disable your own account.")
        if disabled and account.disabled_at is None:
            account.disabled_at = utcnow()
            _end_sessions(session, account.id)
        elif not disabled:
            account.disabled_at = None
        session.flush()
        return _record(account)


def set_password(account_id: int, password: str) -> None:
    """An admin's reset: the new password, and every session of the account ends.
    ValueError (a sentence) for a password that is not allowed."""
    check_password(password)
    password_hash = generate_password_hash(password)  # before the transaction: it is slow
    with write_session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise account_not_found()
        account.password_hash = password_hash
        _end_sessions(session, account.id)


def change_own_password(account: AccountInfo, current: str, new: str, token: str) -> None:
    """The account's own change: the current password must be right (403 otherwise: the
    session itself is good); its other sessions end, this one (`token`) goes on."""
    if authenticate(account.username, current) is None:
        raise ApiError(403, ErrorCode.INVALID_CREDENTIALS, "The current password is wrong.")
    check_password(new)
    password_hash = generate_password_hash(new)
    with write_session() as session:
        session.execute(
            sa.update(Account).where(Account.id == account.id).values(password_hash=password_hash)
        )
        _end_sessions(session, account.id, but=token)
