"""Request and response models of the console's chat."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from webapi.api.schemas import MessageText, QueryModel
from webapi.domain.console_dialogs import ConsoleDialog
from webapi.domain.roles import ROLE_NAME, Role
from webapi.models import Mode


class ChatDialogPath(BaseModel):
    dialog_id: int = Field(ge=1, le=2**63 - 1)


class ChatDialogsQuery(QueryModel):
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=100)


class NewChatDialogIn(BaseModel):
    mode: Mode = Field(description="`assistant`: the bot's assistant; `insights`: ask the data.")
    role: str | None = Field(
        default=None,
        pattern=ROLE_NAME.pattern,
        description="Assistant mode: a role from GET /chat/roles (default: the default role). "
        "Insights ignores it.",
    )


class ChatMessageIn(BaseModel):
    text: MessageText


class ChatDialogOut(BaseModel):
    id: int
    mode: Mode
    role: str = Field(description="The role's name; `insights` for an Insights dialog.")
    title: str | None = Field(description="The start of the first question; none before it.")
    message_count: int
    started_at: datetime
    last_message_at: datetime | None

    @classmethod
    def of(cls, dialog: ConsoleDialog) -> ChatDialogOut:
        return cls(
            id=dialog.id,
            mode=Mode(dialog.mode),
            role=dialog.role,
            title=dialog.title,
            message_count=dialog.message_count,
            started_at=dialog.started_at,
            last_message_at=dialog.last_message_at,
        )


class ChatDialogsOut(BaseModel):
    total: int
    page: int
    per_page: int
    dialogs: list[ChatDialogOut] = Field(description="Newest first.")


class ChartOut(BaseModel):
    kind: Literal["line", "bar", "none"]
    x: str | None
    y: list[str]


class InsightsResultOut(BaseModel):
    """An Insights answer's result, as its stream showed it."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    chart: ChartOut


class ChatMessageOut(BaseModel):
    id: int
    role: Literal["user", "assistant"]
    content: str = Field(description="The text; an Insights answer's summary.")
    created_at: datetime
    status: Literal["pending", "ok", "error"] = Field(
        description="A question: pending until answered, then the answer's outcome."
    )
    error_code: str | None = Field(description="An AnswerErrorCode, for a failed answer.")
    error_message: str | None = Field(description="Insights: what a failed answer said.")
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_ms: int | None
    latency_ms: int | None
    sql: str | None = Field(description="Insights: the query run (or last tried).")
    result: InsightsResultOut | None = Field(description="Insights: the rows and chart.")

    @classmethod
    def of(cls, row: dict[str, Any]) -> ChatMessageOut:
        stored = row.get("result") or {}
        result = None if "columns" not in stored else InsightsResultOut.model_validate(stored)
        return cls(
            **{name: row[name] for name in row if name != "result"},
            error_message=stored.get("error"),
            result=result,
        )


class ChatDialogDetailOut(BaseModel):
    dialog: ChatDialogOut
    messages: list[ChatMessageOut] = Field(description="Oldest first.")


class CancelOut(BaseModel):
    cancelled: bool = Field(description="False when no answer was in progress.")


class ChatRoleOut(BaseModel):
    name: str
    title: str
    description: str
    is_default: bool

    @classmethod
    def of(cls, role: Role, default: Role) -> ChatRoleOut:
        return cls(
            name=role.name,
            title=role.title,
            description=role.description,
            is_default=role.name == default.name,
        )


class ChatRolesOut(BaseModel):
    roles: list[ChatRoleOut]
