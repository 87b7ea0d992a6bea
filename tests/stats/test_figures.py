"""The dashboard's figures on hand-built datasets equal the reference (tests/stats/reference.py):
edges of quarter hours and days, short and long windows, time zones with DST and half hours,
percentiles, outcomes, console dialogs, and the rollups after updates and deletes."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.stats import reference
from tests.stats.reference import Json, Rows, Span
from tests.support import BOT_TOKEN
from webapi.database import READ_ENGINE_KEY, read_session
from webapi.domain.accounts import create_account
from webapi.extensions import db
from webapi.models import Account, Dialog, Message, User
from webapi.stats import rollups
from webapi.stats.figures import Figures

STATS = "/api/v1/stats"
CONSOLE_NAME = "console"
CONSOLE_PASSWORD = "correct horse battery staple"
DAY0 = datetime(2026, 5, 4, tzinfo=UTC)  # a Monday
ENDPOINTS = ("overview", "performance", "activity", "top-users", "breakdown")
LISTINGS: list[dict[str, Any]] = [
    *(
        {"sort": sort, "order": order, "page": 1, "per_page": 100}
        for sort in ("started", "latest", "messages")
        for order in ("asc", "desc")
    ),
    {"sort": "latest", "order": "desc", "page": 2, "per_page": 2},
]


# --- building rows ----------------------------------------------------------------------------


def user(user_id: int, **profile: Any) -> dict[str, Any]:
    return {
        "id": user_id,
        "telegram_id": 7_000_000_000 + user_id,
        "username": f"user{user_id}",
        "first_name": f"First{user_id}",
        "last_name": None,
        **profile,
    }


def dialog(
    dialog_id: int,
    started: datetime,
    *,
    user_id: int | None = None,
    account_id: int | None = None,
    role: str = "consultant",
    mode: str = "assistant",
) -> dict[str, Any]:
    """A Telegram dialog (user_id) in its own chat, or an ended console dialog (account_id)."""
    return {
        "id": dialog_id,
        "user_id": user_id,
        "account_id": account_id,
        "chat_id": dialog_id if user_id is not None else None,
        "channel": "telegram" if user_id is not None else "web",
        "mode": mode,
        "role": role,
        "started_at": started,
        "ended_at": None if user_id is not None else started + timedelta(days=400),
    }


def message(
    message_id: int,
    dialog_id: int,
    at: datetime,
    role: str = "user",
    status: str = "ok",
    **fields: Any,
) -> dict[str, Any]:
    content = fields.pop("content", f"message {message_id}")
    return {
        "id": message_id,
        "dialog_id": dialog_id,
        "role": role,
        "content": content,
        "length": len(content),
        "created_at": at,
        "status": status,
        "error_code": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "latency_ms": None,
        "ttft_ms": None,
        **fields,
    }


def answer(message_id: int, dialog_id: int, at: datetime, **fields: Any) -> dict[str, Any]:
    """A delivered answer with tokens and timings (override any)."""
    figures = {"prompt_tokens": 10, "completion_tokens": 5, "latency_ms": 900, "ttft_ms": 90}
    return message(message_id, dialog_id, at, "assistant", **{**figures, **fields})


def store(
    app: Flask,
    users: Iterable[dict[str, Any]] = (),
    dialogs: Iterable[dict[str, Any]] = (),
    messages: Iterable[dict[str, Any]] = (),
) -> None:
    """Insert rows as they are (the triggers keep the rollups)."""
    with app.app_context():
        for model, rows in (
            (User, list(users)),
            (Dialog, list(dialogs)),
            (Message, list(messages)),
        ):
            if rows:
                db.session.execute(sa.insert(model), rows)
        db.session.commit()


def execute(app: Flask, statement: Any) -> None:
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def clear(app: Flask) -> None:
    """Delete every user, dialog and message (messages first: a dialog with some refuses)."""
    for model in (Message, Dialog, User):
        execute(app, sa.delete(model))


def read_rows(app: Flask) -> Rows:
    def everything(model: Any) -> list[dict[str, Any]]:
        return [dict(row._mapping) for row in db.session.execute(sa.select(model.__table__))]

    with app.app_context():
        found = Rows(everything(User), everything(Account), everything(Dialog), everything(Message))
        db.session.rollback()
    return found


# --- asking the API ---------------------------------------------------------------------------


def sign_in(app: Flask, client: FlaskClient) -> int:
    """Sign in as a (non-admin) console account; its id, for console dialogs.

    Also stops the app's sweeper of interrupted questions (it ends when the engine is
    disposed): it would mark the datasets' pending questions, all long past, interrupted
    between reading the rows and asking the API."""
    with app.app_context():
        db.engine.dispose()
        account_id = create_account(CONSOLE_NAME, CONSOLE_PASSWORD, is_admin=False).id
    signed = client.post(
        "/api/v1/auth/login",
        json={"username": CONSOLE_NAME, "password": CONSOLE_PASSWORD},
        headers={"Origin": "http://localhost"},
    )
    assert signed.status_code == 200, signed.get_data(as_text=True)
    return account_id


def fetch(client: FlaskClient, endpoint: str, **params: Any) -> Json:
    response = client.get(f"{STATS}/{endpoint}", query_string=params)
    assert response.status_code == 200, (endpoint, params, response.get_data(as_text=True))
    found: Json = response.get_json()
    return found


def local_moment(text: str, tz: str) -> datetime:
    """A query's `from`/`to` as the API documents it: a date is local midnight."""
    zone = ZoneInfo(tz)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=zone).astimezone(UTC)
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def span_of(start: str | datetime, end: str | datetime, tz: str = "UTC") -> Span:
    def moment(value: str | datetime) -> datetime:
        return value if isinstance(value, datetime) else local_moment(value, tz)

    return Span(moment(start), moment(end), tz)


def query_of(span: Span) -> dict[str, str]:
    return {"from": span.start.isoformat(), "to": span.end.isoformat(), "tz": span.tz}


def expected(rows: Rows, endpoint: str, span: Span, **params: Any) -> Json:
    if endpoint == "overview":
        return reference.overview(rows, span)
    if endpoint == "performance":
        return reference.performance(rows, span)
    if endpoint == "activity":
        return reference.activity(rows, span)
    if endpoint == "top-users":
        return reference.top_users(rows, span, params.get("limit", 10))
    if endpoint == "breakdown":
        return reference.breakdown(rows, span)
    return reference.dialogs(rows, span, **params)


def answered(client: FlaskClient, endpoint: str, span: Span, **params: Any) -> Json:
    """The endpoint's JSON for the span, time stamps read as instants."""
    raw = fetch(client, endpoint, **query_of(span), **params)
    if endpoint == "activity":
        for point in raw["series"]:
            start = datetime.fromisoformat(point["start"])
            assert start.utcoffset() == start.astimezone(ZoneInfo(span.tz)).utcoffset(), point
    found: Json = reference.parse_moments(raw)
    if endpoint == "breakdown":
        # A role listed with nothing in the window is not wrong: the reference lists roles
        # with a dialog or a message only.
        found["roles"] = [row for row in found["roles"] if row["dialogs"] or row["messages"]]
    return found


def check(
    app: Flask,
    client: FlaskClient,
    span: Span,
    *,
    limits: Iterable[int] = (1, 2),
    listings: Iterable[dict[str, Any]] = LISTINGS,
) -> None:
    """Every endpoint's answer for the span equals the reference over the stored rows: top
    users also at each of `limits`, dialogs in each of `listings` (sort, order, page)."""
    rows = read_rows(app)
    for endpoint in ENDPOINTS:
        assert answered(client, endpoint, span) == expected(rows, endpoint, span), endpoint
    for limit in limits:
        found = answered(client, "top-users", span, limit=limit)
        assert found == expected(rows, "top-users", span, limit=limit), limit
    for params in listings:
        found = answered(client, "dialogs", span, **params)
        assert found == expected(rows, "dialogs", span, **params), params


@contextmanager
def read_statements(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (with their parameters) that `engine` runs inside the block."""
    statements: list[tuple[str, Any]] = []

    def seen(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)


def rollup_tables() -> list[sa.Table]:
    return [
        table for name, table in sorted(db.metadata.tables.items()) if name.startswith("stats_")
    ]


def dump_rollups(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the triggers keep: the rollup tables (stats_*) and the derived columns."""
    with app.app_context():
        selects: dict[str, Any] = {table.name: sa.select(table) for table in rollup_tables()}
        selects["dialogs"] = sa.select(Dialog.id, Dialog.message_count, Dialog.last_message_at)
        selects["users"] = sa.select(User.id, User.first_message_at)
        found = {
            name: sorted(tuple(row) for row in db.session.execute(select))
            for name, select in selects.items()
        }
        db.session.rollback()
    return found


def rebuilt_rollups(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context(), db.engine.begin() as connection:
        rollups.rebuild(connection)
    return dump_rollups(app)


def without_empty_rows(
    dumped: dict[str, list[tuple[Any, ...]]],
) -> dict[str, list[tuple[Any, ...]]]:
    """Rollup rows whose figures are all zero (what a deleted message may leave) mean nothing."""
    kept = dict(dumped)
    for table in rollup_tables():
        figures = [i for i, column in enumerate(table.columns) if not column.primary_key]
        kept[table.name] = [
            row for row in dumped[table.name] if any(row[i] not in (0, None) for i in figures)
        ]
    return kept


# --- datasets ------------------------------------------------------------------------------


def spread(
    seed: int,
    start: datetime,
    hours: int,
    dialog_ids: list[int],
    first_id: int = 1,
    every_minutes: int = 23,
) -> list[dict[str, Any]]:
    """A question, mostly with its answer, every few minutes, with random microseconds."""
    pick = random.Random(seed)
    messages = []
    moment, next_id = start, first_id
    while moment < start + timedelta(hours=hours):
        asked = moment + timedelta(microseconds=pick.randrange(1_000_000))
        dialog_id = pick.choice(dialog_ids)
        messages.append(message(next_id, dialog_id, asked))
        if pick.random() < 0.8:
            latency = pick.randrange(5, 40_000)
            messages.append(
                answer(
                    next_id + 1,
                    dialog_id,
                    asked + timedelta(milliseconds=latency),
                    latency_ms=latency,
                    ttft_ms=latency // 7,
                )
            )
        next_id += 2
        moment += timedelta(minutes=every_minutes, seconds=pick.randrange(60))
    return messages


def town(app: Flask, account_id: int, started: datetime) -> list[int]:
    """Four Telegram users and the console account, each with a dialog (or two) from `started`;
    the dialogs' ids."""
    store(
        app,
        [user(index) for index in range(1, 5)],
        [
            dialog(1, started, user_id=1),
            dialog(2, started, user_id=2, role="editor"),
            dialog(3, started + timedelta(hours=1), user_id=3),
            dialog(4, started + timedelta(hours=2), user_id=4, role="editor"),
            dialog(5, started + timedelta(hours=3), user_id=1, mode="insights"),
            dialog(6, started, account_id=account_id),
        ],
    )
    return [1, 2, 3, 4, 5, 6]


# --- the tests ----------------------------------------------------------------------------


@pytest.fixture
def console(app: Flask, client: FlaskClient) -> int:
    return sign_in(app, client)


def test_messages_at_the_edges_of_windows_quarters_and_days(
    app: Flask, client: FlaskClient, console: int
) -> None:
    midnight = DAY0 + timedelta(days=1)
    store(
        app,
        [user(1), user(2), user(3)],
        [
            dialog(1, DAY0 + timedelta(hours=10), user_id=1),
            dialog(2, DAY0 + timedelta(hours=10, minutes=15), user_id=2),
            dialog(3, midnight, user_id=3),
            dialog(4, midnight - timedelta(microseconds=1), account_id=console),
        ],
    )
    moments = [
        DAY0 + timedelta(hours=10),  # a window's start, a quarter's start
        DAY0 + timedelta(hours=10, minutes=15),
        DAY0 + timedelta(hours=10, minutes=15, microseconds=-1),
        DAY0 + timedelta(hours=10, minutes=15, microseconds=1),
        DAY0 + timedelta(hours=10, minutes=37, seconds=12, microseconds=345_678),
        DAY0 + timedelta(hours=11, minutes=20),
        DAY0 + timedelta(hours=12, minutes=30),  # a window's end
        DAY0 + timedelta(hours=12, minutes=29, seconds=59, microseconds=999_999),
        midnight - timedelta(microseconds=1),
        midnight,
        midnight + timedelta(microseconds=1),
        midnight + timedelta(minutes=15),
    ]
    messages = []
    for index, moment in enumerate(moments):
        dialog_id = 3 if moment >= midnight else (1, 2, 4)[index % 3]
        messages.append(message(2 * index + 1, dialog_id, moment))
        messages.append(answer(2 * index + 2, dialog_id, moment, latency_ms=100 * index + 5))
    store(app, messages=messages)

    at = DAY0 + timedelta(hours=10)
    for start, end in [
        (at, at + timedelta(hours=2, minutes=30)),
        (at + timedelta(microseconds=1), at + timedelta(hours=2, minutes=30, microseconds=-1)),
        (at + timedelta(minutes=15), at + timedelta(minutes=30)),
        (at + timedelta(minutes=7, seconds=33), at + timedelta(hours=2, minutes=22)),
        # the last bucket holds no whole quarter hour
        (at, at + timedelta(hours=2, minutes=5)),
        (at - timedelta(minutes=50), at + timedelta(hours=2, minutes=40)),
        (midnight - timedelta(hours=3), midnight),
        (midnight, midnight + timedelta(hours=1)),
        (midnight - timedelta(minutes=7), midnight + timedelta(minutes=7)),
        (DAY0, midnight + timedelta(days=1)),
    ]:
        check(app, client, Span(start, end, "UTC"), limits=(2,), listings=LISTINGS[::3])


def test_windows_short_whole_days_and_weekly(app: Flask, client: FlaskClient, console: int) -> None:
    dialog_ids = town(app, console, DAY0)
    messages = spread(1, DAY0, 24 * 40, dialog_ids, every_minutes=151)
    store(app, messages=messages)
    quarter = DAY0 + timedelta(hours=30)
    windows = [
        # shorter than a quarter hour: inside one, and across a quarter's start
        Span(quarter + timedelta(minutes=1), quarter + timedelta(minutes=13), "UTC"),
        Span(quarter - timedelta(minutes=8), quarter + timedelta(minutes=6), "UTC"),
        # whole UTC days (daily buckets, percentiles from whole days only)
        span_of("2026-05-05", "2026-05-12"),
        # more than 31 days: weekly buckets from a Thursday, partial weeks at both ends
        span_of("2026-05-07T13:20:11.5+00:00", "2026-06-12T08:00:00+00:00"),
        span_of("2026-05-04", "2026-06-13", "Europe/Berlin"),
        # 48 hours is still hourly, a microsecond more is daily
        Span(DAY0 + timedelta(hours=5), DAY0 + timedelta(hours=53), "UTC"),
        Span(DAY0 + timedelta(hours=5), DAY0 + timedelta(hours=53, microseconds=1), "UTC"),
        # the last day holds no whole quarter hour
        Span(DAY0 + timedelta(hours=5), DAY0 + timedelta(days=5, minutes=10), "UTC"),
    ]
    for span in windows:
        check(app, client, span, listings=LISTINGS[:1])
    long_windows = [span_of("2026-05-04", "2026-06-04"), span_of("2026-05-04", "2026-06-05")]
    assert [fetch(client, "activity", **query_of(s))["window"]["bucket"] for s in long_windows] == [
        "day",
        "week",
    ]


# Per zone: a local day (hourly buckets), then a longer window (daily or hourly buckets).
ZONE_WINDOWS = {
    "Europe/Berlin": [("2026-03-29", "2026-03-30"), ("2026-03-27", "2026-04-01")],  # 23 h
    "America/New_York": [("2026-11-01", "2026-11-02"), ("2026-10-30", "2026-11-04")],  # 25 h
    "Asia/Kolkata": [("2026-03-29", "2026-03-30"), ("2026-03-29T05:10", "2026-03-30T07:50")],
    "Asia/Kathmandu": [("2026-03-29", "2026-03-30"), ("2026-03-29T05:10", "2026-03-31")],
}


def test_time_zones(app: Flask, client: FlaskClient, console: int) -> None:
    for tz, windows in ZONE_WINDOWS.items():
        clear(app)
        first = min(span_of(start, end, tz).start for start, end in windows)
        dialog_ids = town(app, console, first - timedelta(days=2))
        week = spread(2, first - timedelta(days=1), 24 * 7, dialog_ids, every_minutes=25)
        store(app, messages=week)
        for start, end in windows:
            check(app, client, span_of(start, end, tz), limits=(2,), listings=LISTINGS[:1])
        day = span_of(*windows[0], tz)
        hours = len(fetch(client, "activity", **query_of(day))["series"])
        assert hours == {"Europe/Berlin": 23, "America/New_York": 25}.get(tz, 24), tz


def test_empty_windows(app: Flask, client: FlaskClient, console: int) -> None:
    span = span_of("2026-05-05T10:00:00+02:00", "2026-05-06T09:59:59.5+02:00", "Europe/Berlin")
    check(app, client, span)
    overview = fetch(client, "overview", **query_of(span))
    assert {name: overview[name]["value"] for name in overview if name != "window"} == {
        "dialogs": 0,
        "user_messages": 0,
        "assistant_messages": 0,
        "active_users": 0,
        "new_users": 0,
        "messages_per_dialog": None,
    }
    # Rows outside the window (and in a dialog without messages) change nothing in it.
    dialog_ids = town(app, console, DAY0 - timedelta(days=3))
    store(app, messages=spread(3, DAY0 - timedelta(days=3), 24, dialog_ids[:-1]))
    store(app, dialogs=[dialog(9, span.start + timedelta(hours=1), user_id=2)])
    check(app, client, span)
    assert fetch(client, "dialogs", **query_of(span))["total"] == 0


def test_change_against_the_previous_window(app: Flask, client: FlaskClient, console: int) -> None:
    # Nothing on DAY0, then a busy day, then a quieter one.
    dialog_ids = town(app, console, DAY0 + timedelta(days=1))
    store(app, messages=spread(4, DAY0 + timedelta(days=1), 24, dialog_ids, every_minutes=31))
    store(
        app,
        messages=spread(5, DAY0 + timedelta(days=2), 24, dialog_ids, 1_000, every_minutes=53),
    )
    previous_zero = span_of("2026-05-05", "2026-05-06")
    check(app, client, previous_zero, listings=LISTINGS[:1])
    for endpoint in ("overview", "performance"):
        found = fetch(client, endpoint, **query_of(previous_zero))
        for name, metric in found.items():
            if name != "window":
                assert metric["change_pct"] is None, (endpoint, name, metric)
    previous_busy = span_of("2026-05-06", "2026-05-07")
    check(app, client, previous_busy, listings=LISTINGS[:1])
    changes = fetch(client, "overview", **query_of(previous_busy))
    assert changes["user_messages"]["change_pct"] is not None
    assert changes["user_messages"]["change_pct"] < 0


def test_percentiles_over_bins_and_days(app: Flask, client: FlaskClient, console: int) -> None:
    store(app, [user(1)], [dialog(1, DAY0, user_id=1)])
    pick = random.Random(6)
    latencies = (
        list(range(1_000, 1_025))  # 25 values in one 25 ms bin
        + [0, 3, 9, 10, 11, 999]  # under 10 ms, bin edges
        + [99_999, 100_000, 250_000, 1_234_567]  # beyond 100 s
        + [pick.randrange(10, 60_000) for _ in range(40)]
        + [5_000] * 7  # equal values
    )
    messages, next_id = [], 1
    for index, latency in enumerate(latencies):
        # over three UTC days, some answers without figures
        at = DAY0 + timedelta(hours=index * 71 / len(latencies), microseconds=index)
        messages.append(message(next_id, 1, at))
        ttft = None if index % 9 == 0 else latency // 3
        messages.append(
            answer(next_id + 1, 1, at + timedelta(seconds=1), latency_ms=latency, ttft_ms=ttft)
        )
        next_id += 2
    # an answer that failed carries a latency that must not count
    messages.append(message(next_id, 1, DAY0 + timedelta(hours=5), "user", "error"))
    messages.append(
        answer(next_id + 1, 1, DAY0 + timedelta(hours=5, seconds=1), status="error", latency_ms=1)
    )
    store(app, messages=messages)
    windows = [
        span_of("2026-05-04", "2026-05-07"),  # whole UTC days
        span_of("2026-05-04T07:13:00.25Z", "2026-05-06T19:02:00Z"),  # whole and partial days
        span_of("2026-05-05T00:00:00Z", "2026-05-05T23:59:59.999999Z"),  # a day but a µs
        span_of("2026-05-04T12:00:00Z", "2026-05-05T12:00:00Z"),  # two halves
        span_of("2026-05-04", "2026-05-07", "Asia/Kolkata"),
    ]
    counts = set()
    for span in windows:
        check(app, client, span, listings=LISTINGS[:1])
        counts.add(fetch(client, "performance", **query_of(span))["answers"]["value"] % 2)
    assert counts == {0, 1}, "odd and even numbers of answers"
    # One answer: p50 = p95 = it.
    single = Span(DAY0 + timedelta(seconds=1), DAY0 + timedelta(seconds=2), "UTC")
    check(app, client, single, listings=LISTINGS[:1])
    found = fetch(client, "performance", **query_of(single))
    assert found["latency_p95_ms"]["value"] == found["latency_p50_ms"]["value"] == latencies[0]


def test_outcomes_of_questions(app: Flask, client: FlaskClient, console: int) -> None:
    store(app, [user(1), user(2)], [dialog(1, DAY0, user_id=1), dialog(2, DAY0, user_id=2)])
    at = DAY0 + timedelta(hours=1)
    second = timedelta(seconds=1)
    store(
        app,
        messages=[
            message(1, 1, at),
            answer(2, 1, at + second),
            # failed: the question and its answer row are errors
            message(3, 1, at + 2 * second, status="error", error_code="llm_timeout"),
            answer(4, 1, at + 3 * second, status="error", error_code="llm_timeout", ttft_ms=None),
            # failed without a code
            message(5, 2, at + 4 * second, status="error"),
            # interrupted: no answer row
            message(7, 1, at + 6 * second, status="error", error_code="interrupted"),
            # cancelled: the question and the answer row
            message(9, 2, at + 8 * second, status="error", error_code="cancelled"),
            answer(10, 2, at + 9 * second, status="error", error_code="cancelled", latency_ms=7),
            # pending: a question waiting
            message(11, 1, at + 10 * second, status="pending"),
        ],
    )
    span = span_of("2026-05-04", "2026-05-05")
    check(app, client, span)
    found = fetch(client, "performance", **query_of(span))
    values = {name: found[name]["value"] for name in found if name != "window"}
    assert values["answers"] == 5
    assert (values["failed"], values["interrupted"], values["cancelled"]) == (2, 1, 1)
    assert values["error_rate"] == 0.6
    assert values["tokens"] == 45


def test_console_dialogs_count_but_not_as_users(
    app: Flask, client: FlaskClient, console: int
) -> None:
    with app.app_context():
        other = create_account("other", CONSOLE_PASSWORD, is_admin=True).id
    store(
        app,
        [user(1)],
        [
            dialog(1, DAY0, user_id=1),
            dialog(2, DAY0 + timedelta(minutes=1), account_id=console),
            dialog(3, DAY0 + timedelta(minutes=2), account_id=other, mode="insights"),
        ],
        [
            message(1, 1, DAY0 + timedelta(minutes=3)),
            message(2, 2, DAY0 + timedelta(minutes=4)),
            answer(3, 2, DAY0 + timedelta(minutes=5)),
            message(4, 3, DAY0 + timedelta(minutes=6)),
            answer(5, 3, DAY0 + timedelta(minutes=7), sql="SELECT 1"),
        ],
    )
    span = span_of("2026-05-04", "2026-05-05")
    check(app, client, span)
    overview = fetch(client, "overview", **query_of(span))
    assert overview["dialogs"]["value"] == 3
    assert overview["active_users"]["value"] == overview["new_users"]["value"] == 1
    assert [u["user_id"] for u in fetch(client, "top-users", **query_of(span))["users"]] == [1]


def test_which_dialogs_count(app: Flask, client: FlaskClient, console: int) -> None:
    span = span_of("2026-05-05", "2026-05-06")
    store(
        app,
        [user(1), user(2)],
        [
            dialog(1, span.start - timedelta(hours=2), user_id=1),  # before, messages inside
            dialog(2, span.start + timedelta(hours=1), user_id=1),  # no messages
            dialog(3, span.start, user_id=2),  # at the start, its messages after the end
            dialog(4, span.end, user_id=2),  # at the end: the next window's
            dialog(5, span.end - timedelta(microseconds=1), account_id=console),
        ],
        [
            message(1, 1, span.start + timedelta(hours=3)),
            answer(2, 1, span.start + timedelta(hours=3, seconds=2)),
            message(3, 3, span.end + timedelta(hours=1)),
            message(4, 4, span.end),
            message(5, 5, span.end + timedelta(minutes=1)),
        ],
    )
    check(app, client, span)
    check(app, client, span.previous)
    assert [d["id"] for d in fetch(client, "dialogs", **query_of(span))["dialogs"]] == [5, 3]


def test_dialog_listing_ties_and_previews(app: Flask, client: FlaskClient, console: int) -> None:
    start = DAY0 + timedelta(hours=8)
    store(
        app,
        [user(1, username=None, first_name="Zoë", last_name="Ünal"), user(2)],
        [dialog(i, start, user_id=1 + i % 2) for i in range(1, 7)]
        + [dialog(7, start + timedelta(minutes=1), account_id=console)],
    )
    long_text = "ж🙂" * 150 + "tail"
    same = start + timedelta(minutes=5)
    store(
        app,
        messages=[
            message(1, 1, same, content=long_text),
            message(2, 2, same),
            answer(3, 2, same, content=long_text),  # same time: the greater id is the latest
            message(4, 3, same),
            message(5, 4, same + timedelta(minutes=1)),
            message(6, 5, same + timedelta(minutes=2), status="pending"),
            message(7, 6, same),
            answer(8, 6, same + timedelta(seconds=1), status="error", error_code="llm_timeout"),
            message(9, 7, same),
        ],
    )
    check(app, client, span_of("2026-05-04", "2026-05-05"))
    found = fetch(client, "dialogs", **query_of(span_of("2026-05-04", "2026-05-05")))
    previews = {d["id"]: d["latest_message"]["preview"] for d in found["dialogs"]}
    assert previews[1] == previews[2] == long_text[:200]


def test_rolling_periods(app: Flask, client: FlaskClient, console: int) -> None:
    now = datetime.now(UTC)
    start = now - timedelta(days=65)
    dialog_ids = town(app, console, start)
    store(app, messages=spread(7, start, 24 * 65, dialog_ids, every_minutes=300))
    rows = read_rows(app)
    for period, length in (("day", 1), ("week", 7), ("month", 30)):
        for endpoint in (*ENDPOINTS, "dialogs"):
            raw = fetch(client, endpoint, period=period, tz="Europe/Berlin")
            window = reference.parse_moments(raw["window"])
            assert window["to"] - window["from"] == timedelta(days=length)
            assert window["to"] <= datetime.now(UTC)
            span = Span(window["from"], window["to"], "Europe/Berlin")
            params = {"sort": "started", "order": "desc"} if endpoint == "dialogs" else {}
            assert reference.parse_moments(raw) == expected(rows, endpoint, span, **params)


def test_a_forgotten_user_leaves_nothing_behind(
    app: Flask, client: FlaskClient, console: int
) -> None:
    """The same rows give the same figures whatever was deleted before: no rollup rows of
    zeros stay (a rebuild would not make them), no role is listed with nothing in it."""
    at = DAY0 + timedelta(hours=1)
    store(
        app,
        [user(1)],
        [dialog(1, at, user_id=1, role="editor")],
        [message(1, 1, at), answer(2, 1, at + timedelta(seconds=2))],
    )
    forgotten = client.delete(
        f"/api/v1/bot/users/{user(1)['telegram_id']}/dialogs",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
    )
    assert forgotten.status_code == 200
    span = span_of("2026-05-04", "2026-05-05")
    assert fetch(client, "breakdown", **query_of(span))["roles"] == []
    before = dump_rollups(app)
    assert rebuilt_rollups(app) == before


def test_figures_and_rollups_after_updates_and_deletes(
    app: Flask, client: FlaskClient, console: int
) -> None:
    dialog_ids = town(app, console, DAY0)
    store(app, messages=spread(8, DAY0, 30, dialog_ids, every_minutes=17))
    spans = [
        span_of("2026-05-04", "2026-05-06"),
        span_of("2026-05-04T10:07:00Z", "2026-05-05T03:52:30Z", "Asia/Kathmandu"),
    ]

    def verify() -> None:
        for span in spans:
            check(app, client, span, limits=(2,), listings=LISTINGS[:1])
        before = dump_rollups(app)
        assert without_empty_rows(rebuilt_rollups(app)) == without_empty_rows(before)

    verify()
    at = DAY0 + timedelta(hours=11, minutes=2, microseconds=17)
    store(app, messages=[message(5_001, 2, at, status="pending")])
    verify()
    execute(app, sa.update(Message).where(Message.id == 5_001).values(status="ok"))
    verify()
    store(app, messages=[answer(5_002, 2, at + timedelta(seconds=3), latency_ms=1_234)])
    verify()
    execute(
        app,
        sa.update(Message)
        .where(Message.id == 5_001)
        .values(status="error", error_code="interrupted"),
    )
    verify()
    execute(app, sa.update(Message).where(Message.id == 5_002).values(latency_ms=87_654))
    verify()
    # A question moved to another user's dialog, and an answer moved in time.
    execute(app, sa.update(Message).where(Message.id == 5_001).values(dialog_id=3))
    verify()
    execute(
        app,
        sa.update(Message)
        .where(Message.id == 5_002)
        .values(created_at=DAY0 + timedelta(hours=29, microseconds=3)),
    )
    verify()
    # The only messages of a dialog moved away: it no longer counts.
    execute(app, sa.update(Message).where(Message.dialog_id == 4).values(dialog_id=1))
    verify()
    # A user forgotten through the bot's endpoint.
    forgotten = client.delete(
        f"/api/v1/bot/users/{user(2)['telegram_id']}/dialogs",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
    )
    assert forgotten.status_code == 200, forgotten.get_data(as_text=True)
    assert forgotten.get_json()["messages_deleted"] > 0
    verify()
    # The earliest question of a user deleted: they are new later.
    with app.app_context():
        earliest = db.session.scalar(
            sa.select(Message.id)
            .join(Dialog, Dialog.id == Message.dialog_id)
            .where(Dialog.user_id == 3, Message.role == "user")
            .order_by(Message.created_at)
            .limit(1)
        )
    execute(app, sa.delete(Message).where(Message.id == earliest))
    verify()
    clear(app)
    verify()


def test_percentiles_read_their_histogram_rows_by_key(sqlite_app: Flask) -> None:
    """The coarse histograms by slot range, then the fine rows slot by slot within the one
    coarse bin that holds a rank: never a scan of stats_latency or of one of its units (at a
    million messages, hundreds of thousands of rows). SQLite plans by the indexes alone here
    (no statistics), as at scale."""
    store(sqlite_app, [user(1)], [dialog(1, DAY0, user_id=1)])
    rows = []
    for index in range(60):  # answers over two and a half days: hours, days and edges
        at = DAY0 + timedelta(minutes=61 * index, seconds=7)
        rows += [message(2 * index + 1, 1, at), answer(2 * index + 2, 1, at, latency_ms=index * 97)]
    store(sqlite_app, messages=rows)
    with sqlite_app.app_context():
        engine = sqlite_app.extensions[READ_ENGINE_KEY]
        with read_statements(engine) as statements, read_session() as session:
            start = DAY0 + timedelta(hours=5, minutes=30)
            found = Figures(session).percentiles([(start, start + timedelta(days=2))], (50,))
        with engine.connect() as connection:
            steps = [
                step
                for statement, parameters in statements
                if "stats_latency" in statement
                for *_, step in connection.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {statement}", parameters
                ).all()
            ]
    assert found[rollups.LATENCY][0][0] is not None
    assert any("slot=? AND bin>? AND bin<?" in step for step in steps), steps
    assert not [step for step in steps if "stats_latency" in step and "SCAN" in step], steps
    assert not [step for step in steps if "(unit=?)" in step or "(unit=? AND metric=?)" in step]


def _plan_nodes(plan: dict[str, Any]) -> Iterable[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def test_runs_of_slots_are_read_run_by_run(app: Flask) -> None:
    """A series of local days (30 of them, each some hours and quarter hours) reads its count
    and user rows run by run, by index, in one statement each: on PostgreSQL a lateral join
    whose aggregate runs once per run, never flattened into a join that reads the rollup
    tables whole (which it planned as a hash join: 130 ms at a million messages); on SQLite
    an index range per run, never a scan."""
    store(app, [user(1)], [dialog(1, DAY0, user_id=1)])
    store(app, messages=spread(3, DAY0, 24 * 31, [1], every_minutes=97))
    zone = ZoneInfo("Asia/Kolkata")
    bounds = [datetime.combine(DAY0.date(), time(), zone) + timedelta(days=d) for d in range(31)]
    spans = list(pairwise(bounds))
    with app.app_context():
        engine = app.extensions[READ_ENGINE_KEY]
        with read_statements(engine) as statements, read_session() as session:
            figures = Figures(session)
            counts, users = figures.series(bounds), figures.active_users(spans)
        assert sum(questions for questions, _ in counts) > 0
        assert sum(users) > 0
        read = [(s, p) for s, p in statements if "stats_counts" in s or "stats_users" in s]
        assert len(read) == 2, read
        with engine.connect() as connection:
            for statement, parameters in read:
                if engine.dialect.name == "sqlite":
                    steps = [
                        step
                        for *_, step in connection.exec_driver_sql(
                            f"EXPLAIN QUERY PLAN {statement}", parameters
                        ).all()
                    ]
                    assert not [s for s in steps if s.startswith("SCAN stats_")], steps
                    continue
                ((plan,),) = connection.exec_driver_sql(
                    f"EXPLAIN (FORMAT JSON) {statement}", parameters
                ).all()
                nodes = list(_plan_nodes(plan[0]["Plan"]))
                assert not [n for n in nodes if "Hash" in n["Node Type"]], plan
                loops = [n for n in nodes if n["Node Type"] == "Nested Loop"]
                assert any(
                    {child["Node Type"] for child in loop["Plans"]} == {"Values Scan", "Aggregate"}
                    for loop in loops
                ), plan
