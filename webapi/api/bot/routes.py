"""Bot endpoints: user profiles, messages (streamed), reset, roles and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response
from pydantic import BaseModel, Field, model_validator

from webapi.api.bot import bp
from webapi.api.openapi_document import optional_body
from webapi.api.schemas import (
    IdempotencyKey,
    LanguageCode,
    MessageText,
    Name,
    QueryModel,
    ShortName,
    TelegramChatId,
    TelegramId,
)
from webapi.api.sse import answer_stream, sse_response_doc
from webapi.domain import users
from webapi.domain.conversation import Owner
from webapi.domain.roles import ROLE_NAME, Role
from webapi.errors import ErrorResponse
from webapi.models import Channel, Mode
from webapi.services import services


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

    @classmethod
    def of(cls, profile: users.Profile) -> dict[str, Any]:
        return cls(
            telegram_id=profile.telegram_id,
            username=profile.username,
            first_name=profile.first_name,
            last_name=profile.last_name,
            language_code=profile.language_code,
            role=RoleOut.of(services().roles.resolve(profile.role)),
            first_seen_at=profile.first_seen_at,
            last_seen_at=profile.last_seen_at,
        ).model_dump(mode="json")


CHAT_DOC = "The Telegram chat (a group's id, or none for the user's private chat)."


class MessageIn(BaseModel):
    text: MessageText
    chat_id: TelegramChatId | None = Field(default=None, description=CHAT_DOC)
    idempotency_key: IdempotencyKey | None = Field(
        default=None,
        description="The client's key for this message (the bot: chat and Telegram message "
        "id). A question is stored at most once per key: a repeat stores nothing and is "
        "answered with the stored outcome, once it has settled.",
    )


class ChatQuery(QueryModel):
    chat_id: TelegramChatId | None = Field(default=None, description=CHAT_DOC)


@optional_body
class ResetIn(BaseModel):
    """Optional: a request without a body resets the user's private chat."""

    chat_id: TelegramChatId | None = Field(default=None, description=CHAT_DOC)

    @model_validator(mode="before")
    @classmethod
    def _no_body_is_empty(cls, data: Any) -> Any:
        return {} if data is None else data


class ForgetOut(BaseModel):
    dialogs_deleted: int
    messages_deleted: int


class RoleIn(BaseModel):
    role: str = Field(pattern=ROLE_NAME.pattern, description="A role name from GET /roles.")
    chat_id: TelegramChatId | None = Field(
        default=None, description="The chat whose dialog restarts with the role. " + CHAT_DOC
    )


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
TURN_TAKEN_DOC: dict[str, Any] = {
    "description": "`answer_in_progress`: another answer of the user's dialog was still in "
    "progress when this message's turn to wait ran out (LLM_TIMEOUT_S + 10 s at most). "
    "Nothing was stored; send the message again.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
}


@bp.put("/users/<int:telegram_id>", responses={200: UserOut})
def upsert_user(path: UserPath, body: ProfileIn) -> dict[str, Any]:
    """Create or update a Telegram user's profile; safe under concurrent calls."""
    return UserOut.of(users.upsert(path.telegram_id, body.model_dump()))


@bp.get("/users/<int:telegram_id>", responses={200: UserOut, **NOT_FOUND})
def get_user(path: UserPath) -> dict[str, Any]:
    """A user's stored profile and role."""
    return UserOut.of(users.get(path.telegram_id))


@bp.post(
    "/users/<int:telegram_id>/messages",
    responses={200: SSE_DOC, **NOT_FOUND, 409: TURN_TAKEN_DOC},
)
def send_message(path: UserPath, body: MessageIn) -> Response:
    """Send the user's message; the answer streams back as Server-Sent Events.

    A user's messages are answered one at a time, in turn: while another answer of the
    dialog is in progress, this one waits (no byte is sent) until that answer has ended, for
    up to LLM_TIMEOUT_S + 10 s, then is refused with 409 `answer_in_progress`.
    The question is stored when its turn comes, before the stream starts: an error up to
    then is an ordinary JSON error; after it, the stream ends with an `error` event.
    A message whose `idempotency_key` was stored before is not asked again: once that
    question has settled, its answer streams again as one `delta` and its `done`, or its
    `error` event; 409 `conflict` if the key is another user's or chat's.
    """
    conversation = services().conversation
    owner = Owner(telegram_id=path.telegram_id, chat_id=body.chat_id)
    asked = conversation.ask(owner, Channel.TELEGRAM, body.text, body.idempotency_key)
    return answer_stream(conversation.answer(asked))


@bp.post("/users/<int:telegram_id>/reset", responses={200: ResetOut, **NOT_FOUND})
def reset_dialog(path: UserPath, body: ResetIn) -> dict[str, Any]:
    """End the chat's current dialog (its history is kept) and start an empty one.

    The body is optional: without one, the user's private chat.
    """
    dialog_id, ended = services().conversation.reset(
        Owner(telegram_id=path.telegram_id, chat_id=body.chat_id), Channel.TELEGRAM, Mode.ASSISTANT
    )
    return ResetOut(dialog_id=dialog_id, ended_dialog_id=ended).model_dump(mode="json")


@bp.get("/roles", responses={200: RolesOut})
def list_roles() -> dict[str, Any]:
    """Every role a user can pick."""
    roles = [RoleOut.of(role) for role in services().roles]
    return RolesOut(roles=roles).model_dump(mode="json")


@bp.get("/users/<int:telegram_id>/role", responses={200: UserRoleOut, **NOT_FOUND})
def get_role(path: UserPath, query: ChatQuery) -> dict[str, Any]:
    """The role of the user's current dialog in the chat (or the one their next will have)."""
    info = services().conversation.context_info(
        Owner(telegram_id=path.telegram_id, chat_id=query.chat_id), Channel.TELEGRAM, Mode.ASSISTANT
    )
    return UserRoleOut(role=RoleOut.of(info.role), dialog_id=info.dialog_id).model_dump(mode="json")


@bp.put("/users/<int:telegram_id>/role", responses={200: UserRoleOut, **NOT_FOUND})
def set_role(path: UserPath, body: RoleIn) -> dict[str, Any]:
    """Pick the user's role; a new dialog starts with it in the chat (the old one's history is
    kept)."""
    role, dialog_id = services().conversation.choose_role(path.telegram_id, body.role, body.chat_id)
    return UserRoleOut(role=RoleOut.of(role), dialog_id=dialog_id).model_dump(mode="json")


@bp.get("/users/<int:telegram_id>/status", responses={200: StatusOut, **NOT_FOUND})
def get_status(path: UserPath, query: ChatQuery) -> dict[str, Any]:
    """Model, LLM reachability, the chat's context in use and today's usage for one user."""
    app_services = services()
    # Asked before any database read: no transaction is held while the network answers.
    reachable = app_services.llm_reachable()
    owner = Owner(telegram_id=path.telegram_id, chat_id=query.chat_id)
    info, today = app_services.conversation.status(owner)
    return StatusOut(
        model=app_services.llm.model,
        llm_reachable=reachable,
        role=RoleOut.of(info.role),
        context=ContextOut(
            dialog_id=info.dialog_id,
            messages_used=info.messages_used,
            max_messages=app_services.settings.MAX_CONTEXT_MESSAGES,
        ),
        today=TodayOut(
            messages=today.messages,
            prompt_tokens=today.prompt_tokens,
            completion_tokens=today.completion_tokens,
        ),
    ).model_dump(mode="json")


@bp.delete("/users/<int:telegram_id>/dialogs", responses={200: ForgetOut, **NOT_FOUND})
def forget_dialogs(path: UserPath) -> dict[str, Any]:
    """Delete every dialog and message of the user, in all chats, for good.

    The profile and the chosen role stay; the next message starts a new dialog.
    """
    dialogs, messages = services().conversation.forget(path.telegram_id)
    return ForgetOut(dialogs_deleted=dialogs, messages_deleted=messages).model_dump(mode="json")
