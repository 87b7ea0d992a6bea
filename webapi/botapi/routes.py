"""Bot endpoints: user profiles, messages (streamed), reset, roles and status."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import Response
from pydantic import BaseModel, Field
from sqlalchemy.dialects import postgresql, sqlite

from webapi.botapi import bp
from webapi.conversation import Owner
from webapi.errors import ApiError, ErrorResponse
from webapi.extensions import db
from webapi.models import Author, Channel, Dialog, Message, Mode, User, utcnow
from webapi.roles import ROLE_NAME, Role
from webapi.schemas import LanguageCode, MessageText, Name, ShortName, TelegramId
from webapi.services import services
from webapi.sse import event_stream, exchange_frames, sse_response_doc


class UserPath(BaseModel):
    telegram_id: TelegramId


class ProfileIn(BaseModel):
    username: ShortName | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    language_code: LanguageCode | None = None


class RoleOut(BaseModel):
    name: str
    title: str
    description: str
    is_default: bool

    @classmethod
    def of(cls, role: Role) -> RoleOut:
        default = services().roles.default.name
        return cls(
            name=role.name,
            title=role.title,
            description=role.description,
            is_default=role.name == default,
        )


class UserOut(BaseModel):
    telegram_id: int
    username: str | None
    first_name: str | None
    last_name: str | None
    language_code: str | None
    role: RoleOut
    first_seen_at: datetime
    last_seen_at: datetime


class MessageIn(BaseModel):
    text: MessageText


class RoleIn(BaseModel):
    role: str = Field(pattern=ROLE_NAME.pattern, description="A role name from GET /roles.")


class RolesOut(BaseModel):
    roles: list[RoleOut]


class UserRoleOut(BaseModel):
    role: RoleOut
    dialog_id: int | None = Field(description="The user's current dialog; none before the first.")


class ResetOut(BaseModel):
    dialog_id: int = Field(description="The new, empty dialog.")
    ended_dialog_id: int | None = Field(description="The dialog that was ended, if any.")


class ContextOut(BaseModel):
    dialog_id: int | None = Field(description="None until the user's first message.")
    messages_used: int
    max_messages: int


class TodayOut(BaseModel):
    messages: int = Field(description="Messages the user sent today (UTC).")
    prompt_tokens: int
    completion_tokens: int


class StatusOut(BaseModel):
    model: str
    llm_reachable: bool
    role: RoleOut
    context: ContextOut
    today: TodayOut


NOT_FOUND: dict[str | int, Any] = {404: ErrorResponse}
SSE_DOC = sse_response_doc(
    "Server-Sent Events: `delta` events while the answer streams, then exactly one `done` "
    "or `error` event."
)


def _user_or_404(telegram_id: int) -> User:
    user: User | None = db.session.scalar(sa.select(User).where(User.telegram_id == telegram_id))
    if user is None:
        raise ApiError(404, "user_not_found", "No such user; upsert the profile first.")
    return user


def _user_out(user: User) -> UserOut:
    return UserOut(
        telegram_id=user.telegram_id,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        language_code=user.language_code,
        role=RoleOut.of(services().roles.resolve(user.role)),
        first_seen_at=user.first_seen_at,
        last_seen_at=user.last_seen_at,
    )


def _insert_for_dialect() -> Any:
    return postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert


@bp.put("/users/<int:telegram_id>", responses={200: UserOut})
def upsert_user(path: UserPath, body: ProfileIn) -> dict[str, Any]:
    """Create or update a Telegram user's profile; safe under concurrent calls."""
    now = utcnow()
    profile = body.model_dump()
    insert = _insert_for_dialect()
    statement = insert(User).values(
        telegram_id=path.telegram_id, first_seen_at=now, last_seen_at=now, **profile
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[User.telegram_id], set_={"last_seen_at": now, **profile}
        )
    )
    db.session.commit()
    return _user_out(_user_or_404(path.telegram_id)).model_dump(mode="json")


@bp.get("/users/<int:telegram_id>", responses={200: UserOut, **NOT_FOUND})
def get_user(path: UserPath) -> dict[str, Any]:
    """A user's stored profile and role."""
    return _user_out(_user_or_404(path.telegram_id)).model_dump(mode="json")


@bp.post("/users/<int:telegram_id>/messages", responses={200: SSE_DOC, **NOT_FOUND})
def send_message(path: UserPath, body: MessageIn) -> Response:
    """Send the user's message; the answer streams back as Server-Sent Events."""
    user = _user_or_404(path.telegram_id)
    user.last_seen_at = utcnow()
    db.session.commit()
    owner = Owner(user_id=user.id)
    events = services().conversation.exchange(owner, Channel.TELEGRAM, body.text, user.role)
    return event_stream(exchange_frames(events))


@bp.post("/users/<int:telegram_id>/reset", responses={200: ResetOut, **NOT_FOUND})
def reset_dialog(path: UserPath) -> dict[str, Any]:
    """End the current dialog (its history is kept) and start an empty one."""
    user = _user_or_404(path.telegram_id)
    dialog, ended = services().conversation.reset(
        Owner(user_id=user.id), Channel.TELEGRAM, Mode.ASSISTANT, user.role
    )
    return ResetOut(dialog_id=dialog.id, ended_dialog_id=ended).model_dump(mode="json")


@bp.get("/roles", responses={200: RolesOut})
def list_roles() -> dict[str, Any]:
    """Every role a user can pick."""
    roles = [RoleOut.of(role) for role in services().roles]
    return RolesOut(roles=roles).model_dump(mode="json")


@bp.get("/users/<int:telegram_id>/role", responses={200: UserRoleOut, **NOT_FOUND})
def get_role(path: UserPath) -> dict[str, Any]:
    """The role of the user's current dialog (or the one their next dialog will have)."""
    user = _user_or_404(path.telegram_id)
    info = services().conversation.context_info(
        Owner(user_id=user.id), Channel.TELEGRAM, Mode.ASSISTANT, user.role
    )
    return UserRoleOut(role=RoleOut.of(info.role), dialog_id=info.dialog_id).model_dump(mode="json")


@bp.put("/users/<int:telegram_id>/role", responses={200: UserRoleOut, **NOT_FOUND})
def set_role(path: UserPath, body: RoleIn) -> dict[str, Any]:
    """Pick a role; a new dialog starts with it (the old one's history is kept)."""
    user = _user_or_404(path.telegram_id)
    role = services().roles.get(body.role)
    if role is None:
        raise ApiError(404, "role_not_found", f"There is no role named '{body.role}'.")
    user.role = role.name
    db.session.commit()
    dialog, _ = services().conversation.reset(
        Owner(user_id=user.id), Channel.TELEGRAM, Mode.ASSISTANT, user.role
    )
    return UserRoleOut(role=RoleOut.of(role), dialog_id=dialog.id).model_dump(mode="json")


@bp.get("/users/<int:telegram_id>/status", responses={200: StatusOut, **NOT_FOUND})
def get_status(path: UserPath) -> dict[str, Any]:
    """Model, LLM reachability, context in use and today's usage for one user."""
    app_services = services()
    # Asked before any database read: no transaction is held while the network answers.
    reachable = app_services.llm_reachable()
    user = _user_or_404(path.telegram_id)
    info = app_services.conversation.context_info(
        Owner(user_id=user.id), Channel.TELEGRAM, Mode.ASSISTANT, user.role
    )
    midnight = datetime.combine(utcnow().date(), time.min, tzinfo=UTC)
    counts = db.session.execute(
        sa.select(
            sa.func.count(Message.id).filter(Message.role == Author.USER),
            sa.func.coalesce(sa.func.sum(Message.prompt_tokens), 0),
            sa.func.coalesce(sa.func.sum(Message.completion_tokens), 0),
        )
        .join(Dialog, Dialog.id == Message.dialog_id)
        .where(Dialog.user_id == user.id, Message.created_at >= midnight)
    ).one()
    return StatusOut(
        model=app_services.llm.model,
        llm_reachable=reachable,
        role=RoleOut.of(info.role),
        context=ContextOut(
            dialog_id=info.dialog_id,
            messages_used=info.messages_used,
            max_messages=app_services.settings.MAX_CONTEXT_MESSAGES,
        ),
        today=TodayOut(messages=counts[0], prompt_tokens=counts[1], completion_tokens=counts[2]),
    ).model_dump(mode="json")
