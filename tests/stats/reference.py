"""What every statistics endpoint should answer, computed the slow, obvious way: plain Python over
the rows of users, accounts, dialogs and messages (no SQL, no rollups, no webapi.stats code).

Buckets are found independently of webapi.stats.windows: walk the window in UTC quarter hours
(every zone used in the tests is a whole number of quarter hours off UTC) and start a bucket
wherever the local hour, day or ISO week changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

Row = Mapping[str, Any]
Json = dict[str, Any]

PREVIEW_CHARS = 200
PERCENT_RANKS = (50, 95)
QUARTER = timedelta(minutes=15)
# Where a window's time stamps appear in the API's JSON (read back as instants to compare).
MOMENT_KEYS = frozenset(
    {
        "from",
        "to",
        "previous_from",
        "previous_to",
        "start",
        "last_message_at",
        "started_at",
        "ended_at",
        "created_at",
    }
)


@dataclass(frozen=True)
class Rows:
    """Everything stored: `SELECT *` of each table, as dicts with aware datetimes."""

    users: Sequence[Row]
    accounts: Sequence[Row]
    dialogs: Sequence[Row]
    messages: Sequence[Row]

    def dialog(self, dialog_id: int) -> Row:
        return next(d for d in self.dialogs if d["id"] == dialog_id)

    def messages_of(self, dialog_id: int) -> list[Row]:
        return [m for m in self.messages if m["dialog_id"] == dialog_id]

    def owner(self, message: Row) -> int | None:
        """The Telegram user who owns the message's dialog (None for console dialogs)."""
        user_id: int | None = self.dialog(message["dialog_id"])["user_id"]
        return user_id


@dataclass(frozen=True)
class Span:
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware
    tz: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def previous(self) -> Span:
        return Span(self.start - (self.end - self.start), self.start, self.tz)

    @property
    def bucket(self) -> str:
        length = self.end - self.start
        if length <= timedelta(hours=48):
            return "hour"
        if length <= timedelta(days=31):
            return "day"
        return "week"

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


# --- the rows a figure counts ----------------------------------------------------------------


def _questions(rows: Rows, span: Span) -> list[Row]:
    return [m for m in rows.messages if m["role"] == "user" and span.holds(m["created_at"])]


def _replies(rows: Rows, span: Span) -> list[Row]:
    return [m for m in rows.messages if m["role"] == "assistant" and span.holds(m["created_at"])]


def _delivered(rows: Rows, span: Span) -> list[Row]:
    return [m for m in _replies(rows, span) if m["status"] == "ok"]


def _counted_dialogs(rows: Rows, span: Span) -> list[Row]:
    """Dialogs started in the span that have at least one message (at any time)."""
    with_messages = {m["dialog_id"] for m in rows.messages}
    return [d for d in rows.dialogs if d["id"] in with_messages and span.holds(d["started_at"])]


def _writers(rows: Rows, span: Span) -> set[int]:
    owners = (rows.owner(m) for m in _questions(rows, span))
    return {owner for owner in owners if owner is not None}


def _first_questions(rows: Rows) -> dict[int, datetime]:
    """Each Telegram user's earliest question still stored."""
    first: dict[int, datetime] = {}
    for message in rows.messages:
        owner = rows.owner(message)
        if message["role"] == "user" and owner is not None:
            first[owner] = min(first.get(owner, message["created_at"]), message["created_at"])
    return first


# --- figures ------------------------------------------------------------------------------


def change_pct(value: float | None, previous: float | None) -> float | None:
    if value is None or previous is None or previous == 0:
        return None
    return round((value - previous) / previous * 100, 1)


def _metric(figure: Callable[[Span], float | None], span: Span) -> Json:
    value, previous = figure(span), figure(span.previous)
    return {"value": value, "previous": previous, "change_pct": change_pct(value, previous)}


def window_info(span: Span) -> Json:
    return {
        "from": span.start,
        "to": span.end,
        "tz": span.tz,
        "bucket": span.bucket,
        "previous_from": span.previous.start,
        "previous_to": span.previous.end,
    }


def overview(rows: Rows, span: Span) -> Json:
    def per_dialog(s: Span) -> float | None:
        dialogs = len(_counted_dialogs(rows, s))
        if not dialogs:
            return None
        return round((len(_questions(rows, s)) + len(_delivered(rows, s))) / dialogs, 2)

    def new_users(s: Span) -> int:
        return sum(1 for first in _first_questions(rows).values() if s.holds(first))

    return {
        "window": window_info(span),
        "dialogs": _metric(lambda s: len(_counted_dialogs(rows, s)), span),
        "user_messages": _metric(lambda s: len(_questions(rows, s)), span),
        "assistant_messages": _metric(lambda s: len(_delivered(rows, s)), span),
        "active_users": _metric(lambda s: len(_writers(rows, s)), span),
        "new_users": _metric(new_users, span),
        "messages_per_dialog": _metric(per_dialog, span),
    }


def nearest_rank(values: list[int], p: int) -> int | None:
    """The k-th smallest value, k = max(1, ceil(p * n / 100)); None without values."""
    if not values:
        return None
    rank = max(1, -(-p * len(values) // 100))
    return sorted(values)[rank - 1]


def _outcomes(rows: Rows, span: Span) -> dict[str, int]:
    settled = [m for m in _questions(rows, span) if m["status"] in ("ok", "error")]
    codes = [m["error_code"] for m in settled if m["status"] == "error"]
    return {
        "answers": len(settled),
        "failed": sum(1 for code in codes if code not in ("interrupted", "cancelled")),
        "interrupted": codes.count("interrupted"),
        "cancelled": codes.count("cancelled"),
    }


def performance(rows: Rows, span: Span) -> Json:
    def percentile(column: str, p: int) -> Callable[[Span], int | None]:
        def figure(s: Span) -> int | None:
            values = [m[column] for m in _delivered(rows, s) if m[column] is not None]
            return nearest_rank(values, p)

        return figure

    def tokens(column: str) -> Callable[[Span], int]:
        return lambda s: sum(m[column] or 0 for m in _replies(rows, s))

    def outcome(name: str) -> Callable[[Span], int]:
        return lambda s: _outcomes(rows, s)[name]

    def error_rate(s: Span) -> float | None:
        counts = _outcomes(rows, s)
        if not counts["answers"]:
            return None
        return round((counts["failed"] + counts["interrupted"]) / counts["answers"], 4)

    found: Json = {"window": window_info(span)}
    for column, name in (("latency_ms", "latency"), ("ttft_ms", "ttft")):
        for p in PERCENT_RANKS:
            found[f"{name}_p{p}_ms"] = _metric(percentile(column, p), span)
    found["tokens"] = _metric(
        lambda s: tokens("prompt_tokens")(s) + tokens("completion_tokens")(s), span
    )
    found["prompt_tokens"] = _metric(tokens("prompt_tokens"), span)
    found["completion_tokens"] = _metric(tokens("completion_tokens"), span)
    for name in ("answers", "failed", "interrupted", "cancelled"):
        found[name] = _metric(outcome(name), span)
    found["error_rate"] = _metric(error_rate, span)
    return found


def _bucket_key(moment: datetime, zone: ZoneInfo, bucket: str) -> tuple[Any, ...]:
    local = moment.astimezone(zone)
    if bucket == "hour":
        # The offset tells apart the two 01:00 hours of a day that turns the clocks back.
        return (local.date(), local.hour, local.utcoffset())
    if bucket == "day":
        return (local.date(),)
    return tuple(local.date().isocalendar()[:2])


def bucket_bounds(span: Span) -> list[datetime]:
    """The window's start, each local hour, day or week that starts inside it, its end."""
    bounds = [span.start]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    cursor = epoch + (span.start - epoch) // QUARTER * QUARTER + QUARTER
    while cursor < span.end:
        before = _bucket_key(cursor - QUARTER, span.zone, span.bucket)
        if _bucket_key(cursor, span.zone, span.bucket) != before:
            bounds.append(cursor)
        cursor += QUARTER
    return [*bounds, span.end]


def activity(rows: Rows, span: Span) -> Json:
    bounds = bucket_bounds(span)
    series = []
    for start, end in pairwise(bounds):
        bucket = Span(start, end, span.tz)
        local = start.astimezone(span.zone)
        series.append(
            {
                # A fixed offset: instants in the repeated hour of a zone compare unequal.
                "start": local.replace(tzinfo=timezone(local.utcoffset() or timedelta())),
                "user_messages": len(_questions(rows, bucket)),
                "assistant_messages": len(_delivered(rows, bucket)),
                "active_users": len(_writers(rows, bucket)),
            }
        )
    return {"window": window_info(span), "series": series}


def _profile(user: Row) -> Json:
    return {
        "user_id": user["id"],
        "telegram_id": user["telegram_id"],
        "username": user["username"],
        "first_name": user["first_name"],
        "last_name": user["last_name"],
    }


def top_users(rows: Rows, span: Span, limit: int) -> Json:
    written: dict[int, list[datetime]] = {}
    for message in _questions(rows, span):
        owner = rows.owner(message)
        if owner is not None:
            written.setdefault(owner, []).append(message["created_at"])
    ranked = sorted(written, key=lambda user_id: (-len(written[user_id]), user_id))[:limit]
    users = {user["id"]: user for user in rows.users}
    dialogs = _counted_dialogs(rows, span)
    return {
        "window": window_info(span),
        "users": [
            {
                **_profile(users[user_id]),
                "messages": len(written[user_id]),
                "dialogs": sum(1 for d in dialogs if d["user_id"] == user_id),
                "last_message_at": max(written[user_id]),
            }
            for user_id in ranked
        ],
    }


def _dialog_row(rows: Rows, dialog: Row) -> Json:
    messages = rows.messages_of(dialog["id"])
    latest = max(messages, key=lambda m: (m["created_at"], m["id"]))
    users = {user["id"]: user for user in rows.users}
    accounts = {account["id"]: account["username"] for account in rows.accounts}
    return {
        "id": dialog["id"],
        "user": None if dialog["user_id"] is None else _profile(users[dialog["user_id"]]),
        "account": accounts.get(dialog["account_id"]),
        "channel": dialog["channel"],
        "mode": dialog["mode"],
        "role": dialog["role"],
        "started_at": dialog["started_at"],
        "ended_at": dialog["ended_at"],
        "message_count": len(messages),
        "latest_message": {
            "role": latest["role"],
            "preview": latest["content"][:PREVIEW_CHARS],
            "status": latest["status"],
            "error_code": latest["error_code"],
            "created_at": latest["created_at"],
        },
    }


def dialogs(
    rows: Rows, span: Span, sort: str, order: str, page: int = 1, per_page: int = 20
) -> Json:
    listed = [_dialog_row(rows, dialog) for dialog in _counted_dialogs(rows, span)]
    keys: dict[str, Callable[[Json], Any]] = {
        "started": lambda d: d["started_at"],
        "latest": lambda d: d["latest_message"]["created_at"],
        "messages": lambda d: d["message_count"],
    }
    listed.sort(key=lambda d: (keys[sort](d), d["id"]), reverse=order == "desc")
    first = (page - 1) * per_page
    return {
        "window": window_info(span),
        "total": len(listed),
        "page": page,
        "per_page": per_page,
        "dialogs": listed[first : first + per_page],
    }


def breakdown(rows: Rows, span: Span) -> Json:
    """Dialogs and messages per channel (both always listed) and per role (those with any)."""
    dialogs = _counted_dialogs(rows, span)
    messages = _questions(rows, span) + _delivered(rows, span)

    def grouped(key: str, always: Iterable[str]) -> list[Json]:
        dialog_keys = [d[key] for d in dialogs]
        message_keys = [rows.dialog(m["dialog_id"])[key] for m in messages]
        everyone = list(always)
        names = everyone + sorted(set(dialog_keys + message_keys) - set(everyone))
        return [
            {key: name, "dialogs": dialog_keys.count(name), "messages": message_keys.count(name)}
            for name in names
        ]

    return {
        "window": window_info(span),
        "channels": grouped("channel", ("telegram", "web")),
        "roles": grouped("role", ()),
    }


# --- reading the API's answers ------------------------------------------------------------


def parse_moments(value: Any) -> Any:
    """The API's JSON with every time stamp read as an aware datetime (compared as instants)."""
    if isinstance(value, dict):
        return {
            key: datetime.fromisoformat(item)
            if key in MOMENT_KEYS and isinstance(item, str)
            else parse_moments(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [parse_moments(item) for item in value]
    return value
