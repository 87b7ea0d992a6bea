"""The conversation service shared by Telegram and the web chat.

For an owner (a Telegram user or a console account) it keeps one open dialog per channel and
mode, builds the LLM request from the role's system prompt and the last turns of that dialog,
streams the answer and stores both turns with the call's figures.

An exchange is two short write transactions and nothing in between:
- `ask()` runs in the request: it opens or resumes the dialog, reads the context, stores the
  question (pending) and marks the user seen; what fails here fails the request, in the one
  error shape;
- `answer()` streams, holding no database session; at the end it stores the answer, or the
  failure, together with the question's final status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, time

import sqlalchemy as sa
from openai.types.chat import ChatCompletionMessageParam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapi.database import read_session, write_session
from webapi.domain import users
from webapi.domain.llm import Delta, Finished, LLMClient, LLMError
from webapi.domain.outcomes import AnswerErrorCode
from webapi.domain.roles import Role, RoleCatalog
from webapi.errors import ApiError, ErrorCode
from webapi.models import Author, Channel, Dialog, Message, Mode, Status, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owner:
    """Whose dialogs: a Telegram user (by Telegram id) or a console account (by id)."""

    telegram_id: int | None = None
    account_id: int | None = None

    def __post_init__(self) -> None:
        if (self.telegram_id is None) == (self.account_id is None):
            raise ValueError("an owner is a user or an account, not both or neither")


@dataclass(frozen=True)
class _Who:
    """An owner as the database knows it, inside one transaction."""

    user_id: int | None
    account_id: int | None
    preferred_role: str | None

    def owns(self) -> sa.ColumnElement[bool]:
        if self.user_id is not None:
            return Dialog.user_id == self.user_id
        return Dialog.account_id == self.account_id


@dataclass(frozen=True)
class Question:
    """A stored question waiting for its answer: all `answer()` needs, no database object."""

    dialog_id: int
    user_message_id: int
    request: list[ChatCompletionMessageParam]


@dataclass(frozen=True)
class Failed:
    """The terminal event of a failed exchange."""

    code: AnswerErrorCode
    message: str
    dialog_id: int
    user_message_id: int


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


Event = Delta | Completed | Failed


class ConversationService:
    """Dialogs, context windows and exchanges, for Telegram users and console accounts alike."""

    def __init__(self, llm: LLMClient, roles: RoleCatalog, max_context_messages: int) -> None:
        self.llm = llm
        self.roles = roles
        self.max_context_messages = max_context_messages

    # --- one exchange --------------------------------------------------------------------

    def ask(self, owner: Owner, channel: Channel, text: str) -> Question:
        """Store the question in one short transaction; 404 for a Telegram user never seen."""
        with write_session() as session:
            who = self._resolve(session, owner, seen=True)
            dialog = self._open_or_start(session, who, channel, Mode.ASSISTANT)
            history = self._context(session, dialog.id)
            question = Message(
                dialog_id=dialog.id,
                role=Author.USER,
                content=text,
                length=len(text),
                status=Status.PENDING,
            )
            session.add(question)
            session.flush()
            request = self.build_request(self.roles.resolve(dialog.role), history, text)
            return Question(dialog.id, question.id, request)

    def answer(self, question: Question) -> Iterator[Event]:
        """Stream the answer, then store it; always ends with one Completed or Failed event.

        No database session is held while the answer streams. The answer is stored once,
        whole; a failure stores the question's error and no partial text.
        """
        started = utcnow()
        parts: list[str] = []
        outcome: Event | None = None
        try:
            # closing(): a client that goes away must also release the LLM connection now.
            with closing(self.llm.stream_chat(question.request)) as stream:
                for event in stream:
                    if isinstance(event, Delta):
                        parts.append(event.text)
                        yield event
                    else:
                        outcome = self._store_answer(question, "".join(parts), event)
        except LLMError as error:
            outcome = self._store_failure(question, error.code, error.message, started)
        except GeneratorExit:
            # The client went away mid-answer: keep the question, drop the partial answer.
            self._store_failure(
                question, AnswerErrorCode.CANCELLED, "The client disconnected.", started
            )
            raise
        except Exception:
            log.exception("exchange failed in dialog %s", question.dialog_id)
            outcome = self._store_failure(
                question,
                AnswerErrorCode.INTERNAL_ERROR,
                "Something went wrong on our side.",
                started,
            )
        if outcome is None:  # stream_chat ends with Finished or raises; the stream must still end
            outcome = self._store_failure(
                question, AnswerErrorCode.INTERNAL_ERROR, "The answer ended unexpectedly.", started
            )
        yield outcome

    def build_request(
        self, role: Role, history: list[Message], text: str
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

    def _store_answer(self, question: Question, content: str, finished: Finished) -> Completed:
        with write_session() as session:
            answer = Message(
                dialog_id=question.dialog_id,
                role=Author.ASSISTANT,
                content=content,
                length=len(content),
                status=Status.OK,
                model=finished.model,
                prompt_tokens=finished.prompt_tokens,
                completion_tokens=finished.completion_tokens,
                ttft_ms=finished.ttft_ms,
                latency_ms=finished.latency_ms,
            )
            session.add(answer)
            session.execute(
                sa.update(Message)
                .where(Message.id == question.user_message_id)
                .values(status=Status.OK)
            )
            session.flush()
            return Completed(question.dialog_id, question.user_message_id, answer.id, finished)

    def _store_failure(
        self, question: Question, code: AnswerErrorCode, message: str, started: datetime
    ) -> Failed:
        """Mark the question failed and record the failed call (no partial answer text)."""
        latency_ms = round((utcnow() - started).total_seconds() * 1000)
        with write_session() as session:
            session.add(
                Message(
                    dialog_id=question.dialog_id,
                    role=Author.ASSISTANT,
                    content="",
                    length=0,
                    status=Status.ERROR,
                    error_code=code,
                    model=self.llm.model,
                    latency_ms=latency_ms,
                )
            )
            session.execute(
                sa.update(Message)
                .where(Message.id == question.user_message_id)
                .values(status=Status.ERROR, error_code=code)
            )
        return Failed(code, message, question.dialog_id, question.user_message_id)

    # --- dialogs and roles ---------------------------------------------------------------

    def reset(self, owner: Owner, channel: Channel, mode: Mode) -> tuple[int, int | None]:
        """End the open dialog (its history stays) and start an empty one: (new, ended)."""
        with write_session() as session:
            who = self._resolve(session, owner)
            ended = self._end_open(session, who, channel, mode)
            return self._open_or_start(session, who, channel, mode).id, ended

    def choose_role(self, telegram_id: int, role_name: str) -> tuple[Role, int]:
        """Keep a Telegram user's role and start a dialog with it (the old one's history stays)."""
        role = self.roles.get(role_name)
        if role is None:
            raise ApiError(404, ErrorCode.ROLE_NOT_FOUND, f"There is no role named '{role_name}'.")
        with write_session() as session:
            user = users.find(session, telegram_id)
            user.role = role.name
            who = _Who(user.id, None, role.name)
            self._end_open(session, who, Channel.TELEGRAM, Mode.ASSISTANT)
            return role, self._open_or_start(session, who, Channel.TELEGRAM, Mode.ASSISTANT).id

    def context_info(self, owner: Owner, channel: Channel, mode: Mode) -> ContextInfo:
        """Read-only: looking at the context never opens a dialog, nor waits on writers."""
        with read_session() as session:
            return self._context_info(session, self._resolve(session, owner), channel, mode)

    def status(self, telegram_id: int) -> tuple[ContextInfo, TodayUsage]:
        """A Telegram user's context and today's usage, in one read."""
        with read_session() as session:
            who = self._resolve(session, Owner(telegram_id=telegram_id))
            info = self._context_info(session, who, Channel.TELEGRAM, Mode.ASSISTANT)
            midnight = datetime.combine(utcnow().date(), time.min, tzinfo=UTC)
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

    def _resolve(self, session: Session, owner: Owner, *, seen: bool = False) -> _Who:
        if owner.telegram_id is None:
            return _Who(None, owner.account_id, None)
        user = users.find(session, owner.telegram_id)
        if seen:
            user.last_seen_at = utcnow()
        return _Who(user.id, None, user.role)

    def _open_dialog(
        self, session: Session, who: _Who, channel: Channel, mode: Mode
    ) -> Dialog | None:
        return session.scalar(
            sa.select(Dialog).where(
                who.owns(),
                Dialog.channel == channel,
                Dialog.mode == mode,
                Dialog.ended_at.is_(None),
            )
        )

    def _open_or_start(self, session: Session, who: _Who, channel: Channel, mode: Mode) -> Dialog:
        found = self._open_dialog(session, who, channel, mode)
        if found is not None:
            return found
        dialog = Dialog(
            user_id=who.user_id,
            account_id=who.account_id,
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
        return dialog

    def _end_open(self, session: Session, who: _Who, channel: Channel, mode: Mode) -> int | None:
        ended: int | None = session.scalar(
            sa.update(Dialog)
            .where(who.owns(), Dialog.channel == channel, Dialog.mode == mode)
            .where(Dialog.ended_at.is_(None))
            .values(ended_at=utcnow())
            .returning(Dialog.id)
        )
        return ended

    def _context(self, session: Session, dialog_id: int) -> list[Message]:
        """The last MAX_CONTEXT_MESSAGES answered turns of a dialog, oldest first."""
        newest_first = session.scalars(
            sa.select(Message)
            .where(Message.dialog_id == dialog_id, Message.status == Status.OK)
            .order_by(Message.id.desc())
            .limit(self.max_context_messages)
        ).all()
        return list(reversed(newest_first))
