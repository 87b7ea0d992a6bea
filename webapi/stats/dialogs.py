"""Dialogs in a window, sorted and paged on the server, and any dialog's whole transcript."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session

from webapi.database import read_session
from webapi.domain.transcripts import messages_of
from webapi.models import Account, Dialog, Message, User, UTCDateTime, utcnow
from webapi.stats.figures import Figures
from webapi.stats.windows import Window

PREVIEW_CHARS = 200
EXPORT_PAGE = 1_000


class SortKey(StrEnum):
    STARTED = "started"
    LATEST = "latest"
    MESSAGES = "messages"


_SORT_COLUMNS = {
    SortKey.STARTED: Dialog.started_at,
    SortKey.LATEST: Dialog.last_message_at,
    SortKey.MESSAGES: Dialog.message_count,
}


Started = QueryableAttribute[datetime] | sa.ColumnElement[datetime]


def _in_window(window: Window, started: Started = Dialog.started_at) -> sa.ColumnElement[bool]:
    # The same dialogs as the dashboard's count: started in the window, with a message.
    return sa.and_(started >= window.start, started < window.end, Dialog.message_count > 0)


def _latest_message_id() -> sa.ScalarSelect[Any]:
    return (
        sa.select(Message.id)
        .where(Message.dialog_id == Dialog.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _dialogs() -> sa.Select[*tuple[Any, ...]]:
    """Dialogs with who owns them: a Telegram user or a console account."""
    return (
        sa.select(
            Dialog.id,
            Dialog.channel,
            Dialog.mode,
            Dialog.role,
            Dialog.started_at,
            Dialog.ended_at,
            Dialog.message_count,
            Dialog.user_id,
            User.telegram_id,
            User.username,
            User.first_name,
            User.last_name,
            Account.username.label("account"),
        )
        .outerjoin(User, User.id == Dialog.user_id)
        .outerjoin(Account, Account.id == Dialog.account_id)
    )


def _page(session: Session, window: Window, sort: SortKey, descending: bool) -> sa.Select[int]:
    """The ids of the window's dialogs in order. The listing index (started_at, then sorted)
    reads every dialog of the window; by message count, where the window is a large share of
    all dialogs, ix_dialogs_message_count reaches a page sooner (in count order, passing over
    the dialogs outside the window), and is read instead."""
    direction = sa.desc if descending else sa.asc
    started: Started = Dialog.started_at
    if (
        sort is SortKey.MESSAGES
        and _large_share(session, window)
        and session.get_bind().dialect.name == "sqlite"
    ):
        # Unary plus: SQLite may not read the window by start; it reads in count order.
        # (PostgreSQL weighs both ways by its statistics, and takes this one where it pays.)
        started = sa.literal_column("+dialogs.started_at", UTCDateTime())
    return (
        sa.select(Dialog.id)
        .where(_in_window(window, started))
        .order_by(direction(_SORT_COLUMNS[sort]), direction(Dialog.id))
    )


def _large_share(session: Session, window: Window) -> bool:
    """Whether the window spans 1/MESSAGES_SHARE of all dialogs' time or more: read in count
    order, about MESSAGES_SHARE dialogs are passed over for each one listed (a row lookup
    each), against every dialog of the window from the listing index.

    Not for the latest message's order: a dialog's last message may (clocks apart) precede
    its start, so no bound on it holds the window's dialogs, and a window with less than a
    page of them would be read to the end of that index."""
    oldest: datetime | None = session.scalar(sa.select(sa.func.min(Dialog.started_at)))
    if oldest is None:
        return False
    whole = max(window.end, utcnow()) - oldest
    return (window.end - window.start) * MESSAGES_SHARE >= whole


MESSAGES_SHARE = 8


def _listed(session: Any, ids: list[int]) -> list[Any]:
    """Those dialogs, whole, in the order of `ids`."""
    found = {row.id: row for row in session.execute(_dialogs().where(Dialog.id.in_(ids)))}
    return [found[dialog_id] for dialog_id in ids]


def _rows(rows: list[Any], session: Any) -> list[dict[str, Any]]:
    """Each listed dialog with its actual latest message (role, start of its text, status and
    error code, time)."""
    latest: dict[int, Any] = {}
    if rows:
        ids = [row.id for row in rows]
        newest = (
            sa.select(Dialog.id.label("dialog_id"), _latest_message_id().label("message_id"))
            .where(Dialog.id.in_(ids))
            .subquery()
        )
        for message in session.execute(
            sa.select(
                Message.dialog_id,
                Message.role,
                sa.func.substr(Message.content, 1, PREVIEW_CHARS).label("preview"),
                Message.status,
                Message.error_code,
                Message.created_at,
            ).join(newest, newest.c.message_id == Message.id)
        ):
            latest[message.dialog_id] = message
    return [_shape(row, latest.get(row.id)) for row in rows]


def _shape(row: Any, message: Any) -> dict[str, Any]:
    user = None
    if row.user_id is not None:
        user = {
            "user_id": row.user_id,
            "telegram_id": row.telegram_id,
            "username": row.username,
            "first_name": row.first_name,
            "last_name": row.last_name,
        }
    return {
        "id": row.id,
        "user": user,
        "account": row.account,
        "channel": row.channel,
        "mode": row.mode,
        "role": row.role,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "message_count": row.message_count,
        "latest_message": None
        if message is None
        else {
            "role": message.role,
            "preview": message.preview,
            "status": message.status,
            "error_code": message.error_code,
            "created_at": message.created_at,
        },
    }


def recent(
    window: Window, sort: SortKey, descending: bool, page: int, per_page: int
) -> dict[str, Any]:
    with read_session() as session:
        # The same dialogs as the dashboard's count, which the rollups hold.
        (counts,) = Figures(session).totals([(window.start, window.end)])
        ids = session.scalars(
            _page(session, window, sort, descending).limit(per_page).offset((page - 1) * per_page)
        ).all()
        dialogs = _rows(_listed(session, list(ids)), session)
    return {"total": counts["dialogs"], "page": page, "per_page": per_page, "dialogs": dialogs}


def export(window: Window, sort: SortKey, descending: bool, limit: int) -> Iterator[dict[str, Any]]:
    """Every dialog of the window in order (at most `limit`), read page by page."""
    for offset in range(0, limit, EXPORT_PAGE):
        with read_session() as session:
            ids = session.scalars(
                _page(session, window, sort, descending)
                .limit(min(EXPORT_PAGE, limit - offset))
                .offset(offset)
            ).all()
            shaped = _rows(_listed(session, list(ids)), session)
        yield from shaped
        if len(ids) < EXPORT_PAGE:
            return


def transcript(dialog_id: int) -> dict[str, Any] | None:
    """A dialog and every message of it, oldest first; None if there is no such dialog."""
    with read_session() as session:
        row = session.execute(_dialogs().where(Dialog.id == dialog_id)).first()
        if row is None:
            return None
        messages = messages_of(session, dialog_id)
    shaped = _shape(row, None)
    del shaped["latest_message"]
    shaped["messages"] = messages
    return shaped
