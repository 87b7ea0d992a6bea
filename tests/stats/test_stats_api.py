"""The statistics API's contract, on both databases: who may call it, what it refuses and why,
how a window is read, paging and sorting of dialogs, transcripts, CSV downloads, the OpenAPI
document. The figures themselves are checked against a reference in test_figures*.py."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.doubles.fake_llm import FakeLLM, Reply
from tests.support import BOT_TOKEN
from webapi.database import read_session
from webapi.domain import console_dialogs
from webapi.domain.accounts import create_account
from webapi.domain.conversation import Completed
from webapi.extensions import db
from webapi.models import Account, Channel, Dialog, Message, Mode, User, utcnow
from webapi.services import services
from webapi.stats import dialogs as dialog_listing
from webapi.stats.windows import Window

STATS = "/api/v1/stats"
WINDOWED = ("overview", "performance", "activity", "top-users", "dialogs", "breakdown")
ACCOUNT = ("analyst", "analyst-password-1")
# What a spreadsheet takes for the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TIME_COLUMNS = {"start", "started_at", "ended_at", "last_message_at", "latest_message_at"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Questions seeded as pending stay pending while a test runs: the app's own sweep marks
    # only those older than LLM_TIMEOUT_S and a margin.
    return {"LLM_TIMEOUT_S": 600.0}


@pytest.fixture
def console(app: Flask, client: FlaskClient) -> FlaskClient:
    """The test client, signed in to the console (an account without admin rights)."""
    with app.app_context():
        create_account(*ACCOUNT, is_admin=False)
    signed_in = client.post(
        "/api/v1/auth/login", json={"username": ACCOUNT[0], "password": ACCOUNT[1]}
    )
    assert signed_in.status_code == 200
    return client


class Seeder:
    """Rows written through the models, one commit each (the triggers keep the rollups)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _add(self, row: Any) -> int:
        with self.app.app_context():
            db.session.add(row)
            db.session.commit()
            return int(row.id)

    def user(self, telegram_id: int, **profile: Any) -> int:
        return self._add(User(telegram_id=telegram_id, **profile))

    def account(self, username: str) -> int:
        return self._add(Account(username=username, password_hash="-"))

    def dialog(
        self,
        started_at: datetime,
        *,
        user_id: int | None = None,
        account_id: int | None = None,
        mode: str = "assistant",
        role: str = "consultant",
        ended_at: datetime | None = None,
    ) -> int:
        channel = Channel.TELEGRAM if user_id is not None else Channel.WEB
        return self._add(
            Dialog(
                user_id=user_id,
                account_id=account_id,
                channel=channel,
                mode=mode,
                role=role,
                started_at=started_at,
                ended_at=ended_at,
            )
        )

    def message(
        self,
        dialog_id: int,
        role: str,
        created_at: datetime,
        content: str = "text",
        status: str = "ok",
        **figures: Any,
    ) -> int:
        return self._add(
            Message(
                dialog_id=dialog_id,
                role=role,
                content=content,
                length=len(content),
                created_at=created_at,
                status=status,
                **figures,
            )
        )


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def hour_floor(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def error_of(response: Any, status: int) -> dict[str, Any]:
    """The common error body of a refusal, which must have a human-readable message."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def csv_rows(response: Any, name: str) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}.csv"'
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def same_cell(column: str, cell: str, value: Any) -> bool:
    """Whether a CSV cell shows a JSON value: times as the same instant, texts made safe."""
    if value is None:
        return cell == ""
    if column in TIME_COLUMNS:
        return moment(cell) == moment(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return cell == "'" + value
    return cell == str(value)


def assert_csv_equals_json(
    rows: list[list[str]], header: Sequence[str], items: list[list[Any]]
) -> None:
    assert rows[0] == list(header)
    assert len(rows) - 1 == len(items)
    for number, (row, item) in enumerate(zip(rows[1:], items, strict=True), start=1):
        for column, cell, value in zip(header, row, item, strict=True):
            assert same_cell(column, cell, value), f"row {number}, {column}: {cell!r} vs {value!r}"


# --- access -------------------------------------------------------------------------------------


def stats_urls() -> list[str]:
    return [f"{STATS}/{name}" for name in WINDOWED] + [f"{STATS}/dialogs/1"]


def test_every_stats_endpoint_needs_a_console_session(client: FlaskClient) -> None:
    bearer = {"Authorization": f"Bearer {BOT_TOKEN}"}
    for url in stats_urls():
        assert error_of(client.get(url), 401)["code"] == "unauthorized", url
        # The bot's token opens the bot's endpoints only: it is no console session.
        assert error_of(client.get(url, headers=bearer), 401)["code"] == "unauthorized", url
        # Who asks is checked before what is asked.
        refused = client.get(url, query_string={"period": "year"})
        assert error_of(refused, 401)["code"] == "unauthorized", url


def test_signing_out_closes_the_stats(console: FlaskClient) -> None:
    assert console.get(f"{STATS}/overview").status_code == 200
    assert console.post("/api/v1/auth/logout", json={}).status_code == 200
    assert error_of(console.get(f"{STATS}/overview"), 401)["code"] == "unauthorized"


# --- validation ---------------------------------------------------------------------------------

# (query, why): `why` is a phrase of the message, or for a malformed parameter its name in
# the details.
WINDOW_REFUSALS: list[tuple[dict[str, str], str]] = [
    ({"period": "year"}, "period"),
    ({"period": "DAY"}, "period"),
    ({"from": "2026-11-02", "to": "2026-11-01"}, "'to' must come after 'from'"),
    ({"from": "2026-11-01T10:00:00Z", "to": "2026-11-01T10:00:00Z"}, "must come after"),
    ({"to": "2026-11-01"}, "'to' needs a 'from'"),
    ({"period": "day", "from": "2026-11-01"}, "either 'period' or 'from'/'to'"),
    ({"period": "week", "to": "2026-11-01"}, "either 'period' or 'from'/'to'"),
    ({"tz": "Mars/Olympus_Mons"}, "not an IANA time zone"),
    ({"tz": "../../etc/passwd"}, "not an IANA time zone"),
    ({"from": "2026-13-01"}, "'from' must be an ISO date"),
    ({"from": "yesterday"}, "'from' must be an ISO date"),
    ({"from": "2026-11-01", "to": "2026-11-01T25:00"}, "'to' must be an ISO date"),
    ({"from": "2025-01-01", "to": "2026-02-06"}, "at most 400 days"),
    ({"from": "2024-01-01"}, "at most 400 days"),
    ({"from": "1999-12-31", "to": "2000-01-02"}, "before 2000-01-01"),
    ({"from": "2026-11-01T00:00:00" + "0" * 40}, "from"),
    ({"tz": "A" * 65}, "tz"),
    ({"unknown": "1"}, "unknown"),
]
OTHER_REFUSALS: list[tuple[str, dict[str, str], str]] = [
    ("top-users", {"limit": "0"}, "limit"),
    ("top-users", {"limit": "101"}, "limit"),
    ("top-users", {"limit": "ten"}, "limit"),
    ("top-users", {"format": "xlsx"}, "format"),
    ("activity", {"format": "xml"}, "format"),
    ("dialogs", {"format": "CSV"}, "format"),
    ("dialogs", {"per_page": "0"}, "per_page"),
    ("dialogs", {"per_page": "101"}, "per_page"),
    ("dialogs", {"page": "0"}, "page"),
    ("dialogs", {"page": "100001"}, "page"),
    ("dialogs", {"page": "-1"}, "page"),
    ("dialogs", {"sort": "username"}, "sort"),
    ("dialogs", {"order": "up"}, "order"),
    ("overview", {"format": "csv"}, "format"),
    ("breakdown", {"limit": "5"}, "limit"),
]


def explains(body: dict[str, Any], why: str) -> bool:
    error = body["error"]
    if error["code"] != "validation_error":
        return False
    if why in error["message"]:
        return True
    return any(why in detail["loc"] and detail["msg"] for detail in error.get("details") or [])


def test_bad_requests_are_refused_with_the_reason(console: FlaskClient) -> None:
    wrong: list[str] = []
    cases = [(name, query, why) for name in WINDOWED for query, why in WINDOW_REFUSALS]
    for name, query, why in cases + OTHER_REFUSALS:
        response = console.get(f"{STATS}/{name}", query_string=query)
        if response.status_code != 422 or not explains(response.get_json(), why):
            wrong.append(f"{name} {query}: {response.status_code} {response.get_data(True)}")
    assert wrong == []


@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01-01", "tz": "Asia/Kolkata"},
        {"from": "0001-01-01T00:00:00+05:00"},
        {"from": "9999-12-31T23:00:00-05:00"},
        {"from": "2026-11-01", "to": "9999-12-31T23:59:59-10:00"},
    ],
)
def test_instants_beyond_the_calendar_are_refused_not_a_crash(
    console: FlaskClient, query: dict[str, str]
) -> None:
    """Dates that exist locally but not in UTC (year 1 east of Greenwich, year 9999 west)."""
    for name in WINDOWED:
        refused = console.get(f"{STATS}/{name}", query_string=query)
        assert error_of(refused, 422)["code"] == "validation_error", name


def test_a_span_of_400_days_is_the_most_allowed(console: FlaskClient) -> None:
    answered = console.get(
        f"{STATS}/overview", query_string={"from": "2025-01-01", "to": "2026-02-05"}
    )
    assert answered.status_code == 200
    window = answered.get_json()["window"]
    assert moment(window["to"]) - moment(window["from"]) == timedelta(days=400)


def test_a_transcript_of_no_dialog(console: FlaskClient) -> None:
    assert error_of(console.get(f"{STATS}/dialogs/987654"), 404)["code"] == "not_found"
    assert error_of(console.get(f"{STATS}/dialogs/0"), 422)["code"] == "validation_error"
    too_big = console.get(f"{STATS}/dialogs/{2**63}")
    assert error_of(too_big, 422)["code"] == "validation_error"
    assert error_of(console.get(f"{STATS}/dialogs/abc"), 404)["code"] == "not_found"


# --- windows ------------------------------------------------------------------------------------


def window_of(client: FlaskClient, **query: str) -> dict[str, Any]:
    response = client.get(f"{STATS}/overview", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    window: dict[str, Any] = response.get_json()["window"]
    return window


def test_dates_are_local_midnights_of_the_time_zone(console: FlaskClient) -> None:
    window = window_of(console, **{"from": "2026-11-01", "to": "2026-11-03", "tz": "Asia/Kolkata"})
    assert window["tz"] == "Asia/Kolkata"
    assert moment(window["from"]) == datetime(2026, 10, 31, 18, 30, tzinfo=UTC)
    assert moment(window["to"]) == datetime(2026, 11, 2, 18, 30, tzinfo=UTC)
    assert moment(window["previous_from"]) == datetime(2026, 10, 29, 18, 30, tzinfo=UTC)
    assert moment(window["previous_to"]) == moment(window["from"])
    assert window["bucket"] == "hour"

    # A day with a DST change starts at its local midnight, whatever the offset.
    berlin = window_of(console, **{"from": "2026-03-29", "to": "2026-03-30", "tz": "Europe/Berlin"})
    assert moment(berlin["from"]) == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert moment(berlin["to"]) == datetime(2026, 3, 29, 22, tzinfo=UTC)

    utc = window_of(console, **{"from": "2026-11-01", "to": "2026-11-02"})
    assert (utc["tz"], moment(utc["from"])) == ("UTC", datetime(2026, 11, 1, tzinfo=UTC))


def test_instants_keep_their_offset_and_naive_ones_are_local(console: FlaskClient) -> None:
    kolkata = {"tz": "Asia/Kolkata", "to": "2026-11-02"}
    with_offset = window_of(console, **{"from": "2026-11-01T09:30:00+01:00", **kolkata})
    assert moment(with_offset["from"]) == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    zulu = window_of(console, **{"from": "2026-11-01T09:30:00Z", **kolkata})
    assert moment(zulu["from"]) == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    naive = window_of(console, **{"from": "2026-11-01T09:30:00", **kolkata})
    assert moment(naive["from"]) == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)


def test_from_alone_runs_until_now(console: FlaskClient) -> None:
    since = hour_floor(utcnow()) - timedelta(days=2)
    before = utcnow()
    window = window_of(console, **{"from": since.isoformat()})
    assert moment(window["from"]) == since
    assert before - timedelta(seconds=1) <= moment(window["to"]) <= utcnow()


def test_a_window_counts_what_is_in_it_in_its_time_zone(app: Flask, console: FlaskClient) -> None:
    seed = Seeder(app)
    user = seed.user(11)
    # 00:10 on 1 November in Kolkata, still 31 October in UTC.
    written = datetime(2026, 10, 31, 18, 40, tzinfo=UTC)
    seed.message(seed.dialog(written, user_id=user), "user", written)
    days = {"from": "2026-11-01", "to": "2026-11-02"}

    def questions(tz: str) -> int:
        found = console.get(f"{STATS}/overview", query_string={**days, "tz": tz}).get_json()
        value: int = found["user_messages"]["value"]
        return value

    assert questions("Asia/Kolkata") == 1
    assert questions("UTC") == 0


@pytest.mark.parametrize(
    ("period", "length", "bucket", "buckets"),
    [
        ("day", timedelta(days=1), "hour", (24, 25)),
        ("week", timedelta(days=7), "day", (7, 8)),
        ("month", timedelta(days=30), "day", (30, 31)),
    ],
)
def test_a_period_ends_now_and_is_bucketed(
    app: Flask,
    console: FlaskClient,
    period: str,
    length: timedelta,
    bucket: str,
    buckets: tuple[int, int],
) -> None:
    seed = Seeder(app)
    written = utcnow() - timedelta(hours=2)
    seed.message(seed.dialog(written, user_id=seed.user(12)), "user", written)

    before = utcnow()
    found = console.get(f"{STATS}/activity", query_string={"period": period}).get_json()
    window, series = found["window"], found["series"]
    start, end = moment(window["from"]), moment(window["to"])
    assert before - timedelta(seconds=1) <= end <= utcnow()
    assert end - start == length
    assert window["bucket"] == bucket
    assert len(series) in buckets
    starts = [moment(point["start"]) for point in series]
    assert starts[0] == start
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    if bucket == "hour":
        assert all(point.minute == 0 == point.second for point in starts[1:])
    else:
        assert all(point.hour == 0 == point.minute for point in starts[1:])
    holding = max(index for index, point in enumerate(starts) if point <= written)
    for index, point in enumerate(series):
        one = 1 if index == holding else 0
        assert (point["user_messages"], point["active_users"]) == (one, one), index
        assert point["assistant_messages"] == 0


def test_no_window_means_the_last_week(console: FlaskClient) -> None:
    window = window_of(console)
    assert moment(window["to"]) - moment(window["from"]) == timedelta(days=7)
    assert window["tz"] == "UTC"


def test_buckets_start_at_local_midnights_in_the_window_zone(console: FlaskClient) -> None:
    query = {"from": "2026-11-01", "to": "2026-11-08", "tz": "Asia/Kolkata"}
    series = console.get(f"{STATS}/activity", query_string=query).get_json()["series"]
    assert [point["start"] for point in series] == [
        f"2026-11-0{day}T00:00:00+05:30" for day in range(1, 8)
    ]


# --- dialogs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    id: int
    started_at: datetime
    latest_at: datetime
    messages: int


def seed_dialogs(app: Flask, base: datetime) -> list[Planned]:
    """Twelve dialogs of two Telegram users and a console account, whose starts, latest
    messages and message counts tie in pairs; and two that a window from base - 1 day leaves
    out (one started before it, one without messages)."""
    seed = Seeder(app)
    ann = seed.user(21, username="ann", first_name="Ann")
    bob = seed.user(22, username="bob")
    owner = seed.account("owner")
    planned = []
    for index in range(12):
        started = base + timedelta(hours=index // 2)
        offsets = [timedelta(minutes=10 * k) for k in range(1 + index % 3)]
        if index == 11:  # its only message ties with dialog 10's latest
            offsets = [timedelta(minutes=10)]
        console_owned = index % 3 == 2
        latest = started + offsets[-1]
        dialog = seed.dialog(
            started,
            user_id=None if console_owned else (ann, bob)[index % 2],
            account_id=owner if console_owned else None,
            ended_at=latest,
        )
        for number, offset in enumerate(offsets):
            seed.message(dialog, ("user", "assistant")[number % 2], started + offset)
        planned.append(Planned(dialog, started, latest, len(offsets)))
    early = base - timedelta(days=2)
    seed.message(seed.dialog(early, user_id=ann), "user", early)
    seed.dialog(base, user_id=bob)
    return planned


def window_until_now(base: datetime) -> dict[str, str]:
    return {"from": (base - timedelta(days=1)).isoformat(), "to": utcnow().isoformat()}


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", ["started", "latest", "messages"])
def test_dialogs_are_sorted_and_paged_completely(
    app: Flask, console: FlaskClient, sort: str, order: str
) -> None:
    base = hour_floor(utcnow()) - timedelta(days=3)
    planned = seed_dialogs(app, base)
    key = {
        "started": lambda d: (d.started_at, d.id),
        "latest": lambda d: (d.latest_at, d.id),
        "messages": lambda d: (d.messages, d.id),
    }[sort]
    expected = [d.id for d in sorted(planned, key=key, reverse=order == "desc")]

    per_page = 5
    listed: list[int] = []
    for page in range(1, math.ceil(len(planned) / per_page) + 2):
        query = {**window_until_now(base), "sort": sort, "order": order}
        query |= {"page": str(page), "per_page": str(per_page)}
        found = console.get(f"{STATS}/dialogs", query_string=query).get_json()
        assert (found["total"], found["page"], found["per_page"]) == (12, page, per_page)
        assert len(found["dialogs"]) <= per_page
        listed += [dialog["id"] for dialog in found["dialogs"]]
    assert listed == expected, "pages together: every dialog once, in order"
    overview = console.get(f"{STATS}/overview", query_string=window_until_now(base)).get_json()
    assert overview["dialogs"]["value"] == len(planned), "the listing and the count agree"


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_both_ways_of_reading_a_page_by_message_count_agree(
    app: Flask, console: FlaskClient, order: str
) -> None:
    """By message count, a page is read from the listing index, or in count order where the
    window is a large share of all dialogs (a wide one); both give the window's dialogs in
    order."""
    base = hour_floor(utcnow()) - timedelta(days=3)
    planned = seed_dialogs(app, base)
    windows = {
        "wide": (base - timedelta(days=1), utcnow()),
        "narrow": (base + timedelta(hours=1), base + timedelta(hours=2)),
    }
    ways = {}
    for name, (start, end) in windows.items():
        inside = [d for d in planned if start <= d.started_at < end]
        ordered = sorted(inside, key=lambda d: (d.messages, d.id), reverse=order == "desc")
        expected = [d.id for d in ordered]
        query = {"from": start.isoformat(), "to": end.isoformat(), "sort": "messages"}
        query |= {"order": order, "per_page": "100"}
        found = console.get(f"{STATS}/dialogs", query_string=query)
        assert [row["id"] for row in found.get_json()["dialogs"]] == expected, name
        with app.app_context(), read_session() as session:
            ways[name] = dialog_listing._large_share(session, Window(start, end, ZoneInfo("UTC")))
    assert ways == {"wide": True, "narrow": False}


def test_a_page_beyond_the_end_is_empty(app: Flask, console: FlaskClient) -> None:
    base = hour_floor(utcnow()) - timedelta(days=3)
    seed_dialogs(app, base)
    query = {**window_until_now(base), "page": "40", "per_page": "100"}
    found = console.get(f"{STATS}/dialogs", query_string=query).get_json()
    assert (found["total"], found["page"], found["dialogs"]) == (12, 40, [])


def test_dialogs_show_their_owner_and_count(app: Flask, console: FlaskClient) -> None:
    base = hour_floor(utcnow()) - timedelta(days=3)
    planned = {d.id: d for d in seed_dialogs(app, base)}
    query = {**window_until_now(base), "per_page": "100"}
    found = console.get(f"{STATS}/dialogs", query_string=query).get_json()["dialogs"]
    assert {row["id"] for row in found} == set(planned)
    for row in found:
        plan = planned[row["id"]]
        assert row["message_count"] == plan.messages
        assert moment(row["started_at"]) == plan.started_at
        assert moment(row["latest_message"]["created_at"]) == plan.latest_at
        if row["channel"] == "web":
            assert (row["account"], row["user"]) == ("owner", None)
        else:
            assert row["account"] is None
            assert row["user"]["telegram_id"] in (21, 22)
            assert row["user"]["username"] == {21: "ann", 22: "bob"}[row["user"]["telegram_id"]]


def test_the_latest_message_is_the_actual_latest(app: Flask, console: FlaskClient) -> None:
    seed = Seeder(app)
    user = seed.user(31)
    now = utcnow()
    started = now - timedelta(hours=1)

    waiting = seed.dialog(started, user_id=user, ended_at=now)
    seed.message(waiting, "user", started, "first question")
    seed.message(waiting, "assistant", started + timedelta(seconds=5), "first answer")
    seed.message(waiting, "user", now - timedelta(minutes=1), "still waiting?", status="pending")

    failed = seed.dialog(started, user_id=user, ended_at=now)
    seed.message(failed, "user", started, "q", status="error", error_code="llm_unavailable")
    seed.message(
        failed,
        "assistant",
        started + timedelta(seconds=2),
        "",
        "error",
        error_code="llm_unavailable",
    )

    long_text = "0123456789" * 30
    out_of_order = seed.dialog(started, user_id=user, ended_at=now)
    # Stored last, written first: the latest is by time, not by id.
    seed.message(out_of_order, "assistant", started + timedelta(minutes=9), long_text)
    seed.message(out_of_order, "user", started + timedelta(minutes=8), "asked before")

    query = {**window_until_now(started), "per_page": "100"}
    rows = console.get(f"{STATS}/dialogs", query_string=query).get_json()["dialogs"]
    latest = {row["id"]: row["latest_message"] for row in rows}
    assert latest[waiting] | {"created_at": None} == {
        "role": "user",
        "preview": "still waiting?",
        "status": "pending",
        "error_code": None,
        "created_at": None,
    }
    failed_latest = latest[failed]
    assert (
        failed_latest["role"],
        failed_latest["status"],
        failed_latest["error_code"],
        failed_latest["preview"],
    ) == ("assistant", "error", "llm_unavailable", "")
    assert latest[out_of_order]["role"] == "assistant"
    assert latest[out_of_order]["preview"] == long_text[:200]
    assert moment(latest[out_of_order]["created_at"]) == started + timedelta(minutes=9)


# --- transcripts --------------------------------------------------------------------------------


def transcript_of(client: FlaskClient, dialog_id: int) -> dict[str, Any]:
    response = client.get(f"{STATS}/dialogs/{dialog_id}")
    assert response.status_code == 200, response.get_data(as_text=True)
    found: dict[str, Any] = response.get_json()
    return found


NO_FIGURES = {
    "error_code": None,
    "model": None,
    "prompt_tokens": None,
    "completion_tokens": None,
    "ttft_ms": None,
    "latency_ms": None,
    "sql": None,
    "result": None,
}


def test_a_telegram_transcript_has_every_message_oldest_first(
    app: Flask, console: FlaskClient
) -> None:
    seed = Seeder(app)
    user = seed.user(41, username="eve", first_name="Eve", last_name="E")
    started = datetime(2026, 11, 5, 9, tzinfo=UTC)
    dialog = seed.dialog(
        started, user_id=user, role="editor", ended_at=started + timedelta(hours=1)
    )
    figures = {
        "model": "m-1",
        "prompt_tokens": 12,
        "completion_tokens": 34,
        "ttft_ms": 250,
        "latency_ms": 1250,
        "sql": "SELECT 1",
    }
    plan: list[tuple[str, int, str, str, dict[str, Any]]] = [  # stored in this order
        ("assistant", 2, "an answer", "ok", figures),
        ("user", 1, "a question", "ok", {}),
        ("user", 3, "another", "error", {"error_code": "llm_timeout"}),
        ("assistant", 4, "", "error", {"error_code": "llm_timeout", "latency_ms": 60000}),
    ]
    ids = {}  # the transcript is by time
    for role, minute, content, status, extra in plan:
        at = started + timedelta(minutes=minute)
        ids[minute] = seed.message(dialog, role, at, content, status, **extra)

    found = transcript_of(console, dialog)
    assert {key: value for key, value in found.items() if key != "messages"} == {
        "id": dialog,
        "user": {
            "user_id": user,
            "telegram_id": 41,
            "username": "eve",
            "first_name": "Eve",
            "last_name": "E",
        },
        "account": None,
        "channel": "telegram",
        "mode": "assistant",
        "role": "editor",
        "started_at": found["started_at"],
        "ended_at": found["ended_at"],
        "message_count": 4,
    }
    assert moment(found["started_at"]) == started
    assert moment(found["ended_at"]) == started + timedelta(hours=1)
    expected = [
        {
            "id": ids[minute],
            "role": role,
            "content": content,
            "status": status,
            **NO_FIGURES,
            **extra,
        }
        for role, minute, content, status, extra in sorted(plan, key=lambda step: step[1])
    ]
    messages = found["messages"]
    assert [moment(m.pop("created_at")) for m in messages] == [
        started + timedelta(minutes=minute) for minute in (1, 2, 3, 4)
    ]
    assert messages == expected


def test_a_console_transcript_has_the_account_and_the_call_figures(
    app: Flask, console: FlaskClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("Hi, console."), Reply("Still here."))
    with app.test_request_context():
        account_id = create_account("owner", "owner-password-1", is_admin=True).id
        conversation = services().conversation
        dialog_id = console_dialogs.start(account_id, Mode.ASSISTANT, None, services().roles).id
        for text in ("Hello", "Again"):
            *_, last = conversation.answer(conversation.ask_in_dialog(account_id, dialog_id, text))
            assert isinstance(last, Completed)

    found = transcript_of(console, dialog_id)
    assert (found["user"], found["account"], found["channel"]) == (None, "owner", "web")
    assert found["message_count"] == 4
    messages = found["messages"]
    assert [(m["role"], m["content"], m["status"]) for m in messages] == [
        ("user", "Hello", "ok"),
        ("assistant", "Hi, console.", "ok"),
        ("user", "Again", "ok"),
        ("assistant", "Still here.", "ok"),
    ]
    times = [moment(m["created_at"]) for m in messages]
    assert times == sorted(times)
    for answer in messages[1::2]:
        assert answer["model"] == "test-model"
        assert answer["completion_tokens"] == 2
        assert answer["prompt_tokens"] > 0
        assert 0 <= answer["ttft_ms"] <= answer["latency_ms"]
        assert (answer["error_code"], answer["sql"]) == (None, None)
    for question in messages[0::2]:
        assert {key: question[key] for key in NO_FIGURES} == NO_FIGURES


# --- CSV ----------------------------------------------------------------------------------------

RISKY_NAMES = ['=HYPERLINK("http://evil.example","click")', "+1", "@x", "-2+3"]


def test_activity_downloads_as_csv_equal_to_the_json(app: Flask, console: FlaskClient) -> None:
    seed = Seeder(app)
    start = datetime(2026, 11, 2, tzinfo=UTC)
    dialog = seed.dialog(start, user_id=seed.user(51))
    for hours in (1, 2, 2, 30):
        seed.message(dialog, "user", start + timedelta(hours=hours))
    query = {"from": "2026-11-01", "to": "2026-11-05", "tz": "Europe/Berlin"}

    series = console.get(f"{STATS}/activity", query_string=query).get_json()["series"]
    rows = csv_rows(
        console.get(f"{STATS}/activity", query_string={**query, "format": "csv"}), "activity"
    )

    header = ("start", "user_messages", "assistant_messages", "active_users")
    assert_csv_equals_json(rows, header, [[point[key] for key in header] for point in series])
    assert sum(int(row[1]) for row in rows[1:]) == 4


def test_top_users_download_as_csv_with_formulas_defused(app: Flask, console: FlaskClient) -> None:
    seed = Seeder(app)
    start = datetime(2026, 11, 2, tzinfo=UTC)
    for number, name in enumerate(RISKY_NAMES):
        user = seed.user(60 + number, username=name, first_name=name, last_name="=1+1")
        dialog = seed.dialog(start, user_id=user)
        for minute in range(number + 1):
            seed.message(dialog, "user", start + timedelta(minutes=minute))
    query = {"from": "2026-11-01", "to": "2026-11-05"}

    users = console.get(f"{STATS}/top-users", query_string=query).get_json()["users"]
    assert [user["username"] for user in users] == RISKY_NAMES[::-1], "JSON keeps the names"
    response = console.get(f"{STATS}/top-users", query_string={**query, "format": "csv"})
    rows = csv_rows(response, "top-users")

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
    assert_csv_equals_json(rows, header, [[user[key] for key in header] for user in users])
    assert [row[2] for row in rows[1:]] == ["'" + name for name in RISKY_NAMES[::-1]]
    assert all(row[4] == "'=1+1" for row in rows[1:])


DIALOG_HEADER = (
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


def dialog_cells(row: dict[str, Any]) -> list[Any]:
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


@pytest.mark.parametrize("export_page", [dialog_listing.EXPORT_PAGE, 7])
@pytest.mark.parametrize(
    "order", [{}, {"sort": "messages", "order": "asc", "page": "2", "per_page": "5"}]
)
def test_dialogs_download_whole_in_order(
    app: Flask,
    console: FlaskClient,
    order: dict[str, str],
    export_page: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every dialog of the window, whatever page the listing was on; read in several pages
    when there are more than a page's worth (a small page here, rather than thousands)."""
    monkeypatch.setattr(dialog_listing, "EXPORT_PAGE", export_page)
    seed = Seeder(app)
    start = datetime(2026, 11, 2, tzinfo=UTC)
    risky = seed.user(70, username="@risky")
    owner = seed.account("console-owner")
    for index in range(30):
        began = start + timedelta(minutes=37 * index)
        console_owned = index % 5 == 0
        dialog = seed.dialog(
            began,
            user_id=None if console_owned else risky,
            account_id=owner if console_owned else None,
            ended_at=began + timedelta(hours=1),
        )
        for number in range(1 + index % 4):
            content = "=1+2" if index == 7 else f"message {number}"
            seed.message(dialog, "user", began + timedelta(seconds=number), content)
    window = {"from": "2026-11-01", "to": "2026-11-05"}

    listed = console.get(
        f"{STATS}/dialogs", query_string={**window, **order, "page": "1", "per_page": "100"}
    ).get_json()
    assert listed["total"] == 30
    response = console.get(f"{STATS}/dialogs", query_string={**window, **order, "format": "csv"})
    rows = csv_rows(response, "dialogs")

    assert_csv_equals_json(rows, DIALOG_HEADER, [dialog_cells(row) for row in listed["dialogs"]])
    assert {row[2] for row in rows[1:]} == {"'@risky", ""}
    assert "'=1+2" in {row[11] for row in rows[1:]}


# --- OpenAPI ------------------------------------------------------------------------------------

WINDOW_PARAMETERS = {"period", "from", "to", "tz"}
DOCUMENTED = {
    "overview": ("OverviewOut", WINDOW_PARAMETERS),
    "performance": ("PerformanceOut", WINDOW_PARAMETERS),
    "activity": ("ActivityOut", WINDOW_PARAMETERS | {"format"}),
    "top-users": ("TopUsersOut", WINDOW_PARAMETERS | {"format", "limit"}),
    "dialogs": (
        "DialogsOut",
        WINDOW_PARAMETERS | {"format", "sort", "order", "page", "per_page"},
    ),
    "breakdown": ("BreakdownOut", WINDOW_PARAMETERS),
    "dialogs/{dialog_id}": ("TranscriptOut", {"dialog_id"}),
}


def test_the_stats_endpoints_are_documented(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    stats_paths = {path for path in document["paths"] if path.startswith(f"{STATS}/")}
    assert stats_paths == {f"{STATS}/{name}" for name in DOCUMENTED}
    for name, (model, parameters) in DOCUMENTED.items():
        operation = document["paths"][f"{STATS}/{name}"]["get"]
        assert {p["name"] for p in operation["parameters"]} == parameters, name
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{model}"}, name
        assert model in schemas
        for status in ("401", "422"):
            error = operation["responses"][status]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorResponse"}, (name, status)
        assert operation.get("security") == [{"cookieAuth": []}], f"{name}: console session"
    window = schemas["OverviewOut"]["properties"]["window"]
    assert set(schemas[window["$ref"].rsplit("/", 1)[1]]["properties"]) >= {"from", "to"}


def test_the_csv_downloads_are_documented(client: FlaskClient) -> None:
    """`format=csv` answers text/csv: the document says so, or clients (and schemathesis)
    take the file for an undocumented answer."""
    document = client.get("/api/v1/openapi.json").get_json()
    for name in ("activity", "top-users", "dialogs"):
        ok = document["paths"][f"{STATS}/{name}"]["get"]["responses"]["200"]
        assert "text/csv" in ok["content"], name
