"""On random small datasets and windows, every statistics endpoint equals the reference, and the
rollups the triggers kept equal a rebuild from the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from tests.stats.reference import Span
from tests.stats.test_figures import (
    check,
    clear,
    dialog,
    dump_rollups,
    message,
    rebuilt_rollups,
    sign_in,
    store,
    user,
    without_empty_rows,
)

BASE = datetime(2026, 3, 28, 12, tzinfo=UTC)  # Berlin turns its clocks on, 2026-03-29
QUARTER_HOURS = 3 * 24 * 4
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
)
CODES = (None, "llm_timeout", "interrupted", "cancelled")
TEXT = st.characters(codec="utf-8", exclude_characters="\x00")  # what PostgreSQL stores
FIGURES = st.none() | st.integers(0, 12) | st.integers(0, 300_000)


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    """Within three days of BASE, often on or next to a quarter hour (where rollups meet rows)."""
    quarter = BASE + timedelta(minutes=15 * draw(st.integers(-QUARTER_HOURS // 2, QUARTER_HOURS)))
    offset = draw(
        st.sampled_from([0, 1, -1, 999_999, -999_999]) | st.integers(-900_000_000, 900_000_000)
    )
    return quarter + timedelta(microseconds=offset)


@st.composite
def spans(draw: st.DrawFn) -> Span:
    start = draw(moments())
    length = draw(
        st.sampled_from([timedelta(hours=48), timedelta(days=31), timedelta(days=1)])
        | st.timedeltas(timedelta(microseconds=1), timedelta(minutes=20))
        | st.timedeltas(timedelta(minutes=20), timedelta(days=4))
        | st.timedeltas(timedelta(days=4), timedelta(days=40))
    )
    return Span(start, start + length, draw(st.sampled_from(ZONES)))


@st.composite
def datasets(draw: st.DrawFn) -> tuple[list[Any], list[Any], list[Any]]:
    """Users, dialogs (owners: Telegram users or the console account 0) and messages."""
    users = [user(index) for index in range(1, draw(st.integers(1, 5)) + 1)]
    dialogs = [
        dialog(
            index,
            draw(moments()),
            role=draw(st.sampled_from(["consultant", "editor"])),
            mode=draw(st.sampled_from(["assistant", "insights"])),
            **(
                {"account_id": 0}
                if (owner := draw(st.integers(0, len(users)))) == 0
                else {"user_id": owner}
            ),
        )
        for index in range(1, draw(st.integers(1, 8)) + 1)
    ]
    messages = []
    waiting: set[int] = set()  # a dialog has one pending question at most
    for index in range(1, draw(st.integers(0, 40)) + 1):
        dialog_id = draw(st.integers(1, len(dialogs)))
        role = draw(st.sampled_from(["user", "assistant"]))
        status = draw(st.sampled_from(["ok", "ok", "error", "pending"]))
        if status == "pending" and (role == "assistant" or dialog_id in waiting):
            status = "ok"
        if status == "pending":
            waiting.add(dialog_id)
        messages.append(
            message(
                index,
                dialog_id,
                draw(moments()),
                role,
                status,
                error_code=draw(st.sampled_from(CODES)) if status == "error" else None,
                latency_ms=draw(FIGURES),
                ttft_ms=draw(FIGURES),
                prompt_tokens=draw(FIGURES),
                completion_tokens=draw(FIGURES),
                content=draw(st.text(TEXT, max_size=3)) * draw(st.sampled_from([1, 100])),
            )
        )
    return users, dialogs, messages


@pytest.fixture
def console(app: Flask, client: FlaskClient) -> int:
    return sign_in(app, client)


LISTINGS = st.fixed_dictionaries(
    {
        "sort": st.sampled_from(["started", "latest", "messages"]),
        "order": st.sampled_from(["asc", "desc"]),
        "page": st.integers(1, 3),
        "per_page": st.integers(1, 4),
    }
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    # Not the explain phase: it runs the failing example many times more, slowly.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
@given(data=datasets(), span=spans(), limit=st.integers(1, 6), listing=LISTINGS)
def test_every_endpoint_equals_the_reference(
    app: Flask,
    client: FlaskClient,
    console: int,
    data: tuple[list[Any], list[Any], list[Any]],
    span: Span,
    limit: int,
    listing: dict[str, Any],
) -> None:
    users, dialogs, messages = data
    owned = [{**row, "account_id": console} if row["account_id"] == 0 else row for row in dialogs]
    note(f"{span=}\n{users=}\n{owned=}\n{messages=}")
    clear(app)
    store(app, users, owned, messages)
    check(app, client, span, limits=[limit], listings=[listing])
    kept = dump_rollups(app)
    assert without_empty_rows(rebuilt_rollups(app)) == without_empty_rows(kept)
