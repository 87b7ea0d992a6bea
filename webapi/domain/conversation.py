"""The conversation service shared by Telegram and the web chat.

A Telegram user has one open dialog per chat (`ask()`); a console account asks in any of its
dialogs, by id (`ask_in_dialog()`). For an assistant dialog the service builds the LLM request
from the role's system prompt and the last turns of that dialog, streams the answer and stores
both turns with the call's figures. An Insights dialog's answer is the Insights answerer's
(webapi/insights/answer.py: SQL, rows, chart, summary), stored the same way, with its SQL and
result.

An exchange is two short write transactions and nothing in between:
- `ask()` runs in the request: it opens or resumes the dialog, reads the context, stores the
  question (pending) and marks the user seen; what fails here fails the request, in the one
  error shape;
- `answer()` streams, holding no database session; at the end it stores the answer, or the
  failure, together with the question's final status.
On PostgreSQL the two are single statements that commit alone (see `_store_question_alone`
and `_settle`): fewer round trips, the same guarantees.

A dialog's questions are answered one at a time: at most one question per dialog is pending (a
unique index holds it across workers and replicas). A question that comes while another is
being answered waits its turn before it is stored, holding no transaction, so the context is
always question, its answer, question, its answer, in the order they were stored.

A question may carry its client's idempotency key: it is stored at most once per key, and a
repeat is answered with the stored outcome (once that has settled), never asked again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Hashable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as time_of_day
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from openai.types.chat import ChatCompletionMessageParam
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapi.database import (
    autocommit_connection,
    read_session,
    single_statement_writes,
    write_session,
)
from webapi.domain import interruptions, users
from webapi.domain.llm import Delta, Finished, LLMClient, LLMError
from webapi.domain.outcomes import AnswerErrorCode
from webapi.domain.roles import Role, RoleCatalog
from webapi.errors import ApiError, ErrorCode
from webapi.insights.answer import (
    Answered,
    ChartReady,
    InsightsAnswerer,
    InsightsError,
    RowsReady,
    SqlReady,
)
from webapi.models import (
    IDEMPOTENCY_KEY_INDEX,
    PENDING_QUESTION_INDEX,
    Author,
    Channel,
    Dialog,
    Message,
    Mode,
    Status,
    User,
    pending_question,
    utcnow,
)

log = logging.getLogger(__name__)

# While a question waits its turn, how often it looks whether the dialog is free: soon at
# first (answers are often short), then less often.
TURN_POLL_FIRST_S = 0.02
TURN_POLL_MAX_S = 0.2

STOPPED_BY_CLIENT = "Stopped by the client."


@dataclass(frozen=True)
class Owner:
    """Whose dialogs: a Telegram user (by Telegram id) in one chat, or a console account.

    A Telegram user's chat defaults to their private chat, whose id is theirs; each group they
    write in keeps dialogs of its own.
    """

    telegram_id: int | None = None
    account_id: int | None = None
    chat_id: int | None = None

    def __post_init__(self) -> None:
        if (self.telegram_id is None) == (self.account_id is None):
            raise ValueError("an owner is a user or an account, not both or neither")
        if self.account_id is not None and self.chat_id is not None:
            raise ValueError("console dialogs have no Telegram chat")
        if self.telegram_id is not None and self.chat_id is None:
            object.__setattr__(self, "chat_id", self.telegram_id)


@dataclass(frozen=True)
class _Who:
    """An owner as the database knows it, inside one transaction."""

    user_id: int | None
    account_id: int | None
    preferred_role: str | None
    chat_id: int | None

    def owns(self) -> sa.ColumnElement[bool]:
        if self.user_id is not None:
            return sa.and_(Dialog.user_id == self.user_id, Dialog.chat_id == self.chat_id)
        return Dialog.account_id == self.account_id


class Turn(NamedTuple):
    """One answered turn of a dialog's context."""

    role: str  # an Author value
    content: str


# The statements of every exchange, built once and run on the transaction's connection: a
# prebuilt Core statement skips its construction and the ORM's execution layer (together, a
# large share of the server's CPU per answer, measured under load).
_messages = Message.__table__
_dialogs = Dialog.__table__
_INSERT_MESSAGE = sa.insert(_messages).returning(_messages.c.id)
_SETTLE_IF_PENDING = (
    sa.update(_messages)
    .where(
        _messages.c.id == sa.bindparam("question_id"),
        _messages.c.status == sa.literal_column(f"'{Status.PENDING.value}'"),
    )
    .values(status=sa.bindparam("new_status"), error_code=sa.bindparam("new_code"))
)
_SETTLE = _SETTLE_IF_PENDING.returning(_messages.c.id)


_OPEN = sa.and_(
    _dialogs.c.channel == sa.bindparam("channel"),
    _dialogs.c.mode == sa.bindparam("mode"),
    _dialogs.c.ended_at.is_(None),
)
_OPEN_DIALOG_OF_USER = sa.select(_dialogs.c.id, _dialogs.c.role).where(
    _dialogs.c.user_id == sa.bindparam("user_id"),
    _dialogs.c.chat_id == sa.bindparam("chat_id"),
    _OPEN,
)
_OPEN_DIALOG_OF_ACCOUNT = sa.select(_dialogs.c.id, _dialogs.c.role).where(
    _dialogs.c.account_id == sa.bindparam("account_id"), _OPEN
)


_users = User.__table__
_USER_AND_OPEN_DIALOG = (
    sa.select(
        _users.c.id,
        _users.c.role,
        _users.c.last_seen_at,
        _dialogs.c.id.label("dialog_id"),
        _dialogs.c.role.label("dialog_role"),
    )
    .select_from(
        _users.outerjoin(
            _dialogs,
            sa.and_(
                _dialogs.c.user_id == _users.c.id,
                _dialogs.c.chat_id == sa.bindparam("chat_id"),
                _OPEN,
            ),
        )
    )
    .where(_users.c.telegram_id == sa.bindparam("user_telegram_id"))
)


# PostgreSQL: the same two writes as one statement (a data-modifying WITH), which stores the
# answer row only if the question was still pending.
_ANSWER_COLUMNS = (
    "role",
    "content",
    "length",
    "created_at",
    "status",
    "error_code",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "ttft_ms",
    "latency_ms",
    "sql",
    "result",
)
_settled = _SETTLE_IF_PENDING.returning(_messages.c.dialog_id).cte("settled")
_SETTLE_AND_ANSWER = (
    sa.insert(_messages)
    .from_select(
        ["dialog_id", *_ANSWER_COLUMNS],
        sa.select(
            _settled.c.dialog_id,
            *(
                sa.bindparam(f"answer_{name}", type_=_messages.c[name].type)
                for name in _ANSWER_COLUMNS
            ),
        ),
    )
    .returning(_messages.c.id)
    .add_cte(_settled)
)


# PostgreSQL: a Telegram user's dialog started in one statement, unless one is open already.
_START_DIALOG_UNLESS_OPEN = (
    postgresql.insert(_dialogs)
    .values(
        user_id=sa.bindparam("new_user_id"),
        chat_id=sa.bindparam("new_chat_id"),
        channel=Channel.TELEGRAM,
        mode=Mode.ASSISTANT,
        role=sa.bindparam("new_role"),
    )
    .on_conflict_do_nothing(
        index_elements=["user_id", "chat_id", "channel", "mode"],
        index_where=_dialogs.c.ended_at.is_(None),
    )
    .returning(_dialogs.c.id, _dialogs.c.role)
)


class _OpenDialog(NamedTuple):
    id: int
    role: str


def _refused_by(error: IntegrityError) -> str | None:
    """The unique index that refused a write: PostgreSQL names it; SQLite names the columns."""
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    if constraint is not None:
        return str(constraint)
    if "messages.idempotency_key" in str(error.orig):
        return IDEMPOTENCY_KEY_INDEX
    return None


def _why_refused(error: IntegrityError, dialog_id: int | None) -> Exception:
    """What a refused question means: the dialog's turn is taken (another question of it is
    pending), or its key is (stored by a concurrent request); else the error itself."""
    refused_by = _refused_by(error)
    if dialog_id is not None and refused_by == PENDING_QUESTION_INDEX:
        return _TurnTakenError(dialog_id)
    if refused_by == IDEMPOTENCY_KEY_INDEX:
        return _KeyTakenError()
    return error


def _turns(newest_first: Sequence[Sequence[Any]], limit: int) -> tuple[bool, list[Turn]]:
    """From a dialog's newest (role, content, status) rows, answered or pending: whether a
    question is pending (it is then the newest), and the last `limit` turns, oldest first."""
    if newest_first and newest_first[0][2] == Status.PENDING:
        return True, []
    return False, [Turn(row[0], row[1]) for row in reversed(newest_first[:limit])]


def _insights_turns(newest_first: Sequence[Any], limit: int) -> tuple[tuple[str, str], ...]:
    """An Insights dialog's answered turns for the planner, oldest first: each answer as the
    plan it ran (its SQL, in the reply shape), so that a follow-up can change that query."""
    turns = []
    for row in reversed(newest_first[:limit]):
        if row.role == Author.ASSISTANT and row.sql:
            turns.append((row.role, json.dumps({"sql": row.sql})))
        else:
            turns.append((row.role, row.content))
    return tuple(turns)


def dialog_not_found() -> ApiError:
    return ApiError(404, ErrorCode.NOT_FOUND, "There is no such dialog.")


def _insert_message(session: Session, **values: Any) -> int:
    """Insert one message row and answer its id (one statement, no ORM object to track)."""
    inserted: int = session.connection().execute(_INSERT_MESSAGE, values).scalar_one()
    return inserted


def _deleted(session: Session, statement: sa.Delete) -> int:
    """Run a DELETE; answer how many rows it removed."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount  # a DML result is a CursorResult


@dataclass(frozen=True)
class InsightsQuestion:
    """What an Insights answer starts from: the question and the dialog's answered turns
    (an assistant turn as the plan it ran: its SQL)."""

    text: str
    history: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Question:
    """A stored question waiting for its answer: all `answer()` needs, no database object.

    An assistant question carries its LLM request; an Insights one, what the answerer needs.
    """

    dialog_id: int
    user_message_id: int
    request: list[ChatCompletionMessageParam]
    insights: InsightsQuestion | None = None


@dataclass(frozen=True)
class Replay:
    """A question stored before under the same idempotency key: its outcome is told again."""

    dialog_id: int
    user_message_id: int


Asked = Question | Replay


@dataclass(frozen=True)
class Failed:
    """The terminal event of a failed exchange."""

    code: AnswerErrorCode
    message: str
    dialog_id: int
    user_message_id: int
    sql: str | None = None  # Insights: the last query tried


@dataclass(frozen=True)
class Completed:
    """The terminal event of a successful exchange."""

    dialog_id: int
    user_message_id: int
    assistant_message_id: int
    finished: Finished


@dataclass(frozen=True)
class ContextInfo:
    """The owner's current context; dialog_id is None until their first message."""

    dialog_id: int | None
    role: Role
    messages_used: int


@dataclass(frozen=True)
class TodayUsage:
    """What a Telegram user asked today (UTC) and the tokens their answers took."""

    messages: int
    prompt_tokens: int
    completion_tokens: int


Event = Delta | SqlReady | RowsReady | ChartReady | Completed | Failed


@dataclass
class _Tried:
    """The query an Insights answer ran last, kept with its outcome even when it fails."""

    sql: str | None = None


class _KeyTakenError(Exception):
    """A concurrent request stored a question under the same idempotency key first."""


class _TurnTakenError(Exception):
    """Another question of the dialog is pending: this one must wait (nothing was stored)."""

    def __init__(self, dialog_id: int) -> None:
        super().__init__(dialog_id)
        self.dialog_id = dialog_id


class _Line:
    """This process's questions waiting for the same dialog, first come first served.

    Only the first of a line looks at the database; the others wait on a condition, so that
    one process's waiters take their turns in the order they came and poll once between them.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._lines: dict[Hashable, deque[object]] = {}

    @contextmanager
    def first(self, key: Hashable, deadline: float) -> Iterator[None]:
        """Wait to be first in line; TimeoutError at the deadline."""
        ticket = object()
        with self._changed:
            line = self._lines.setdefault(key, deque())
            line.append(ticket)
            try:
                while line[0] is not ticket:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    self._changed.wait(left)
            except BaseException:
                self._leave(key, line, ticket)
                raise
        try:
            yield
        finally:
            with self._changed:
                self._leave(key, line, ticket)

    def _leave(self, key: Hashable, line: deque[object], ticket: object) -> None:
        line.remove(ticket)
        if not line:
            del self._lines[key]
        self._changed.notify_all()


class ConversationService:
    """Dialogs, context windows and exchanges, for Telegram users and console accounts alike."""

    def __init__(
        self,
        llm: LLMClient,
        roles: RoleCatalog,
        max_context_messages: int,
        insights: InsightsAnswerer | None = None,
    ) -> None:
        self.llm = llm
        self.roles = roles
        self.insights = insights
        self.max_context_messages = max_context_messages
        # How long a question waits for the dialog's current answer: by then that one has been
        # answered, has failed or has been marked interrupted, unless others queued first.
        self.turn_wait_s = interruptions.longest_pending_s(llm.timeout_s)
        self._line = _Line()
        # The answered turns a context may hold, plus the one pending question there may be.
        self._recent_turns = (
            sa.select(_messages.c.role, _messages.c.content, _messages.c.status, _messages.c.sql)
            .where(
                _messages.c.dialog_id == sa.bindparam("dialog_id"),
                sa.or_(_messages.c.status == Status.OK, pending_question()),
            )
            .order_by(_messages.c.id.desc())
            .limit(max_context_messages + 1)
        )
        # PostgreSQL: the asker, their open dialog and its recent turns in one read (a row per
        # turn, newest first; one row with no turn for an empty or missing dialog).
        recent = (
            sa.select(
                _messages.c.id.label("turn_id"),
                _messages.c.role.label("turn_role"),
                _messages.c.content.label("turn_content"),
                _messages.c.status.label("turn_status"),
            )
            .where(
                _messages.c.dialog_id == _dialogs.c.id,
                sa.or_(_messages.c.status == Status.OK, pending_question()),
            )
            .order_by(_messages.c.id.desc())
            .limit(max_context_messages + 1)
            .lateral("recent")
        )
        self._asker_and_recent = (
            _USER_AND_OPEN_DIALOG.add_columns(*recent.c)
            .outerjoin(recent, sa.true())
            .order_by(recent.c.turn_id.desc())
        )

    # --- one exchange --------------------------------------------------------------------

    def ask(
        self, owner: Owner, channel: Channel, text: str, idempotency_key: str | None = None
    ) -> Asked:
        """Store the question in one short transaction; 404 for a Telegram user never seen.

        While another question of the dialog is pending, wait for it to be settled (holding
        no transaction and no connection) for up to `turn_wait_s`, then 409. A key stored
        before gives a Replay, once that question has settled.
        """
        if owner.telegram_id is None:
            raise ValueError("a console account asks in one of its dialogs: ask_in_dialog()")
        # A key is looked up only once it was refused: a repeat is rare, a lookup per message
        # is not (the bot sends a key with every message).
        key_seen = False

        def store() -> Asked:
            nonlocal key_seen
            try:
                return self._store_question(
                    owner, channel, text, idempotency_key, look_up_key=key_seen
                )
            except _KeyTakenError:
                key_seen = True
                return self._store_question(owner, channel, text, idempotency_key, look_up_key=True)

        return self._in_turn((owner, channel, Mode.ASSISTANT), store)

    def ask_in_dialog(self, account_id: int, dialog_id: int, text: str) -> Question:
        """A console account's question in one of its dialogs (404 for any other dialog),
        stored in one short transaction when the dialog's turn comes, as `ask()` does."""
        asked = self._in_turn(
            ("dialog", dialog_id), lambda: self._store_console_question(account_id, dialog_id, text)
        )
        assert isinstance(asked, Question)  # console questions carry no idempotency key
        return asked

    def _in_turn(self, line: Hashable, store: Callable[[], Asked]) -> Asked:
        """Store a question with `store` once no other of its dialog is pending, waiting (first
        come, first served; holding no transaction) up to `turn_wait_s`, then 409."""
        deadline = time.monotonic() + self.turn_wait_s
        try:
            with self._line.first(line, deadline):
                delay = TURN_POLL_FIRST_S
                while True:
                    try:
                        asked = store()
                    except _TurnTakenError as taken:
                        busy = taken.dialog_id
                    else:
                        if isinstance(asked, Question):
                            return asked
                        busy = asked.dialog_id
                        if not self._pending(asked.user_message_id):
                            return asked
                    while self._answer_in_progress(busy):
                        if time.monotonic() + delay > deadline:
                            raise TimeoutError
                        time.sleep(delay)
                        delay = min(delay * 1.5, TURN_POLL_MAX_S)
        except TimeoutError:
            raise ApiError(
                409,
                ErrorCode.ANSWER_IN_PROGRESS,
                "Another answer of this dialog is still in progress; send the message again "
                "when it has arrived.",
            ) from None

    def _store_question(
        self,
        owner: Owner,
        channel: Channel,
        text: str,
        idempotency_key: str | None,
        *,
        look_up_key: bool,
    ) -> Asked:
        if single_statement_writes() and owner.telegram_id is not None and not look_up_key:
            return self._store_question_alone(
                owner.telegram_id, owner.chat_id, text, idempotency_key
            )
        dialog_id: int | None = None
        try:
            with write_session() as session:
                who, dialog = self._asker(session, owner, channel)
                if idempotency_key is not None and look_up_key:
                    stored = self._keyed(session, who, idempotency_key)
                    if stored is not None:
                        return stored
                dialog_id = dialog.id
                pending, history = self._recent(session, dialog.id)
                if pending:
                    raise _TurnTakenError(dialog.id)  # rolls back: nothing is written
                question_id = _insert_message(
                    session,
                    dialog_id=dialog.id,
                    role=Author.USER,
                    content=text,
                    length=len(text),
                    status=Status.PENDING,
                    idempotency_key=idempotency_key,
                )
                request = self.build_request(self.roles.resolve(dialog.role), history, text)
                return Question(dialog.id, question_id, request)
        except IntegrityError as exc:
            # PostgreSQL: a concurrent transaction stored its question first and the pending
            # index refused this one (SQLite's writers take turns: the check above sees it).
            refusal = _why_refused(exc, dialog_id)
            if refusal is exc:
                raise
            raise refusal from None

    def _store_question_alone(
        self, telegram_id: int, chat_id: int | None, text: str, idempotency_key: str | None
    ) -> Question:
        """PostgreSQL, a Telegram user's question: one read (the user, their open dialog, its
        recent turns), then the insert, each committing alone (and the dialog's start, for
        its first question).

        A transaction would add its BEGIN and COMMIT round trips and no guarantee: under READ
        COMMITTED it would not keep a concurrent reset out either, and the pending-question
        index refuses a second question all the same. A question refused after its dialog was
        started leaves that dialog open and empty, as a reset does.
        """
        where = {
            "user_telegram_id": telegram_id,
            "chat_id": chat_id,
            "channel": Channel.TELEGRAM,
            "mode": Mode.ASSISTANT,
        }
        with autocommit_connection() as connection:
            rows = connection.execute(self._asker_and_recent, where).all()
            if not rows:
                raise users.not_found()
            found = rows[0]
            users.mark_seen(connection, found.id, found.last_seen_at)
            dialog_id, dialog_role = found.dialog_id, found.dialog_role
            if dialog_id is None:
                role = self.roles.resolve(found.role).name
                started = connection.execute(
                    _START_DIALOG_UNLESS_OPEN,
                    {"new_user_id": found.id, "new_chat_id": chat_id, "new_role": role},
                ).first()
                # None: a concurrent request started it first; theirs it is.
                dialog_id, dialog_role = (
                    started or connection.execute(_USER_AND_OPEN_DIALOG, where).one()[3:5]
                )
            recent = [
                (row.turn_role, row.turn_content, row.turn_status)
                for row in rows
                if row.turn_id is not None
            ]
            pending, history = _turns(recent, self.max_context_messages)
            if pending:
                raise _TurnTakenError(dialog_id)
            values = {
                "dialog_id": dialog_id,
                "role": Author.USER,
                "content": text,
                "length": len(text),
                "status": Status.PENDING,
                "idempotency_key": idempotency_key,
            }
            try:
                question_id: int = connection.execute(_INSERT_MESSAGE, values).scalar_one()
            except IntegrityError as exc:
                refusal = _why_refused(exc, dialog_id)
                if refusal is exc:
                    raise
                raise refusal from None
        request = self.build_request(self.roles.resolve(dialog_role), history, text)
        return Question(dialog_id, question_id, request)

    def _store_console_question(self, account_id: int, dialog_id: int, text: str) -> Question:
        with write_session() as session:
            connection = session.connection()
            dialog = connection.execute(
                sa.select(_dialogs.c.mode, _dialogs.c.role).where(
                    _dialogs.c.id == dialog_id, _dialogs.c.account_id == account_id
                )
            ).first()
            if dialog is None:
                raise dialog_not_found()
            newest_first = connection.execute(self._recent_turns, {"dialog_id": dialog_id}).all()
            pending, history = _turns(newest_first, self.max_context_messages)
            if pending:
                raise _TurnTakenError(dialog_id)  # rolls back: nothing is written
            question_id = _insert_message(
                session,
                dialog_id=dialog_id,
                role=Author.USER,
                content=text,
                length=len(text),
                status=Status.PENDING,
            )
        if dialog.mode == Mode.INSIGHTS:
            turns = _insights_turns(newest_first, self.max_context_messages)
            return Question(dialog_id, question_id, [], InsightsQuestion(text, turns))
        request = self.build_request(self.roles.resolve(dialog.role), history, text)
        return Question(dialog_id, question_id, request)

    def _asker(self, session: Session, owner: Owner, channel: Channel) -> tuple[_Who, _OpenDialog]:
        """A Telegram user and their open dialog (started if need be), in one read, marked
        seen (see users.mark_seen)."""
        found = (
            session.connection()
            .execute(
                _USER_AND_OPEN_DIALOG,
                {
                    "user_telegram_id": owner.telegram_id,
                    "chat_id": owner.chat_id,
                    "channel": channel,
                    "mode": Mode.ASSISTANT,
                },
            )
            .first()
        )
        if found is None:
            raise users.not_found()
        users.mark_seen(session.connection(), found.id, found.last_seen_at)
        who = _Who(found.id, None, found.role, owner.chat_id)
        if found.dialog_id is None:
            return who, self._open_or_start(session, who, channel, Mode.ASSISTANT)
        return who, _OpenDialog(found.dialog_id, found.dialog_role)

    @staticmethod
    def _keyed(session: Session, who: _Who, key: str) -> Replay | None:
        """The question stored under this key, if any; a key is its owner's alone."""
        found = session.execute(
            sa.select(Message.id, Message.dialog_id, who.owns().label("owned"))
            .join(Dialog, Dialog.id == Message.dialog_id)
            .where(Message.idempotency_key == key)
        ).first()
        if found is None:
            return None
        if not found.owned:
            raise ApiError(
                409, ErrorCode.CONFLICT, "This idempotency key belongs to another conversation."
            )
        return Replay(found.dialog_id, found.id)

    def _pending(self, message_id: int) -> bool:
        with read_session(fresh=True) as session:
            status = session.scalar(sa.select(Message.status).where(Message.id == message_id))
        return status == Status.PENDING

    def _answer_in_progress(self, dialog_id: int) -> bool:
        """A read on the primary (a replica might lag behind the answer that settled it)."""
        with read_session(fresh=True) as session:
            return self._pending_in(session, dialog_id)

    @staticmethod
    def _pending_in(session: Session, dialog_id: int) -> bool:
        found = session.scalar(
            sa.select(Message.id).where(Message.dialog_id == dialog_id, pending_question()).limit(1)
        )
        return found is not None

    def answer(self, question: Asked) -> Iterator[Event]:
        """Stream the answer, then store it; always ends with one Completed or Failed event.

        No database session is held while the answer streams. The answer is stored once,
        whole; a failure stores the question's error and no partial text. A Replay tells the
        stored outcome again: the whole answer as one Delta, then its Completed or Failed.
        """
        if isinstance(question, Replay):
            yield from self._replay(question)
            return
        started = utcnow()
        tried = _Tried()
        steps = (
            self._assistant_steps(question)
            if question.insights is None
            else self._insights_steps(question, question.insights, tried)
        )
        outcome: Event | None = None
        try:
            # closing(): a client that goes away must also release the LLM connection now.
            with closing(steps) as stream:
                for event in stream:
                    if isinstance(event, Completed | Failed):
                        outcome = event
                    else:
                        yield event
        except InsightsError as error:
            outcome = self._store_failure(
                question, error.code, error.message, started, sql=error.sql or tried.sql
            )
        except LLMError as error:
            outcome = self._store_failure(
                question, error.code, error.message, started, sql=tried.sql
            )
        except GeneratorExit:
            # The client went away mid-answer: keep the question, drop the partial answer.
            self._store_failure(
                question,
                AnswerErrorCode.CANCELLED,
                "The client disconnected.",
                started,
                sql=tried.sql,
            )
            raise
        except Exception:
            log.exception("exchange failed in dialog %s", question.dialog_id)
            outcome = self._store_failure(
                question,
                AnswerErrorCode.INTERNAL_ERROR,
                "Something went wrong on our side.",
                started,
                sql=tried.sql,
            )
        if outcome is None:  # stream_chat ends with Finished or raises; the stream must still end
            outcome = self._store_failure(
                question, AnswerErrorCode.INTERNAL_ERROR, "The answer ended unexpectedly.", started
            )
        yield outcome

    def _assistant_steps(self, question: Question) -> Generator[Event]:
        """The answer's text as it streams, then its stored outcome."""
        parts: list[str] = []
        with closing(self.llm.stream_chat(question.request)) as stream:
            for event in stream:
                if isinstance(event, Delta):
                    parts.append(event.text)
                    yield event
                else:
                    yield self._store_answer(question, "".join(parts), event)

    def _insights_steps(
        self, question: Question, asked: InsightsQuestion, tried: _Tried
    ) -> Generator[Event]:
        """The query, its rows, the chart and the summary as each is ready, then the stored
        outcome (InsightsError when the answer fails)."""
        if self.insights is None:
            raise RuntimeError("Insights is not configured")  # create_app always configures it
        with closing(self.insights.answer(asked.text, asked.history)) as events:
            for event in events:
                if isinstance(event, Answered):
                    yield self._store_insights_answer(question, event)
                    continue
                if isinstance(event, SqlReady):
                    tried.sql = event.sql
                yield event

    def cancel(self, account_id: int, dialog_id: int) -> bool:
        """Stop the answer in progress in a console account's dialog (404 for any other
        dialog): its question is settled as cancelled at once, so the next one need not wait;
        the stream that carries it sees that and ends. False if no answer was in progress."""
        with read_session(fresh=True) as session:
            owned = session.scalar(
                sa.select(Dialog.id).where(Dialog.id == dialog_id, Dialog.account_id == account_id)
            )
            if owned is None:
                raise dialog_not_found()
            pending = session.scalar(
                sa.select(Message.id).where(Message.dialog_id == dialog_id, pending_question())
            )
        if pending is None:
            return False
        return self.stop(Question(dialog_id, pending, []), STOPPED_BY_CLIENT)

    def stop(self, question: Question, why: str) -> bool:
        """Settle a question as cancelled now, whatever its answer is doing; False if it had
        its outcome already. The answer, when it ends, finds it settled and stores nothing."""
        with read_session(fresh=True) as session:
            asked_at = session.scalar(
                sa.select(Message.created_at).where(Message.id == question.user_message_id)
            )
        # The failed call's latency: from the question to now, as for any other failure.
        stopped = self._store_failure(
            question, AnswerErrorCode.CANCELLED, why, asked_at or utcnow()
        )
        return stopped.code == AnswerErrorCode.CANCELLED

    def cancelled(self, question: Question) -> bool:
        """Whether the question was cancelled (by `stop`, from any worker or replica)."""
        with read_session(fresh=True) as session:
            code = session.scalar(
                sa.select(Message.error_code).where(Message.id == question.user_message_id)
            )
        return code == AnswerErrorCode.CANCELLED

    def _replay(self, replay: Replay) -> Iterator[Event]:
        with read_session(fresh=True) as session:
            question = session.execute(
                sa.select(Message.status, Message.error_code).where(
                    Message.id == replay.user_message_id
                )
            ).first()
            answer = session.execute(
                sa.select(Message)
                .where(
                    Message.dialog_id == replay.dialog_id,
                    Message.role == Author.ASSISTANT,
                    Message.id > replay.user_message_id,
                )
                .order_by(Message.id)
                .limit(1)
            ).scalar_one_or_none()
            if question is None or question.status == Status.PENDING:
                # Forgotten meanwhile, or (past every bound) still unsettled.
                yield self._given_up(Question(replay.dialog_id, replay.user_message_id, []))
            elif question.status == Status.OK and answer is not None:
                yield Delta(answer.content)
                yield Completed(
                    replay.dialog_id,
                    replay.user_message_id,
                    answer.id,
                    Finished(
                        model=answer.model or self.llm.model,
                        prompt_tokens=answer.prompt_tokens,
                        completion_tokens=answer.completion_tokens,
                        ttft_ms=answer.ttft_ms,
                        latency_ms=answer.latency_ms or 0,
                    ),
                )
            else:
                code = AnswerErrorCode(question.error_code or AnswerErrorCode.INTERNAL_ERROR)
                yield Failed(
                    code,
                    "This message was received before, and its answer failed.",
                    replay.dialog_id,
                    replay.user_message_id,
                )

    def build_request(
        self, role: Role, history: list[Turn], text: str
    ) -> list[ChatCompletionMessageParam]:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": role.system_prompt}
        ]
        for turn in history:
            if turn.role == Author.USER:
                messages.append({"role": "user", "content": turn.content})
            else:
                messages.append({"role": "assistant", "content": turn.content})
        messages.append({"role": "user", "content": text})
        return messages

    def _store_answer(
        self, question: Question, content: str, finished: Finished
    ) -> Completed | Failed:
        answer_id = self._settle(
            question,
            Status.OK,
            None,
            content=content,
            model=finished.model,
            prompt_tokens=finished.prompt_tokens,
            completion_tokens=finished.completion_tokens,
            ttft_ms=finished.ttft_ms,
            latency_ms=finished.latency_ms,
        )
        if answer_id is None:
            return self._given_up(question)
        return Completed(question.dialog_id, question.user_message_id, answer_id, finished)

    def _store_insights_answer(self, question: Question, answered: Answered) -> Completed | Failed:
        result = {
            "columns": answered.result.columns,
            "rows": answered.result.rows,
            "truncated": answered.result.truncated,
            "chart": answered.chart.model_dump(),
        }
        finished = Finished(
            model=answered.model,
            prompt_tokens=answered.prompt_tokens,
            completion_tokens=answered.completion_tokens,
            ttft_ms=answered.ttft_ms,
            latency_ms=answered.latency_ms,
        )
        answer_id = self._settle(
            question,
            Status.OK,
            None,
            content=answered.summary,
            model=finished.model,
            prompt_tokens=finished.prompt_tokens,
            completion_tokens=finished.completion_tokens,
            ttft_ms=finished.ttft_ms,
            latency_ms=finished.latency_ms,
            sql=answered.sql,
            result=result,
        )
        if answer_id is None:
            return self._given_up(question)
        return Completed(question.dialog_id, question.user_message_id, answer_id, finished)

    def _store_failure(
        self,
        question: Question,
        code: AnswerErrorCode,
        message: str,
        started: datetime,
        sql: str | None = None,
    ) -> Failed:
        """Mark the question failed and record the failed call (no partial answer text; an
        Insights answer keeps the query it tried and the message the client was shown)."""
        latency_ms = round((utcnow() - started).total_seconds() * 1000)
        stored = self._settle(
            question,
            Status.ERROR,
            code,
            content="",
            model=self.llm.model,
            latency_ms=latency_ms,
            sql=sql,
            result=None if question.insights is None else {"error": message},
        )
        if stored is None:
            return self._given_up(question)
        return Failed(code, message, question.dialog_id, question.user_message_id, sql)

    def _settle(
        self,
        question: Question,
        status: Status,
        code: AnswerErrorCode | None,
        *,
        content: str,
        model: str,
        latency_ms: int,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        ttft_ms: int | None = None,
        sql: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> int | None:
        """Give the question its final status and store the answer row (status and figures
        of the call), if the question is still pending: the answer row's id. None if the
        sweep of interrupted questions got there first (then nothing more may be stored)."""
        answer = {
            "role": Author.ASSISTANT,
            "content": content,
            "length": len(content),
            "created_at": utcnow(),
            "status": status,
            "error_code": code,
            "model": model,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "ttft_ms": ttft_ms,
            "latency_ms": latency_ms,
            "sql": sql,
            "result": result,
        }
        settle = {"question_id": question.user_message_id, "new_status": status, "new_code": code}
        if single_statement_writes():
            # One statement that commits alone: no BEGIN and COMMIT round trips.
            with autocommit_connection() as connection:
                stored: int | None = connection.execute(
                    _SETTLE_AND_ANSWER,
                    {**settle, **{f"answer_{name}": value for name, value in answer.items()}},
                ).scalar()
            return stored
        with write_session() as session:
            if session.connection().execute(_SETTLE, settle).first() is None:
                return None
            return _insert_message(session, dialog_id=question.dialog_id, **answer)

    @staticmethod
    def _given_up(question: Question) -> Failed:
        return Failed(
            AnswerErrorCode.INTERRUPTED,
            "The answer came too late: its question had already been given up.",
            question.dialog_id,
            question.user_message_id,
        )

    # --- dialogs and roles ---------------------------------------------------------------

    def reset(self, owner: Owner, channel: Channel, mode: Mode) -> tuple[int, int | None]:
        """End the open dialog (its history stays) and start an empty one: (new, ended)."""
        with write_session() as session:
            who = self._resolve(session, owner)
            ended = self._end_open(session, who, channel, mode)
            return self._open_or_start(session, who, channel, mode).id, ended

    def choose_role(
        self, telegram_id: int, role_name: str, chat_id: int | None = None
    ) -> tuple[Role, int]:
        """Keep a Telegram user's role and start a dialog with it in the chat (the old one's
        history stays)."""
        role = self.roles.get(role_name)
        if role is None:
            raise ApiError(404, ErrorCode.ROLE_NOT_FOUND, f"There is no role named '{role_name}'.")
        with write_session() as session:
            user = users.find(session, telegram_id)
            user.role = role.name
            who = _Who(user.id, None, role.name, Owner(telegram_id, chat_id=chat_id).chat_id)
            self._end_open(session, who, Channel.TELEGRAM, Mode.ASSISTANT)
            return role, self._open_or_start(session, who, Channel.TELEGRAM, Mode.ASSISTANT).id

    def forget(self, telegram_id: int) -> tuple[int, int]:
        """Delete a Telegram user's dialogs and messages, in every chat: (dialogs, messages).

        The profile and the chosen role stay. An answer in flight finds its question gone and
        stores nothing.
        """
        with write_session() as session:
            user_id, _ = users.identify(session, telegram_id)
            theirs = sa.select(Dialog.id).where(Dialog.user_id == user_id)
            messages = _deleted(session, sa.delete(Message).where(Message.dialog_id.in_(theirs)))
            dialogs = _deleted(session, sa.delete(Dialog).where(Dialog.user_id == user_id))
            return dialogs, messages

    def context_info(self, owner: Owner, channel: Channel, mode: Mode) -> ContextInfo:
        """Read-only: looking at the context never opens a dialog, nor waits on writers."""
        with read_session() as session:
            return self._context_info(session, self._resolve(session, owner), channel, mode)

    def status(self, owner: Owner) -> tuple[ContextInfo, TodayUsage]:
        """A Telegram user's context in the chat and today's usage (all chats), in one read."""
        with read_session() as session:
            who = self._resolve(session, owner)
            info = self._context_info(session, who, Channel.TELEGRAM, Mode.ASSISTANT)
            midnight = datetime.combine(utcnow().date(), time_of_day.min, tzinfo=UTC)
            counts = session.execute(
                sa.select(
                    sa.func.count(Message.id).filter(Message.role == Author.USER),
                    sa.func.coalesce(sa.func.sum(Message.prompt_tokens), 0),
                    sa.func.coalesce(sa.func.sum(Message.completion_tokens), 0),
                )
                .join(Dialog, Dialog.id == Message.dialog_id)
                .where(Dialog.user_id == who.user_id, Message.created_at >= midnight)
            ).one()
        return info, TodayUsage(counts[0], counts[1] or 0, counts[2] or 0)

    def _context_info(
        self, session: Session, who: _Who, channel: Channel, mode: Mode
    ) -> ContextInfo:
        dialog = self._open_dialog(session, who, channel, mode)
        if dialog is None:
            return ContextInfo(None, self.roles.resolve(who.preferred_role), 0)
        return ContextInfo(
            dialog_id=dialog.id,
            role=self.roles.resolve(dialog.role),
            messages_used=len(self._context(session, dialog.id)),
        )

    # --- inside a transaction ------------------------------------------------------------

    def _resolve(self, session: Session, owner: Owner) -> _Who:
        if owner.telegram_id is None:
            return _Who(None, owner.account_id, None, None)
        user_id, role = users.identify(session, owner.telegram_id)
        return _Who(user_id, None, role, owner.chat_id)

    def _open_dialog(
        self, session: Session, who: _Who, channel: Channel, mode: Mode
    ) -> _OpenDialog | None:
        found = (
            session.connection()
            .execute(
                _OPEN_DIALOG_OF_USER if who.user_id is not None else _OPEN_DIALOG_OF_ACCOUNT,
                {
                    "user_id": who.user_id,
                    "account_id": who.account_id,
                    "chat_id": who.chat_id,
                    "channel": channel,
                    "mode": mode,
                },
            )
            .first()
        )
        return None if found is None else _OpenDialog(found.id, found.role)

    def _open_or_start(
        self, session: Session, who: _Who, channel: Channel, mode: Mode
    ) -> _OpenDialog:
        found = self._open_dialog(session, who, channel, mode)
        if found is not None:
            return found
        dialog = Dialog(
            user_id=who.user_id,
            account_id=who.account_id,
            chat_id=who.chat_id,
            channel=channel,
            mode=mode,
            role=self.roles.resolve(who.preferred_role).name,
        )
        try:
            with session.begin_nested():  # a savepoint: a lost race must not abort the rest
                session.add(dialog)
        except IntegrityError:
            # A concurrent request opened it first (the open-dialog index): use theirs.
            found = self._open_dialog(session, who, channel, mode)
            if found is None:
                raise
            return found
        return _OpenDialog(dialog.id, dialog.role)

    def _end_open(self, session: Session, who: _Who, channel: Channel, mode: Mode) -> int | None:
        ended: int | None = session.scalar(
            sa.update(Dialog)
            .where(who.owns(), Dialog.channel == channel, Dialog.mode == mode)
            .where(Dialog.ended_at.is_(None))
            .values(ended_at=utcnow())
            .returning(Dialog.id)
        )
        return ended

    def _recent(self, session: Session, dialog_id: int) -> tuple[bool, list[Turn]]:
        """Whether a question of the dialog is pending, and its context (see _context), in
        one read: a pending question is always the dialog's newest message of the two kinds."""
        newest_first = (
            session.connection().execute(self._recent_turns, {"dialog_id": dialog_id}).all()
        )
        return _turns(newest_first, self.max_context_messages)

    def _context(self, session: Session, dialog_id: int) -> list[Turn]:
        """The last MAX_CONTEXT_MESSAGES answered turns of a dialog, oldest first."""
        newest_first = session.execute(
            sa.select(Message.role, Message.content)
            .where(Message.dialog_id == dialog_id, Message.status == Status.OK)
            .order_by(Message.id.desc())
            .limit(self.max_context_messages)
        ).all()
        return [Turn(role, content) for role, content in reversed(newest_first)]
