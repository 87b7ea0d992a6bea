"""A console account's own dialogs: start one, list them, open one with its messages.

A console account keeps any number of dialogs, each in one mode (assistant or insights), and
continues whichever it opens: questions are asked by dialog id (ConversationService
.ask_in_dialog). Another account's dialog does not exist for it (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from webapi.database import read_session, write_session
from webapi.domain.conversation import dialog_not_found
from webapi.domain.roles import RoleCatalog
from webapi.domain.transcripts import messages_of
from webapi.errors import ApiError, ErrorCode
from webapi.models import Author, Channel, Dialog, Message, Mode

TITLE_CHARS = 80
# What an Insights dialog records as its role: it answers from the data, not from a prompt.
INSIGHTS_ROLE = "insights"


@dataclass(frozen=True)
class ConsoleDialog:
    id: int
    mode: str
    role: str
    title: str | None  # the start of its first question; none before it
    message_count: int
    started_at: datetime
    last_message_at: datetime | None


def _listed() -> sa.Select[Any]:
    first_question = (
        sa.select(sa.func.substr(Message.content, 1, TITLE_CHARS))
        .where(Message.dialog_id == Dialog.id, Message.role == Author.USER)
        .order_by(Message.id)
        .limit(1)
        .scalar_subquery()
    )
    return sa.select(
        Dialog.id,
        Dialog.mode,
        Dialog.role,
        first_question.label("title"),
        Dialog.message_count,
        Dialog.started_at,
        Dialog.last_message_at,
    )


def _dialog(row: Any) -> ConsoleDialog:
    return ConsoleDialog(**row._mapping)


def start(account_id: int, mode: Mode, role_name: str | None, roles: RoleCatalog) -> ConsoleDialog:
    """A new, empty dialog; an assistant dialog takes the named role (the default if none)."""
    if mode == Mode.INSIGHTS:
        role = INSIGHTS_ROLE
    elif role_name is None:
        role = roles.default.name
    else:
        found = roles.get(role_name)
        if found is None:
            raise ApiError(404, ErrorCode.ROLE_NOT_FOUND, f"There is no role named '{role_name}'.")
        role = found.name
    with write_session() as session:
        dialog = Dialog(account_id=account_id, channel=Channel.WEB, mode=mode, role=role)
        session.add(dialog)
        session.flush()
        return ConsoleDialog(
            dialog.id, mode, role, None, 0, dialog.started_at, dialog.last_message_at
        )


def page(account_id: int, number: int, per_page: int) -> tuple[int, list[ConsoleDialog]]:
    """How many dialogs the account has, and one page of them, newest first."""
    with read_session(fresh=True) as session:
        total = session.scalar(
            sa.select(sa.func.count(Dialog.id)).where(Dialog.account_id == account_id)
        )
        rows = session.execute(
            _listed()
            .where(Dialog.account_id == account_id)
            .order_by(Dialog.id.desc())
            .limit(per_page)
            .offset((number - 1) * per_page)
        ).all()
    return total or 0, [_dialog(row) for row in rows]


def open_dialog(account_id: int, dialog_id: int) -> tuple[ConsoleDialog, list[dict[str, Any]]]:
    """One of the account's dialogs and all its messages, oldest first."""
    with read_session(fresh=True) as session:
        row = session.execute(
            _listed().where(Dialog.id == dialog_id, Dialog.account_id == account_id)
        ).first()
        if row is None:
            raise dialog_not_found()
        messages = messages_of(session, dialog_id)
    return _dialog(row), messages
