"""Requests and responses of the statistics endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from webapi.api.schemas import QueryModel
from webapi.stats.dialogs import SortKey

WINDOW_DOC = (
    "Either `period` (the 24 hours, 7 days or 30 days ending now; default week) or `from` "
    "(and `to`, default now): ISO dates (local midnight in `tz`) or instants; `from` "
    "inclusive, `to` exclusive."
)


# Blocks that `format=csv` downloads as a file: the document names that answer too.
CSV_TOO = cast(
    ConfigDict,  # flask-openapi3 reads a key that pydantic's type does not name
    {"openapi_extra": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)


class WindowQuery(QueryModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    period: Literal["day", "week", "month"] | None = Field(default=None, description=WINDOW_DOC)
    from_: str | None = Field(default=None, alias="from", max_length=40)
    to: str | None = Field(default=None, max_length=40)
    tz: str = Field(
        default="UTC", max_length=64, description="An IANA time zone, e.g. Asia/Kolkata."
    )


class ExportQuery(WindowQuery):
    format: Literal["json", "csv"] = Field(default="json", description="`csv` downloads a file.")


class TopUsersQuery(ExportQuery):
    limit: int = Field(default=10, ge=1, le=100)


class DialogsQuery(ExportQuery):
    sort: SortKey = Field(default=SortKey.STARTED)
    order: Literal["asc", "desc"] = "desc"
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=100)


class DialogPath(BaseModel):
    dialog_id: int = Field(ge=1, le=2**63 - 1)


class WindowOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from", description="Inclusive, UTC.")
    to: datetime = Field(description="Exclusive, UTC.")
    tz: str
    bucket: Literal["hour", "day", "week"] = Field(description="The activity series' bucket.")
    previous_from: datetime = Field(description="The previous window, of the same length.")
    previous_to: datetime


class Metric(BaseModel):
    value: int | float | None = Field(description="None where undefined (e.g. no answers).")
    previous: int | float | None = Field(description="The same figure in the previous window.")
    change_pct: float | None = Field(
        description="Percent change; None when the previous value is 0 or undefined."
    )


class OverviewOut(BaseModel):
    window: WindowOut
    dialogs: Metric
    user_messages: Metric
    assistant_messages: Metric = Field(description="Answers delivered.")
    active_users: Metric = Field(description="Telegram users who wrote in the window.")
    new_users: Metric = Field(description="Telegram users whose first message is in it.")
    messages_per_dialog: Metric


class PerformanceOut(BaseModel):
    window: WindowOut
    latency_p50_ms: Metric
    latency_p95_ms: Metric
    ttft_p50_ms: Metric
    ttft_p95_ms: Metric
    tokens: Metric
    prompt_tokens: Metric
    completion_tokens: Metric
    answers: Metric = Field(description="Questions settled in the window.")
    failed: Metric
    interrupted: Metric
    cancelled: Metric = Field(description="Stopped by the client; not errors.")
    error_rate: Metric = Field(description="(failed + interrupted) / answers, 0..1.")


class SeriesPoint(BaseModel):
    start: datetime = Field(description="The bucket's start, in the window's time zone.")
    user_messages: int
    assistant_messages: int
    active_users: int


class ActivityOut(BaseModel):
    model_config = CSV_TOO
    window: WindowOut
    series: list[SeriesPoint]


class TopUser(BaseModel):
    user_id: int
    telegram_id: int
    username: str | None
    first_name: str | None
    last_name: str | None
    messages: int = Field(description="Their messages in the window.")
    dialogs: int = Field(description="Their dialogs started in the window.")
    last_message_at: datetime | None


class TopUsersOut(BaseModel):
    model_config = CSV_TOO
    window: WindowOut
    users: list[TopUser]


class DialogUser(BaseModel):
    user_id: int
    telegram_id: int
    username: str | None
    first_name: str | None
    last_name: str | None


class LatestMessage(BaseModel):
    role: str
    preview: str = Field(description="The start of its text.")
    status: str
    error_code: str | None = Field(
        description="Why it did not arrive (`cancelled`: stopped by the client); None when it did."
    )
    created_at: datetime


class DialogRow(BaseModel):
    id: int
    user: DialogUser | None = Field(description="The Telegram user; None for console dialogs.")
    account: str | None = Field(description="The console account, for web dialogs.")
    channel: str
    mode: str
    role: str
    started_at: datetime
    ended_at: datetime | None
    message_count: int
    latest_message: LatestMessage | None


class DialogsOut(BaseModel):
    model_config = CSV_TOO
    window: WindowOut
    total: int
    page: int
    per_page: int
    dialogs: list[DialogRow]


class ChannelCount(BaseModel):
    channel: str
    dialogs: int
    messages: int


class RoleCount(BaseModel):
    role: str
    dialogs: int
    messages: int


class BreakdownOut(BaseModel):
    window: WindowOut
    channels: list[ChannelCount]
    roles: list[RoleCount]


class TranscriptMessage(BaseModel):
    id: int
    role: str
    content: str
    created_at: datetime
    status: str
    error_code: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_ms: int | None
    latency_ms: int | None
    sql: str | None
    result: dict[str, Any] | None = Field(
        description="Insights: the answer's columns, rows, truncated flag and chart, or the "
        "error it showed."
    )


class TranscriptOut(BaseModel):
    id: int
    user: DialogUser | None
    account: str | None
    channel: str
    mode: str
    role: str
    started_at: datetime
    ended_at: datetime | None
    message_count: int
    messages: list[TranscriptMessage]
