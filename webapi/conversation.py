"""The conversation service shared by Telegram and the web chat.

For an owner (a Telegram user or a console account) it keeps one open dialog per channel and
mode, builds the LLM request from the role's system prompt and the last turns of that dialog,
streams the answer and stores both turns with the call's figures.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from openai.types.chat import ChatCompletionMessageParam
from sqlalchemy.exc import IntegrityError

from webapi.extensions import db
from webapi.llm import Delta, Finished, LLMClient, LLMError
from webapi.models import Author, Channel, Dialog, Message, Mode, Status, utcnow
from webapi.roles import Role, RoleCatalog

log = logging.getLogger(__name__)

CANCELLED = "cancelled"
INTERNAL = "internal_error"


@dataclass(frozen=True)
class Owner:
    """Whose dialog: exactly one of a Telegram user or a console account."""

    user_id: int | None = None
    account_id: int | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.account_id is None):
            raise ValueError("an owner is a user or an account, not both or neither")

    def filter(self) -> sa.ColumnElement[bool]:
        if self.user_id is not None:
            return Dialog.user_id == self.user_id
        return Dialog.account_id == self.account_id


@dataclass(frozen=True)
class Failed:
    """The terminal event of a failed exchange."""

    code: str
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


Event = Delta | Completed | Failed


class ConversationService:
    """Conversation logic over the request's database session."""

    def __init__(self, llm: LLMClient, roles: RoleCatalog, max_context_messages: int) -> None:
        self.llm = llm
        self.roles = roles
        self.max_context_messages = max_context_messages

    # --- dialogs -------------------------------------------------------------------------

    def current_dialog(
        self, owner: Owner, channel: Channel, mode: Mode, preferred_role: str | None
    ) -> Dialog:
        """The open dialog, or a new one with the owner's preferred role (committed)."""
        found = self._open_dialog(owner, channel, mode)
        if found is not None:
            return found
        dialog = Dialog(
            user_id=owner.user_id,
            account_id=owner.account_id,
            channel=channel,
            mode=mode,
            role=self.roles.resolve(preferred_role).name,
        )
        db.session.add(dialog)
        try:
            db.session.commit()
        except IntegrityError:
            # A concurrent request opened it first: use theirs.
            db.session.rollback()
            found = self._open_dialog(owner, channel, mode)
            if found is None:
                raise
            return found
        return dialog

    def reset(
        self, owner: Owner, channel: Channel, mode: Mode, preferred_role: str | None
    ) -> tuple[Dialog, int | None]:
        """End the open dialog (its history stays) and start a new one; (new, ended id)."""
        ended_id = self.end_open_dialog(owner, channel, mode)
        return self.current_dialog(owner, channel, mode, preferred_role), ended_id

    def end_open_dialog(self, owner: Owner, channel: Channel, mode: Mode) -> int | None:
        """End the owner's open dialog, if any, and say which it was."""
        ended_id = db.session.scalar(
            sa.update(Dialog)
            .where(owner.filter(), Dialog.channel == channel, Dialog.mode == mode)
            .where(Dialog.ended_at.is_(None))
            .values(ended_at=utcnow())
            .returning(Dialog.id)
        )
        db.session.commit()
        return ended_id

    def _open_dialog(self, owner: Owner, channel: Channel, mode: Mode) -> Dialog | None:
        return db.session.scalar(
            sa.select(Dialog).where(
                owner.filter(),
                Dialog.channel == channel,
                Dialog.mode == mode,
                Dialog.ended_at.is_(None),
            )
        )

    # --- context -------------------------------------------------------------------------

    def context_messages(self, dialog_id: int) -> list[Message]:
        """The last MAX_CONTEXT_MESSAGES answered turns of a dialog, oldest first."""
        newest_first = db.session.scalars(
            sa.select(Message)
            .where(Message.dialog_id == dialog_id, Message.status == Status.OK)
            .order_by(Message.id.desc())
            .limit(self.max_context_messages)
        ).all()
        return list(reversed(newest_first))

    def context_info(
        self, owner: Owner, channel: Channel, mode: Mode, preferred_role: str | None
    ) -> ContextInfo:
        """Read-only: looking at the context never opens a dialog."""
        dialog = self._open_dialog(owner, channel, mode)
        if dialog is None:
            return ContextInfo(None, self.roles.resolve(preferred_role), 0)
        return ContextInfo(
            dialog_id=dialog.id,
            role=self.roles.resolve(dialog.role),
            messages_used=len(self.context_messages(dialog.id)),
        )

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

    # --- one exchange --------------------------------------------------------------------

    def exchange(
        self, owner: Owner, channel: Channel, text: str, preferred_role: str | None
    ) -> Iterator[Event]:
        """Store the user's turn, stream the answer, store it; always ends with one event.

        The user's turn is committed before the LLM is called (it survives any failure); the
        assistant's turn is written once, complete, together with the user's final status.
        """
        dialog = self.current_dialog(owner, channel, Mode.ASSISTANT, preferred_role)
        dialog_id = dialog.id
        role = self.roles.resolve(dialog.role)
        history = self.context_messages(dialog_id)
        request = self.build_request(role, history, text)
        user_turn = Message(
            dialog_id=dialog_id,
            role=Author.USER,
            content=text,
            length=len(text),
            status=Status.PENDING,
        )
        db.session.add(user_turn)
        db.session.commit()
        user_message_id = user_turn.id
        # No transaction stays open while the answer streams: other writers keep moving.
        db.session.close()

        started_at = utcnow()
        parts: list[str] = []
        outcome: Event | None = None
        try:
            # closing(): a client that goes away must also release the LLM connection now.
            with closing(self.llm.stream_chat(request)) as stream:
                for event in stream:
                    if isinstance(event, Delta):
                        parts.append(event.text)
                        yield event
                    else:
                        assistant_id = self._store_answer(
                            dialog_id, user_message_id, "".join(parts), event
                        )
                        outcome = Completed(dialog_id, user_message_id, assistant_id, event)
        except LLMError as error:
            outcome = self._store_failure(
                dialog_id, user_message_id, error.code, error.message, started_at
            )
        except GeneratorExit:
            # The client went away mid-answer: keep the question, drop the partial answer.
            self._store_failure(
                dialog_id, user_message_id, CANCELLED, "The client disconnected.", started_at
            )
            raise
        except Exception:
            log.exception("exchange failed in dialog %s", dialog_id)
            outcome = self._store_failure(
                dialog_id,
                user_message_id,
                INTERNAL,
                "Something went wrong on our side.",
                started_at,
            )
        if outcome is None:  # stream_chat ends with Finished or raises; the stream must still end
            outcome = self._store_failure(
                dialog_id, user_message_id, INTERNAL, "The answer ended unexpectedly.", started_at
            )
        yield outcome

    def _store_answer(
        self, dialog_id: int, user_message_id: int, content: str, finished: Finished
    ) -> int:
        answer = Message(
            dialog_id=dialog_id,
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
        db.session.add(answer)
        db.session.execute(
            sa.update(Message).where(Message.id == user_message_id).values(status=Status.OK)
        )
        db.session.commit()
        return answer.id

    def _store_failure(
        self, dialog_id: int, user_message_id: int, code: str, message: str, started: datetime
    ) -> Failed:
        """Mark the user's turn failed and record the failed call (no partial answer text)."""
        db.session.rollback()
        latency_ms = round((utcnow() - started).total_seconds() * 1000)
        db.session.add(
            Message(
                dialog_id=dialog_id,
                role=Author.ASSISTANT,
                content="",
                length=0,
                status=Status.ERROR,
                error_code=code,
                model=self.llm.model,
                latency_ms=latency_ms,
            )
        )
        db.session.execute(
            sa.update(Message)
            .where(Message.id == user_message_id)
            .values(status=Status.ERROR, error_code=code)
        )
        db.session.commit()
        return Failed(code, message, dialog_id, user_message_id)
