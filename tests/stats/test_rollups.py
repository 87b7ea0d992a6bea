"""The statistics rollups stay exact, on both databases: the migration installs their triggers
and fills them from the rows already stored, every write path keeps them equal to a rebuild,
the writes they cannot follow are refused, a bulk load suspends and rebuilds them, and the
latency bins agree in Python and in SQL."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from hypothesis import given
from hypothesis import strategies as st

from tests.doubles.fake_llm import FakeLLM, Reply, Stall, Status
from tests.support import BotAPI, started_app
from webapi.domain import console_dialogs, interruptions
from webapi.domain.accounts import create_account
from webapi.domain.conversation import Completed
from webapi.extensions import db
from webapi.models import Dialog, Mode, User, UTCDateTime, utcnow
from webapi.services import services
from webapi.stats import rollups

TRIGGERS = {
    "stats_message_inserted",
    "stats_message_deleted",
    "stats_message_moved",
    "stats_message_settled",
    "stats_dialog_counted",
    "stats_dialog_guard_delete",
    "stats_dialog_guard_update",
}
DELETE_REFUSED = "delete the messages of a dialog before the dialog"
UPDATE_REFUSED = "a dialog with messages keeps its owner, channel, role and start"
ANN, BOB = 601, 602
GROUP = -1001234567890
T = datetime(2026, 11, 10, 9, tzinfo=UTC)

Dump: TypeAlias = "sa.Select[*tuple[Any, ...]]"
# The rollup tables, whatever their layout: every table of the models named stats_*.
STATS_TABLES = [table for table in db.metadata.sorted_tables if table.name.startswith("stats_")]


def _kept_rows(table: sa.Table) -> Dump:
    rows = sa.select(table).order_by(*table.primary_key.columns)
    if set(rollups.COUNTERS) <= set(table.columns.keys()):
        # A slot whose messages were all deleted keeps a row of zeros, which counts nothing:
        # a rebuild has no such row, so it is left out on both sides.
        rows = rows.where(sa.or_(*(table.c[counter] != 0 for counter in rollups.COUNTERS)))
    return rows


STATS_DUMPS = [_kept_rows(table) for table in STATS_TABLES]
DERIVED_COLUMNS: list[Dump] = [
    sa.select(Dialog.id, Dialog.message_count, Dialog.last_message_at).order_by(Dialog.id),
    sa.select(User.id, User.first_message_at).order_by(User.id),
]
DUMP_NAMES = [table.name for table in STATS_TABLES] + ["dialogs", "users"]

# The tables as every revision since 0001 has them (no derived columns: those came with 0006).
USERS = sa.table(
    "users",
    sa.column("id"),
    sa.column("telegram_id"),
    sa.column("first_seen_at", UTCDateTime()),
    sa.column("last_seen_at", UTCDateTime()),
)
ACCOUNTS = sa.table(
    "accounts",
    sa.column("id"),
    sa.column("username"),
    sa.column("password_hash"),
    sa.column("is_admin"),
    sa.column("created_at", UTCDateTime()),
)
DIALOGS = sa.table(
    "dialogs",
    sa.column("id"),
    sa.column("user_id"),
    sa.column("account_id"),
    sa.column("channel"),
    sa.column("mode"),
    sa.column("role"),
    sa.column("started_at", UTCDateTime()),
    sa.column("ended_at", UTCDateTime()),
)
MESSAGES = sa.table(
    "messages",
    sa.column("id"),
    sa.column("dialog_id"),
    sa.column("role"),
    sa.column("content"),
    sa.column("length"),
    sa.column("created_at", UTCDateTime()),
    sa.column("status"),
    sa.column("error_code"),
    sa.column("model"),
    sa.column("prompt_tokens"),
    sa.column("completion_tokens"),
    sa.column("ttft_ms"),
    sa.column("latency_ms"),
)


# --- the comparison -----------------------------------------------------------------------------


def derived(
    connection: sa.Connection, dumps: list[Dump] = STATS_DUMPS + DERIVED_COLUMNS
) -> list[list[Any]]:
    """Every derived row: the rollup tables', then the derived columns of dialogs and users."""
    return [[tuple(row) for row in connection.execute(dump)] for dump in dumps]


def kept_and_rebuilt(connection: sa.Connection) -> tuple[list[list[Any]], list[list[Any]]]:
    """The derived data as the triggers kept it, and as a rebuild computes it (rolled back)."""
    if connection.dialect.name == "postgresql":
        # No writer in between (SQLite's write transaction holds the lock already).
        connection.exec_driver_sql("LOCK TABLE users, dialogs, messages IN SHARE MODE")
    kept = derived(connection)
    rollups.rebuild(connection)
    rebuilt = derived(connection)
    connection.rollback()
    return kept, rebuilt


def assert_exact(app: Flask, step: str) -> None:
    with app.app_context(), db.engine.connect() as connection:
        kept, rebuilt = kept_and_rebuilt(connection)
    for name, mine, theirs in zip(DUMP_NAMES, kept, rebuilt, strict=True):
        assert mine == theirs, f"after {step}: {name}"


def stats_rows(app: Flask) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as connection:
        dumped = derived(connection, STATS_DUMPS)
    return {table.name: len(rows) for table, rows in zip(STATS_TABLES, dumped, strict=True)}


def scalar(app: Flask, sql: str) -> Any:
    with app.app_context(), db.engine.connect() as connection:
        return connection.exec_driver_sql(sql).scalar()


def insert(connection: sa.Connection, table: sa.TableClause, **values: Any) -> int:
    found: int = connection.execute(
        sa.insert(table).values(**values).returning(table.c.id)
    ).scalar_one()
    return found


def user(connection: sa.Connection, telegram_id: int) -> int:
    return insert(connection, USERS, telegram_id=telegram_id, first_seen_at=T, last_seen_at=T)


def dialog(connection: sa.Connection, started_at: datetime, **owner: Any) -> int:
    channel = "telegram" if "user_id" in owner else "web"
    return insert(
        connection,
        DIALOGS,
        channel=channel,
        mode="assistant",
        role="consultant",
        started_at=started_at,
        ended_at=started_at + timedelta(hours=1),
        **owner,
    )


def message(
    connection: sa.Connection,
    dialog_id: int,
    role: str,
    created_at: datetime,
    status: str = "ok",
    **figures: Any,
) -> int:
    return insert(
        connection,
        MESSAGES,
        dialog_id=dialog_id,
        role=role,
        content="text",
        length=4,
        created_at=created_at,
        status=status,
        **figures,
    )


def test_the_comparison_sees_a_wrong_rollup(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as connection:
        ann = user(connection, ANN)
        talk = dialog(connection, T, user_id=ann)
        message(connection, talk, "user", T)
        message(connection, talk, "assistant", T, latency_ms=900, ttft_ms=90)
    assert_exact(app, "one answer")
    assert len(STATS_TABLES) >= 3
    assert all(stats_rows(app).values()), "an answer shows in every rollup table"
    corruptions: list[sa.Executable] = [
        sa.update(Dialog).values(message_count=Dialog.message_count + 1),
        sa.update(Dialog).values(last_message_at=None),
        sa.update(User).values(first_message_at=None),
    ]
    for table in STATS_TABLES:  # one figure of each: its first column that is no key
        figure = next(column for column in table.columns if not column.primary_key)
        corruptions.append(sa.update(table).values({figure: sa.func.coalesce(figure, 0) + 1}))
        corruptions.append(sa.delete(table))
    for corruption in corruptions:
        with app.app_context(), db.engine.connect() as connection:
            connection.execute(corruption)
            kept, rebuilt = kept_and_rebuilt(connection)
        assert kept != rebuilt, str(corruption)
    assert_exact(app, "the corruptions, rolled back")


# --- the migration ------------------------------------------------------------------------------


def test_the_triggers_are_installed(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        assert rollups.installed(connection) == TRIGGERS


# A row's columns as the triggers read them (NEW.x, OLD.x): any value of the right kind.
SAMPLE_ROW = {
    "created_at": "'2026-11-10 09:00:00.000000'",
    "started_at": "'2026-11-10 09:00:00.000000'",
    "role": "'assistant'",
    "status": "'ok'",
    "error_code": "NULL",
    "channel": "'telegram'",
}
CONSTANT_SCANS = {"SCAN CONSTANT ROW", "SCAN u", "SCAN v"}
ROW_COLUMN = re.compile(r"\b(?:NEW|OLD)\.(\w+)")


def test_every_trigger_statement_finds_its_rows_by_key(sqlite_app: Flask) -> None:
    """A statement that reads a whole table, or all of one unit, costs a write time that grows
    with the data (a second per answer at a million messages): each must go by index to the
    few rows it touches. SQLite plans by the indexes alone here (no statistics), as at scale."""
    with sqlite_app.app_context(), db.engine.connect() as connection:
        bodies = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).all()
        steps = []
        for name, body in bodies:
            for statement in body.split(" BEGIN ", 1)[1].rsplit(" END", 1)[0].split(";"):
                if not statement.strip() or "RAISE(" in statement:
                    continue
                sql = ROW_COLUMN.sub(lambda m: SAMPLE_ROW.get(m.group(1), "1"), statement)
                plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
                steps += [(name, row[3]) for row in plan]

    assert len({name for name, _ in steps}) == 5, "every trigger that writes was read"
    # Scans only of constants: the units and the values written out in the statement (u, v).
    slow = [
        (name, step)
        for name, step in steps
        if (step.startswith("SCAN") and step not in CONSTANT_SCANS) or "(unit=?)" in step
    ]
    assert slow == []


def plant_before_rollups(connection: sa.Connection) -> dict[str, int]:
    """Rows as revision 0005 stored them: answers, failures, an interruption, a group chat, a
    console dialog, an empty dialog, and a user whose only message is older than November."""
    ann, bob, carl = (user(connection, telegram_id) for telegram_id in (ANN, BOB, 603))
    owner = insert(
        connection, ACCOUNTS, username="owner", password_hash="-", is_admin=False, created_at=T
    )
    first = dialog(connection, T, user_id=ann)
    message(connection, first, "user", T + timedelta(minutes=1))
    answer: dict[str, Any] = {"model": "m", "prompt_tokens": 10, "completion_tokens": 5}
    message(
        connection,
        first,
        "assistant",
        T + timedelta(minutes=1, seconds=2),
        latency_ms=2_000,
        ttft_ms=300,
        **answer,
    )
    message(connection, first, "user", T + timedelta(minutes=5), "error", error_code="llm_timeout")
    failure = {"error_code": "llm_timeout", "latency_ms": 60_000}
    message(connection, first, "assistant", T + timedelta(minutes=6), "error", **failure)
    group = insert(
        connection,
        DIALOGS,
        user_id=ann,
        channel="telegram",
        mode="assistant",
        role="editor",
        started_at=T + timedelta(days=1),
    )
    message(connection, group, "user", T + timedelta(days=1))
    message(connection, group, "assistant", T + timedelta(days=1, seconds=1), latency_ms=800)
    cut = dialog(connection, T + timedelta(hours=2), user_id=bob)
    message(connection, cut, "user", T + timedelta(hours=2), "error", error_code="interrupted")
    empty = dialog(connection, T + timedelta(hours=3), user_id=bob)
    web = dialog(connection, T + timedelta(hours=4), account_id=owner)
    message(connection, web, "user", T + timedelta(hours=4))
    message(connection, web, "assistant", T + timedelta(hours=4, seconds=3), latency_ms=1_500)
    old = dialog(connection, T - timedelta(days=20), user_id=carl)
    message(connection, old, "user", T - timedelta(days=20))
    return {"first": first, "group": group, "cut": cut, "empty": empty, "web": web, "old": old}


def test_upgrading_fills_the_rollups_from_the_rows_already_stored(
    database_url: str, fake_llm: FakeLLM
) -> None:
    with started_app(database_url, fake_llm.base_url) as app:
        with app.app_context():
            upgrade(revision="0005")
            with db.engine.begin() as connection:
                planted = plant_before_rollups(connection)
            upgrade()
            with db.engine.connect() as connection:
                assert rollups.installed(connection) == TRIGGERS
                found = connection.execute(sa.select(Dialog.id, Dialog.message_count))
                counts = {dialog_id: count for dialog_id, count in found}
            create_account("analyst", "analyst-password-1", is_admin=False)
        assert_exact(app, "the upgrade")
        assert {name: counts[dialog_id] for name, dialog_id in planted.items()} == {
            "first": 4,
            "group": 2,
            "cut": 1,
            "empty": 0,
            "web": 2,
            "old": 1,
        }

        client = app.test_client()
        signed_in = client.post(
            "/api/v1/auth/login", json={"username": "analyst", "password": "analyst-password-1"}
        )
        assert signed_in.status_code == 200
        november = {"from": "2026-11-01", "to": "2026-12-01"}
        overview = client.get("/api/v1/stats/overview", query_string=november).get_json()
        values = {name: figure["value"] for name, figure in overview.items() if name != "window"}
        assert values == {
            "dialogs": 4,
            "user_messages": 5,
            "assistant_messages": 3,
            "active_users": 2,
            "new_users": 2,
            "messages_per_dialog": 2.0,
        }
        performance = client.get("/api/v1/stats/performance", query_string=november).get_json()
        outcomes = ("answers", "failed", "interrupted", "cancelled", "error_rate", "tokens")
        assert {name: performance[name]["value"] for name in outcomes} == {
            "answers": 5,
            "failed": 1,
            "interrupted": 1,
            "cancelled": 0,
            "error_rate": 0.4,
            "tokens": 15,
        }
        assert performance["latency_p50_ms"]["value"] == 1_500
        listed = client.get("/api/v1/stats/dialogs", query_string=november).get_json()
        assert listed["total"] == 4
        assert {row["id"]: row["message_count"] for row in listed["dialogs"]} == {
            planted[name]: counts[planted[name]] for name in ("first", "group", "cut", "web")
        }


# --- the write paths ----------------------------------------------------------------------------


def test_every_write_path_keeps_the_rollups_exact(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(ANN, username="ann")
    bot_api.upsert(BOB, username="bob")

    assert bot_api.send(ANN, "hello").final[0] == "done"
    assert_exact(app, "an answer")
    assert all(stats_rows(app).values()), "an answer shows in every rollup table"

    fake_llm.script(Status(400))
    assert bot_api.send(ANN, "this one fails").final[0] == "error"
    assert_exact(app, "a failed answer")

    assert bot_api.reset(ANN).status_code == 200
    assert bot_api.send(ANN, "after a reset").final[0] == "done"
    assert_exact(app, "a reset")

    assert bot_api.http.put(f"/users/{BOB}/role", json={"role": "editor"}).status_code == 200
    assert bot_api.send(BOB, "as an editor").final[0] == "done"
    assert_exact(app, "a role change")

    assert bot_api.send(BOB, "in a group", chat_id=GROUP).final[0] == "done"
    assert bot_api.send(ANN, "me too", chat_id=GROUP).final[0] == "done"
    assert_exact(app, "a group chat")

    fake_llm.script(Reply("Hi, console."), Reply("word " * 100, chunk_size=5))
    with app.test_request_context():
        account_id = create_account("owner", "owner-password-1", is_admin=True).id
        conversation = services().conversation
        chat = console_dialogs.start(account_id, Mode.ASSISTANT, None, services().roles)
        *_, done = conversation.answer(conversation.ask_in_dialog(account_id, chat.id, "Hello"))
        assert isinstance(done, Completed)
        leaving = conversation.answer(conversation.ask_in_dialog(account_id, chat.id, "a story"))
        assert isinstance(leaving, Generator)
        next(leaving)
        leaving.close()  # the client went away mid-answer: cancelled
        insights = console_dialogs.start(account_id, Mode.INSIGHTS, None, services().roles)
        fake_llm.script(Reply(json.dumps({"sql": "SELECT COUNT(*) AS n FROM messages"})))
        fake_llm.script(Reply("Many."))
        *_, done = conversation.answer(
            conversation.ask_in_dialog(account_id, insights.id, "How many?")
        )
        assert isinstance(done, Completed)
        stopped = conversation.ask_in_dialog(account_id, insights.id, "And now?")
        assert conversation.stop(stopped, "Stopped by the client.")
    assert_exact(app, "console dialogs in both modes, a cancelled and a stopped answer")

    fake_llm.script(Stall(after_chunks=2, seconds=1.0))
    with bot_api.http.stream(
        "POST", f"/users/{BOB}/messages", json={"text": "a slow one"}
    ) as response:
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("event: delta"):
                break
        with app.app_context():  # as if the answer had outlived its deadline
            timeout = services().settings.LLM_TIMEOUT_S
            assert interruptions.sweep(timeout, now=utcnow() + timedelta(hours=1)) == 1
        data = [line for line in lines if line.startswith("data: ")]
    assert '"code":"interrupted"' in data[-1].replace(" ", "")
    assert_exact(app, "the sweep of an interrupted answer")
    statuses = "SELECT COUNT(*) FROM messages WHERE error_code IN ('interrupted', 'cancelled')"
    assert scalar(app, statuses) >= 2

    forgotten = bot_api.http.delete(f"/users/{ANN}/dialogs")
    assert forgotten.status_code == 200
    assert forgotten.json()["messages_deleted"] > 0
    assert_exact(app, "forgetting a user")
    first = "SELECT first_message_at FROM users WHERE telegram_id = {}"
    assert scalar(app, first.format(ANN)) is None
    assert scalar(app, first.format(BOB)) is not None

    assert bot_api.send(ANN, "back again").final[0] == "done"
    assert_exact(app, "a message after forgetting")


def test_writes_by_hand_keep_the_rollups_exact(app: Flask) -> None:
    """SQL typed by hand: settling, moving and deleting messages, one by one."""
    with app.app_context(), db.engine.begin() as connection:
        ann, bob = user(connection, ANN), user(connection, BOB)
        first = dialog(connection, T, user_id=ann)
        second = dialog(connection, T + timedelta(days=1), user_id=bob)
        question = message(connection, first, "user", T, "pending")
        answer = message(connection, first, "assistant", T + timedelta(seconds=3), latency_ms=3000)
        later = message(connection, first, "user", T + timedelta(hours=5))
        message(connection, second, "user", T + timedelta(days=1))
    assert_exact(app, "inserts")
    steps = [
        ("settling a question", "UPDATE messages SET status = 'ok' WHERE id = {question}"),
        (
            "failing it",
            "UPDATE messages SET status = 'error', error_code = 'llm_timeout'"
            " WHERE id = {question}",
        ),
        ("a new code", "UPDATE messages SET error_code = 'interrupted' WHERE id = {question}"),
        ("new figures", "UPDATE messages SET latency_ms = 25000, ttft_ms = 7 WHERE id = {answer}"),
        (
            "tokens",
            "UPDATE messages SET prompt_tokens = 4, completion_tokens = 9 WHERE id = {answer}",
        ),
        ("a message moved", "UPDATE messages SET dialog_id = {second} WHERE id = {later}"),
        ("a role swapped", "UPDATE messages SET role = 'assistant' WHERE id = {question}"),
        ("a message deleted", "DELETE FROM messages WHERE id = {answer}"),
        ("the first dialog emptied", "DELETE FROM messages WHERE dialog_id = {first}"),
        ("the first dialog deleted", "DELETE FROM dialogs WHERE id = {first}"),
    ]
    names = {"question": question, "answer": answer, "later": later}
    names |= {"first": first, "second": second}
    for step, statement in steps:
        with app.app_context(), db.engine.begin() as connection:
            connection.exec_driver_sql(statement.format(**names))
        assert_exact(app, step)
    with app.app_context(), db.engine.begin() as connection:
        moved = sa.update(MESSAGES).where(MESSAGES.c.id == later)
        connection.execute(moved.values(created_at=T + timedelta(days=3, minutes=7)))
    assert_exact(app, "a message's time changed")


# --- guards -------------------------------------------------------------------------------------


def refused(app: Flask, statement: sa.Executable, why: str) -> None:
    with (
        app.app_context(),
        pytest.raises(sa.exc.DatabaseError, match=why),
        db.engine.begin() as connection,
    ):
        connection.execute(statement)


def test_a_dialog_with_messages_keeps_its_identity(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as connection:
        ann, bob = user(connection, ANN), user(connection, BOB)
        owner = insert(
            connection, ACCOUNTS, username="owner", password_hash="-", is_admin=False, created_at=T
        )
        talk = dialog(connection, T, user_id=ann)
        message(connection, talk, "user", T)
    this = sa.update(Dialog).where(Dialog.id == talk)

    refused(app, sa.delete(Dialog).where(Dialog.id == talk), DELETE_REFUSED)
    for change in (
        {"role": "editor"},
        {"channel": "web"},
        {"user_id": bob},
        {"user_id": None, "account_id": owner},
        {"started_at": T - timedelta(days=1)},
    ):
        refused(app, this.values(**change), UPDATE_REFUSED)
    assert_exact(app, "the refusals")

    with app.app_context(), db.engine.begin() as connection:
        connection.execute(this.values(ended_at=T + timedelta(hours=2)))
    assert_exact(app, "ending the dialog")

    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.delete(MESSAGES).where(MESSAGES.c.dialog_id == talk))
        connection.execute(this.values(role="editor", user_id=bob, started_at=T))
        connection.execute(this.values(channel="web", user_id=None, account_id=owner))
    assert_exact(app, "changes once the messages are gone")
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.delete(Dialog).where(Dialog.id == talk))
    assert scalar(app, "SELECT COUNT(*) FROM dialogs") == 0
    assert_exact(app, "deleting the empty dialog")


# --- bulk loads ---------------------------------------------------------------------------------


def trigger_states(connection: sa.Connection) -> dict[str, str]:
    rows = connection.exec_driver_sql("SELECT tgname, tgenabled FROM pg_trigger")
    return {name: str(state) for name, state in rows if name in TRIGGERS}


def test_a_bulk_load_leaves_the_rollups_alone_then_rebuilds_them(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as connection:
        first = dialog(connection, T, user_id=user(connection, ANN))
        message(connection, first, "user", T)

    with app.app_context(), db.engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        before = derived(connection, STATS_DUMPS)
        with rollups.bulk_load(connection):
            if postgres:
                assert set(trigger_states(connection).values()) == {"D"}
            else:
                assert rollups.installed(connection) == set()
            bob = user(connection, BOB)
            loaded = [dialog(connection, T + timedelta(hours=h), user_id=bob) for h in range(3)]
            for number, talk in enumerate(loaded):
                message(connection, talk, "user", T + timedelta(hours=number, minutes=1))
                answered = T + timedelta(hours=number, minutes=2)
                message(connection, talk, "assistant", answered, latency_ms=100 * (number + 1))
            message(connection, first, "assistant", T + timedelta(seconds=5), latency_ms=50)
            assert derived(connection, STATS_DUMPS) == before, "nothing kept while loading"
            untouched = "SELECT COUNT(*) FROM dialogs WHERE message_count = 0"
            assert connection.exec_driver_sql(untouched).scalar() == 3
        connection.commit()

    with app.app_context(), db.engine.connect() as connection:
        assert rollups.installed(connection) == TRIGGERS
        if postgres:
            assert trigger_states(connection) == dict.fromkeys(TRIGGERS, "O")
    assert_exact(app, "a bulk load")
    with app.app_context(), db.engine.connect() as connection:
        assert derived(connection, STATS_DUMPS) != before, "the loaded rows are counted"
    assert scalar(app, "SELECT SUM(message_count) FROM dialogs") == 8

    with app.app_context(), db.engine.begin() as connection:
        message(connection, loaded[0], "user", T + timedelta(hours=9))
    assert_exact(app, "a write after the bulk load")
    assert scalar(app, "SELECT SUM(message_count) FROM dialogs") == 9


# --- latency bins -------------------------------------------------------------------------------

VALUES = st.integers(min_value=-50, max_value=10**7)


@given(VALUES)
def test_every_value_falls_in_its_bin(value: int) -> None:
    low, high = rollups.bin_bounds(rollups.bin_of(value))
    assert low is None or low <= value
    assert value < high


@given(VALUES, VALUES)
def test_bins_are_monotone(one: int, other: int) -> None:
    low, high = sorted((one, other))
    assert rollups.bin_of(low) <= rollups.bin_of(high)


def test_bins_tile_the_values() -> None:
    """Each bin starts where the one before ends, and holds its own bounds."""
    for bin_ in range(rollups.bin_of(10**7) + 1):
        low, high = rollups.bin_bounds(bin_)
        assert (low is None) == (bin_ == 0)
        assert rollups.bin_of(high - 1) == bin_
        assert rollups.bin_of(high) == bin_ + 1
        if low is not None:
            assert rollups.bin_of(low) == bin_
            assert rollups.bin_bounds(bin_ - 1)[1] == low


def sample_values() -> list[int]:
    """Values at and around every bin edge up to 200 s, and a spread of others."""
    edges = [rollups.bin_bounds(bin_)[1] for bin_ in range(rollups.bin_of(200_000))]
    around = {edge + step for edge in edges[::5] for step in (-1, 0, 1)}
    spread = random.Random(7).sample(range(10**7), 150)
    return sorted(around | set(spread) | {-7, -1, 0, 9, 10, 10**7})


def test_sql_bins_agree_with_python(database_url: str) -> None:
    values = sample_values()
    assert len(values) >= 300
    # Both databases name a VALUES list's column column1.
    literals = ", ".join(f"({value})" for value in values)
    column = "t.column1"
    query = f"SELECT {column}, {rollups.bin_sql(column)} FROM (VALUES {literals}) AS t"  # noqa: S608 (integers)
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            binned = sorted((int(v), int(b)) for v, b in connection.exec_driver_sql(query))
    finally:
        engine.dispose()
    assert binned == [(value, rollups.bin_of(value)) for value in values]
