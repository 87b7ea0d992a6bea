"""GET /api/v1/stats/...: overview, performance, activity, top users, dialogs, breakdown, and
one dialog's transcript."""

from __future__ import annotations

from typing import Any

from flask import Response
from pydantic import BaseModel

from webapi.api.stats import bp
from webapi.api.stats.csv_export import csv_response
from webapi.api.stats.schemas import (
    ActivityOut,
    BreakdownOut,
    DialogPath,
    DialogsOut,
    DialogsQuery,
    ExportQuery,
    OverviewOut,
    PerformanceOut,
    TopUsersOut,
    TopUsersQuery,
    TranscriptOut,
    WindowQuery,
)
from webapi.database import long_read
from webapi.errors import ApiError, ErrorCode, ErrorResponse
from webapi.models import utcnow
from webapi.stats import dialogs, report
from webapi.stats.windows import Window, WindowError, resolve

EXPORT_LIMIT = 100_000


def _window(query: WindowQuery) -> Window:
    try:
        return resolve(utcnow(), query.period, query.from_, query.to, query.tz)
    except WindowError as exc:
        raise ApiError(422, ErrorCode.VALIDATION_ERROR, str(exc)) from None


def _json(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    return model.model_validate(data).model_dump(mode="json", by_alias=True)


@bp.get("/overview", responses={200: OverviewOut})
def overview(query: WindowQuery) -> dict[str, Any]:
    """KPI cards: dialogs, messages, active and new users, messages per dialog."""
    return _json(OverviewOut, long_read(report.overview, _window(query)))


@bp.get("/performance", responses={200: PerformanceOut})
def performance(query: WindowQuery) -> dict[str, Any]:
    """Latency and time to first token (p50, p95), tokens, answers and the error rate."""
    return _json(PerformanceOut, long_read(report.performance, _window(query)))


@bp.get("/activity", responses={200: ActivityOut})
def activity(query: ExportQuery) -> dict[str, Any] | Response:
    """User messages, delivered answers and active users per hour, day or week (by the
    window's length), in the window's time zone; empty buckets are zeros."""
    found = long_read(report.activity, _window(query))
    if query.format == "csv":
        header = ("start", "user_messages", "assistant_messages", "active_users")
        rows = ([point[key] for key in header] for point in found["series"])
        return csv_response("activity", header, rows)
    return _json(ActivityOut, found)


@bp.get("/top-users", responses={200: TopUsersOut})
def top_users(query: TopUsersQuery) -> dict[str, Any] | Response:
    """The Telegram users who wrote most in the window (ties: the lower user id first)."""
    found = long_read(report.top_users, _window(query), query.limit)
    if query.format == "csv":
        header = (
            "user_id",
            "telegram_id",
            "username",
            "first_name",
            "last_name",
            "messages",
            "dialogs",
            "last_message_at",
        )
        return csv_response("top-users", header, ([u[k] for k in header] for u in found["users"]))
    return _json(TopUsersOut, found)


@bp.get("/dialogs", responses={200: DialogsOut})
def recent_dialogs(query: DialogsQuery) -> dict[str, Any] | Response:
    """Dialogs started in the window, sorted by start, latest message or message count, and
    paged; `format=csv` downloads all of them (up to 100,000) in that order."""
    window = _window(query)
    descending = query.order == "desc"
    if query.format == "csv":
        header = (
            "id",
            "telegram_id",
            "username",
            "account",
            "channel",
            "mode",
            "role",
            "started_at",
            "ended_at",
            "message_count",
            "latest_message_at",
            "latest_message",
        )
        listed = dialogs.export(window, query.sort, descending, EXPORT_LIMIT)
        return csv_response("dialogs", header, (_dialog_cells(row) for row in listed))
    found = long_read(dialogs.recent, window, query.sort, descending, query.page, query.per_page)
    return _json(DialogsOut, {"window": report.window_info(window), **found})


def _dialog_cells(row: dict[str, Any]) -> list[Any]:
    user = row["user"] or {}
    latest = row["latest_message"] or {}
    return [
        row["id"],
        user.get("telegram_id"),
        user.get("username"),
        row["account"],
        row["channel"],
        row["mode"],
        row["role"],
        row["started_at"],
        row["ended_at"],
        row["message_count"],
        latest.get("created_at"),
        latest.get("preview"),
    ]


@bp.get("/breakdown", responses={200: BreakdownOut})
def breakdown(query: WindowQuery) -> dict[str, Any]:
    """Dialogs and messages by channel (Telegram, web) and by role."""
    return _json(BreakdownOut, long_read(report.breakdown, _window(query)))


@bp.get("/dialogs/<int:dialog_id>", responses={200: TranscriptOut, 404: ErrorResponse})
def transcript(path: DialogPath) -> dict[str, Any]:
    """Any dialog with all its messages, oldest first."""
    found = long_read(dialogs.transcript, path.dialog_id)
    if found is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "There is no such dialog.")
    return _json(TranscriptOut, found)
