"""Statistics kept exact on every write: the rollup tables, their triggers, and their rebuild.

What the dashboard reads at a million messages cannot be counted from the messages on each
request, so the database keeps it, in the same transaction as every write, by triggers (so
that no write path can forget it: the conversation service, the sweep of interrupted answers,
`forget`, a purge, or SQL typed by hand):

- `stats_counts`: counts per channel and role, per quarter hour, hour and day (UTC);
- `stats_users`: the Telegram users who wrote in each quarter hour, day and week;
- `stats_latency`: per hour, day and week, histograms of latency and time to first token, in
  fine and in coarse bins;
- `dialogs.message_count`, `dialogs.last_message_at`, `users.first_message_at`.

Each table holds the same figures at several units (its `unit` column, in seconds), so that a
window is read as a few whole weeks or days, the hours and quarter hours around them (quarter
hours line up with the hours and days of every time zone in use: offsets are whole quarters),
and, at its very edges, the rows themselves. One definition of what a row contributes (the
SQL below) serves the triggers, the rebuild and those edges.

Two rules keep the triggers right: a dialog's messages are deleted before the dialog (a dialog
that still has messages refuses deletion), and a dialog with messages keeps its owner, channel,
role and start. SQLite's batch migrations copy tables and lose their triggers: a migration that
rebuilds `messages` or `dialogs` must call `install` again (a test checks they are there).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from webapi.models import UTCDateTime

QUARTER_S = 900
HOUR_S = 3_600
DAY_S = 86_400
WEEK_S = 604_800  # epoch weeks (Thursday to Thursday, UTC): only ever read whole
COUNT_UNITS = (QUARTER_S, HOUR_S, DAY_S)
# Users and histograms have many rows per slot: weeks spare a month's figures most of them.
USER_UNITS = (QUARTER_S, DAY_S, WEEK_S)
LATENCY_UNITS = (HOUR_S, DAY_S, WEEK_S)
LATENCY, TTFT = 0, 1
METRIC_COLUMNS = {LATENCY: "latency_ms", TTFT: "ttft_ms"}
# Each metric's histograms again in coarse bins of COARSE_BINS bins each, as metric + COARSE: a
# percentile's coarse bin is found from a fraction of the rows, then only that bin's own rows
# are read (see figures.py).
COARSE, COARSE_BINS = 2, 8
HISTOGRAMS = {
    **{metric: (column, 1) for metric, column in METRIC_COLUMNS.items()},
    **{metric + COARSE: (column, COARSE_BINS) for metric, column in METRIC_COLUMNS.items()},
}

# Histogram bins, integer arithmetic alike on both databases: 10 ms wide below a second,
# 25 ms to 10 s, 250 ms to 100 s, 2.5 s beyond. A bin holds few enough answers that the exact
# value at a rank is then read from the messages within that one bin (see figures.py).
_BIN_STEPS = ((0, 10, 0), (1_000, 25, 100), (10_000, 250, 460), (100_000, 2_500, 820))


def bin_sql(value: str) -> str:
    """The bin of an integer column or expression, as SQL."""
    cases = " ".join(
        f"WHEN {value} < {upper} THEN {first} + ({value} - {start}) / {width}"
        for (start, width, first), (upper, _, _) in itertools.pairwise(_BIN_STEPS)
    )
    start, width, first = _BIN_STEPS[-1]
    return (
        f"(CASE WHEN {value} < 10 THEN 0 {cases} ELSE {first} + ({value} - {start}) / {width} END)"
    )


def bin_of(value: int) -> int:
    """The bin of a value, as bin_sql computes it."""
    if value < 10:
        return 0
    for start, width, first in reversed(_BIN_STEPS):
        if value >= start:
            return first + (value - start) // width
    raise AssertionError("unreachable")


def bin_bounds(bin_: int) -> tuple[int | None, int]:
    """The values of a bin: [low, high), low None for the first bin (it takes anything below)."""
    for index, (start, width, first) in enumerate(_BIN_STEPS):
        last = index + 1 == len(_BIN_STEPS)
        if last or bin_ < _BIN_STEPS[index + 1][2]:
            low = start + (bin_ - first) * width
            return (None if bin_ == 0 else low), low + width
    raise AssertionError("unreachable")


# --- what a row contributes ---------------------------------------------------------------------


def epoch_sql(dialect: str, column: str) -> str:
    """Whole seconds since 1970 of a timestamp column (stored as UTC on both databases)."""
    if dialect == "sqlite":
        # Whole seconds only: strftime rounds a fraction of a second up to the next one.
        return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"
    return f"CAST(floor(extract(epoch FROM {column})) AS BIGINT)"


COUNTERS = (
    "dialogs",
    "user_messages",
    "assistant_messages",
    "answers",
    "failed",
    "interrupted",
    "cancelled",
    "prompt_tokens",
    "completion_tokens",
)


def message_counters(m: str, sign: str = "1") -> list[str]:
    """A message row's contribution to each of COUNTERS, in order, as SQL over alias `m`.

    Answers count at the question's time, by its final status (interrupted questions have no
    answer row); delivered answers and tokens count at the answer row's time."""
    question = f"{m}.role = 'user'"
    answer = f"{m}.role = 'assistant'"
    failed = f"{question} AND {m}.status = 'error'"
    return [
        "0",
        f"CASE WHEN {question} THEN {sign} ELSE 0 END",
        f"CASE WHEN {answer} AND {m}.status = 'ok' THEN {sign} ELSE 0 END",
        f"CASE WHEN {question} AND {m}.status IN ('ok', 'error') THEN {sign} ELSE 0 END",
        f"CASE WHEN {failed} AND COALESCE({m}.error_code, '') NOT IN ('interrupted', 'cancelled')"
        f" THEN {sign} ELSE 0 END",
        f"CASE WHEN {failed} AND {m}.error_code = 'interrupted' THEN {sign} ELSE 0 END",
        f"CASE WHEN {failed} AND {m}.error_code = 'cancelled' THEN {sign} ELSE 0 END",
        f"CASE WHEN {answer} THEN {sign} * COALESCE({m}.prompt_tokens, 0) ELSE 0 END",
        f"CASE WHEN {answer} THEN {sign} * COALESCE({m}.completion_tokens, 0) ELSE 0 END",
    ]


def dialog_counters(sign: str = "1") -> list[str]:
    """A dialog's contribution (at its start, once it has a message) to each of COUNTERS."""
    return [sign] + ["0"] * (len(COUNTERS) - 1)


def _add_to(table: str, keys: tuple[str, ...], columns: tuple[str, ...]) -> str:
    sums = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in columns)
    return f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums}"


_COUNT_KEYS = ("unit", "slot", "channel", "role")
_INSERT_COUNTS = f"INSERT INTO stats_counts ({', '.join(_COUNT_KEYS + COUNTERS)})"
_ADD_COUNTS = _add_to("stats_counts", _COUNT_KEYS, COUNTERS)


def slot_sql(dialect: str, column: str, unit: int | str) -> str:
    """The unit-long slot of a timestamp column: whole units since 1970."""
    return f"{epoch_sql(dialect, column)} / {unit}"


def _message_statements(dialect: str, r: str, sign: str) -> list[str]:
    """What adding (sign 1) or removing (sign -1) message row `r` does to the derived data."""
    statements = _counted(dialect, r, sign) + _placed(dialect, r, sign)
    if sign != "1":
        statements += _drop_empty_counts(dialect, r, "created_at")
    return statements


def _table(alias: str, names: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    """Rows written out as a derived table (alike on both databases, unlike VALUES)."""
    selects = (
        "SELECT " + ", ".join(f"{value} AS {name}" for value, name in zip(row, names, strict=True))
        for row in rows
    )
    return f"({' UNION ALL '.join(selects)}) AS {alias}"


def _units(units: tuple[int, ...]) -> str:
    """The units as table `u`, column `unit`: one statement writes the row of every unit."""
    return _table("u", ("unit",), [(unit,) for unit in units])


def _only_if(dialect: str, condition: str, statements: list[str]) -> list[str]:
    """Statements that do something only for some rows: on PostgreSQL skipped as a block for the
    others (each statement of a trigger function costs tens of microseconds, even one that
    finds nothing); on SQLite each statement's own WHERE says it, at no cost worth a branch."""
    if dialect == "sqlite":
        return statements
    return [f"IF {condition} THEN {'; '.join(statements)}; END IF"]


def _counted(dialect: str, r: str, sign: str) -> list[str]:
    """The counts and histograms: all that a message's status changes."""
    return [_counts(dialect, r, message_counters(r, sign)), *_histograms(dialect, r, sign)]


def _counts(dialect: str, r: str, counters: list[str]) -> str:
    """Add `counters` (SQL, one per COUNTERS) to the count rows of row `r`'s slots."""
    return (
        f"{_INSERT_COUNTS} SELECT u.unit, {slot_sql(dialect, f'{r}.created_at', 'u.unit')},"
        f" d.channel, d.role, {', '.join(counters)}"
        f" FROM dialogs d, {_units(COUNT_UNITS)} WHERE d.id = {r}.dialog_id {_ADD_COUNTS}"
    )


def _histograms(dialect: str, r: str, sign: str) -> list[str]:
    """A delivered answer's latency and time to first token, in or out of their bins."""
    answer = f"{r}.role = 'assistant' AND {r}.status = 'ok'"
    values = _table(
        "v",
        ("metric", "value", "per"),
        [(m, f"{r}.{column}", per) for m, (column, per) in HISTOGRAMS.items()],
    )
    statements = [
        "INSERT INTO stats_latency (unit, slot, metric, bin, n)"
        f" SELECT u.unit, {slot_sql(dialect, f'{r}.created_at', 'u.unit')}, v.metric,"
        f" {bin_sql('v.value')} / v.per, {sign} FROM {_units(LATENCY_UNITS)}, {values}"
        f" WHERE {answer} AND v.value IS NOT NULL"
        f" {_add_to('stats_latency', ('unit', 'slot', 'metric', 'bin'), ('n',))}"
    ]
    if sign != "1":
        for unit in LATENCY_UNITS:
            slot = slot_sql(dialect, f"{r}.created_at", unit)
            for metric, (column, per) in HISTOGRAMS.items():
                # The one bin taken from, by its whole key (a row without the value has none).
                statements.append(
                    f"DELETE FROM stats_latency WHERE unit = {unit} AND metric = {metric}"
                    f" AND slot = {slot} AND bin = {bin_sql(f'{r}.{column}')} / {per} AND n <= 0"
                )
    return _only_if(dialect, answer, statements)


def _settled(dialect: str) -> list[str]:
    """A message whose status (or code) alone changed: its counts move by the difference, in
    one statement (slot, dialog and figures are the same), its histograms out and in."""
    moved = [
        f"({new}) - ({old})"
        for new, old in zip(message_counters("NEW"), message_counters("OLD"), strict=True)
    ]
    return [
        _counts(dialect, "NEW", moved),
        *_histograms(dialect, "OLD", "-1"),
        *_histograms(dialect, "NEW", "1"),
        # A question counts as a user message whatever its status: its rows stay.
        *_only_if(dialect, "OLD.role <> 'user'", _drop_empty_counts(dialect, "OLD", "created_at")),
    ]


def _drop_empty_counts(dialect: str, r: str, column: str) -> list[str]:
    """Count rows that fell back to all zeros go, as a rebuild would not write them."""
    empty = " AND ".join(f"{counter} = 0" for counter in COUNTERS)
    return [
        f"DELETE FROM stats_counts WHERE unit = {unit}"
        f" AND slot = {slot_sql(dialect, f'{r}.{column}', unit)} AND {empty}"
        for unit in COUNT_UNITS
    ]


def _placed(dialect: str, r: str, sign: str) -> list[str]:
    """Who wrote when, the dialog's count and latest message, the user's first message."""
    owner = f"(SELECT user_id FROM dialogs WHERE id = {r}.dialog_id)"
    question = f"{r}.role = 'user'"
    written = [
        "INSERT INTO stats_users (unit, slot, user_id, messages)"
        f" SELECT u.unit, {slot_sql(dialect, f'{r}.created_at', 'u.unit')}, d.user_id, {sign}"
        f" FROM dialogs d, {_units(USER_UNITS)}"
        f" WHERE d.id = {r}.dialog_id AND d.user_id IS NOT NULL AND {question}"
        f" {_add_to('stats_users', ('unit', 'slot', 'user_id'), ('messages',))}"
    ]
    linked: list[str] = []
    for unit in USER_UNITS:
        slot = slot_sql(dialect, f"{r}.created_at", unit)
        # The next slot the user wrote in: it follows this one now (or what preceded it).
        next_row = (
            f"unit = {unit} AND user_id = {owner} AND {question} AND slot = (SELECT MIN(n.slot)"
            f" FROM stats_users n WHERE n.unit = {unit} AND n.user_id = {owner}"
            f" AND n.slot > {slot})"
        )
        if sign == "1":
            linked += [
                f"UPDATE stats_users SET prev_slot = ({_PREVIOUS_SLOT}) WHERE unit = {unit}"
                f" AND slot = {slot} AND user_id = {owner} AND {question} AND messages = 1",
                f"UPDATE stats_users SET prev_slot = {slot} WHERE {next_row}",
            ]
        else:
            linked += [
                f"DELETE FROM stats_users WHERE unit = {unit} AND slot = {slot}"
                f" AND user_id = {owner} AND messages <= 0",
                f"UPDATE stats_users SET prev_slot = ({_PREVIOUS_SLOT}) WHERE {next_row}",
            ]
    first = (
        f"UPDATE users SET first_message_at = {r}.created_at WHERE id = {owner} AND {question}"
        f" AND (first_message_at IS NULL OR first_message_at > {r}.created_at)"
        if sign == "1"
        else f"UPDATE users SET first_message_at = ({_FIRST_MESSAGE_OF_USER})"
        f" WHERE id = {owner} AND {question} AND first_message_at = {r}.created_at"
    )
    if sign == "1":
        # Only a user's first message in a quarter hour can be first in its day or week: the
        # links between their slots change only then.
        quarter = slot_sql(dialect, f"{r}.created_at", QUARTER_S)
        linked = _only_if(
            dialect,
            f"EXISTS (SELECT 1 FROM stats_users WHERE unit = {QUARTER_S} AND slot = {quarter}"
            f" AND user_id = {owner} AND messages = 1)",
            linked,
        )
    statements = _only_if(dialect, question, [*written, *linked, first])
    if sign == "1":
        statements += [
            "UPDATE dialogs SET message_count = message_count + 1, last_message_at = CASE"
            f" WHEN last_message_at IS NULL OR last_message_at < {r}.created_at"
            f" THEN {r}.created_at ELSE last_message_at END WHERE id = {r}.dialog_id",
        ]
    else:
        statements += [
            "UPDATE dialogs SET message_count = message_count - 1, last_message_at = CASE"
            f" WHEN last_message_at > {r}.created_at THEN last_message_at"
            f" ELSE (SELECT MAX(created_at) FROM messages WHERE dialog_id = {r}.dialog_id) END"
            f" WHERE id = {r}.dialog_id",
        ]
    return statements


def _dialog_statements(dialect: str, r: str, sign: str) -> list[str]:
    """A dialog counts at its start once it has a message (sign 1), and no more without (-1)."""
    counters = ", ".join(dialog_counters(sign))
    slot = slot_sql(dialect, f"{r}.started_at", "u.unit")
    return [
        f"{_INSERT_COUNTS} SELECT u.unit, {slot}, {r}.channel, {r}.role, {counters}"
        f" FROM {_units(COUNT_UNITS)} WHERE TRUE {_ADD_COUNTS}",
        *_drop_empty_counts(dialect, r, "started_at"),
    ]


_PREVIOUS_SLOT = (
    "SELECT MAX(p.slot) FROM stats_users p WHERE p.unit = stats_users.unit"
    " AND p.user_id = stats_users.user_id AND p.slot < stats_users.slot"
)
_FIRST_MESSAGE_OF_USER = (
    "SELECT MIN(fm.created_at) FROM messages fm JOIN dialogs fd ON fd.id = fm.dialog_id"
    " WHERE fd.user_id = users.id AND fm.role = 'user'"
)

# Columns whose change moves a message's whole contribution; a change of status (or code)
# alone, the common update (a question settled), moves only the counts and the histograms.
_MESSAGE_KEYS = (
    "dialog_id",
    "role",
    "created_at",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "ttft_ms",
)
_FROZEN_DIALOG_COLUMNS = ("user_id", "account_id", "channel", "role", "started_at")
_TRIGGERS = (
    ("messages", "stats_message_inserted"),
    ("messages", "stats_message_deleted"),
    ("messages", "stats_message_moved"),
    ("messages", "stats_message_settled"),
    ("dialogs", "stats_dialog_counted"),
    ("dialogs", "stats_dialog_guard_delete"),
    ("dialogs", "stats_dialog_guard_update"),
)
DELETE_REFUSED = "delete the messages of a dialog before the dialog"
UPDATE_REFUSED = "a dialog with messages keeps its owner, channel, role and start"


def _changed(dialect: str, columns: tuple[str, ...]) -> str:
    differ = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return " OR ".join(f"NEW.{column} {differ} OLD.{column}" for column in columns)


# --- SQLite -------------------------------------------------------------------------------------


def _sqlite_ddl() -> list[str]:
    def body(*statements: str) -> str:
        return "BEGIN " + " ".join(f"{statement};" for statement in statements) + " END"

    moved = _changed("sqlite", _MESSAGE_KEYS)
    settled = _changed("sqlite", ("status", "error_code"))
    return [
        "CREATE TRIGGER stats_message_inserted AFTER INSERT ON messages "
        + body(*_message_statements("sqlite", "NEW", "1")),
        "CREATE TRIGGER stats_message_deleted AFTER DELETE ON messages "
        + body(*_message_statements("sqlite", "OLD", "-1")),
        f"CREATE TRIGGER stats_message_moved AFTER UPDATE ON messages WHEN {moved} "
        + body(
            *_message_statements("sqlite", "OLD", "-1"), *_message_statements("sqlite", "NEW", "1")
        ),
        f"CREATE TRIGGER stats_message_settled AFTER UPDATE OF status, error_code ON messages"
        f" WHEN NOT ({moved}) AND ({settled}) " + body(*_settled("sqlite")),
        "CREATE TRIGGER stats_dialog_counted AFTER UPDATE OF message_count ON dialogs"
        " WHEN (OLD.message_count > 0) <> (NEW.message_count > 0) "
        + body(
            *_dialog_statements(
                "sqlite", "NEW", "CASE WHEN NEW.message_count > 0 THEN 1 ELSE -1 END"
            )
        ),
        "CREATE TRIGGER stats_dialog_guard_delete BEFORE DELETE ON dialogs"
        f" WHEN OLD.message_count > 0 BEGIN SELECT RAISE(ABORT, '{DELETE_REFUSED}'); END",
        "CREATE TRIGGER stats_dialog_guard_update BEFORE UPDATE ON dialogs"
        f" WHEN OLD.message_count > 0 AND ({_changed('sqlite', _FROZEN_DIALOG_COLUMNS)})"
        f" BEGIN SELECT RAISE(ABORT, '{UPDATE_REFUSED}'); END",
    ]


# --- PostgreSQL ---------------------------------------------------------------------------------


def _postgres_ddl() -> list[str]:
    def function(name: str, *statements: str, returns: str = "NULL") -> str:
        body = " ".join(f"{statement};" for statement in statements)
        return (
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {body} RETURN {returns}; END $$"
        )

    def trigger(name: str, when: str, table: str, condition: str = "") -> str:
        condition = f" WHEN ({condition})" if condition else ""
        return (
            f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW{condition}"
            f" EXECUTE FUNCTION {name}()"
        )

    moved = _changed("postgresql", _MESSAGE_KEYS)
    settled = _changed("postgresql", ("status", "error_code"))
    counted = "CASE WHEN NEW.message_count > 0 THEN 1 ELSE -1 END"
    return [
        function("stats_message_inserted", *_message_statements("postgresql", "NEW", "1")),
        trigger("stats_message_inserted", "AFTER INSERT", "messages"),
        function("stats_message_deleted", *_message_statements("postgresql", "OLD", "-1")),
        trigger("stats_message_deleted", "AFTER DELETE", "messages"),
        function(
            "stats_message_moved",
            *_message_statements("postgresql", "OLD", "-1"),
            *_message_statements("postgresql", "NEW", "1"),
        ),
        trigger("stats_message_moved", "AFTER UPDATE", "messages", moved),
        function("stats_message_settled", *_settled("postgresql")),
        trigger(
            "stats_message_settled",
            "AFTER UPDATE OF status, error_code",
            "messages",
            f"NOT ({moved}) AND ({settled})",
        ),
        function("stats_dialog_counted", *_dialog_statements("postgresql", "NEW", counted)),
        trigger(
            "stats_dialog_counted",
            "AFTER UPDATE OF message_count",
            "dialogs",
            "(OLD.message_count > 0) <> (NEW.message_count > 0)",
        ),
        function(
            "stats_dialog_guard_delete",
            f"RAISE EXCEPTION '{DELETE_REFUSED}'",
            returns="OLD",
        ),
        trigger("stats_dialog_guard_delete", "BEFORE DELETE", "dialogs", "OLD.message_count > 0"),
        function(
            "stats_dialog_guard_update",
            f"RAISE EXCEPTION '{UPDATE_REFUSED}'",
            returns="NEW",
        ),
        trigger(
            "stats_dialog_guard_update",
            "BEFORE UPDATE",
            "dialogs",
            f"OLD.message_count > 0 AND ({_changed('postgresql', _FROZEN_DIALOG_COLUMNS)})",
        ),
    ]


# --- install, suspend, rebuild ------------------------------------------------------------------


def install(connection: sa.Connection) -> None:
    """Create the triggers (a migration, or the end of a bulk load)."""
    dialect = connection.dialect.name
    for statement in _sqlite_ddl() if dialect == "sqlite" else _postgres_ddl():
        connection.exec_driver_sql(statement)


def uninstall(connection: sa.Connection) -> None:
    """Drop the triggers (and on PostgreSQL their functions)."""
    for table, name in _TRIGGERS:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        else:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")


def installed(connection: sa.Connection) -> set[str]:
    """The statistics triggers the database has."""
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    names = set(connection.exec_driver_sql(query).scalars())
    return names & {name for _, name in _TRIGGERS}


@contextmanager
def bulk_load(connection: sa.Connection) -> Iterator[None]:
    """Within the caller's transaction: writes inside do not maintain the statistics, which are
    rebuilt from all rows at the end (the seeding of demo data). Other writers wait until the
    transaction ends (so that the rebuild sees every row); readers do not."""
    with suspended(connection):
        yield
        rebuild(connection)


@contextmanager
def suspended(connection: sa.Connection) -> Iterator[None]:
    """Within the caller's transaction, the triggers are off; the caller puts the derived data
    right before the block ends."""
    if connection.dialect.name == "sqlite":
        # The caller's transaction holds SQLite's write lock already; DDL is transactional.
        uninstall(connection)
        yield
        install(connection)
        return
    # Disabling (unlike dropping) a trigger locks out writers only, not readers.
    _switch_triggers(connection, "DISABLE")
    yield
    _switch_triggers(connection, "ENABLE")


def _switch_triggers(connection: sa.Connection, switch: str) -> None:
    for table, name in _TRIGGERS:
        connection.exec_driver_sql(f"ALTER TABLE {table} {switch} TRIGGER {name}")


def rebuild(connection: sa.Connection) -> None:
    """Compute every derived figure again from users, dialogs and messages."""
    run = connection.exec_driver_sql
    run(
        "UPDATE dialogs SET message_count = 0, last_message_at = NULL"
        " WHERE message_count <> 0 OR last_message_at IS NOT NULL"
    )
    run(
        "UPDATE dialogs SET message_count = agg.n, last_message_at = agg.latest FROM"
        " (SELECT dialog_id, COUNT(*) AS n, MAX(created_at) AS latest FROM messages"
        " GROUP BY dialog_id) AS agg WHERE agg.dialog_id = dialogs.id"
    )
    run("UPDATE users SET first_message_at = NULL WHERE first_message_at IS NOT NULL")
    run(
        "UPDATE users SET first_message_at = agg.first FROM"
        " (SELECT d.user_id, MIN(m.created_at) AS first FROM messages m"
        " JOIN dialogs d ON d.id = m.dialog_id WHERE m.role = 'user' AND d.user_id IS NOT NULL"
        " GROUP BY d.user_id) AS agg WHERE agg.user_id = users.id"
    )
    rebuild_rollups(connection)


def rebuild_rollups(connection: sa.Connection, before: datetime | None = None) -> None:
    """Compute the rollup tables again from the rows: all of them, or, after rows older than
    `before` went, the slots up to the one that holds it (at every unit)."""
    dialect = connection.dialect.name
    for unit in sorted(set(COUNT_UNITS + USER_UNITS + LATENCY_UNITS)):
        slots = messages = started = "1 = 1"
        bounds: dict[str, datetime] = {}
        if before is not None:
            last = math.floor(before.timestamp() / unit)
            slots = f"slot <= {last}"
            bounds["slots_end"] = datetime.fromtimestamp((last + 1) * unit, UTC)
            messages, started = "m.created_at < :slots_end", "d.started_at < :slots_end"

        def run(sql: str, bounds: dict[str, datetime] = bounds) -> None:
            used = [name for name in bounds if f":{name}" in sql]
            statement = sa.text(sql).bindparams(
                *(sa.bindparam(name, bounds[name], type_=UTCDateTime()) for name in used)
            )
            connection.execute(statement)

        if unit in COUNT_UNITS:
            run(f"DELETE FROM stats_counts WHERE unit = {unit} AND {slots}")
            run(
                f"{_INSERT_COUNTS} SELECT {unit}, slot, channel, role, "
                + ", ".join(f"SUM({counter})" for counter in COUNTERS)
                + f" FROM ({count_rows_sql(dialect, unit, messages)} UNION ALL"
                f" {dialog_count_rows_sql(dialect, unit, started)}) AS contributions"
                " GROUP BY slot, channel, role"
            )
        if unit in USER_UNITS:
            run(f"DELETE FROM stats_users WHERE unit = {unit} AND {slots}")
            run(
                "INSERT INTO stats_users (unit, slot, user_id, messages, prev_slot)"
                f" SELECT {unit}, slot, user_id, n,"
                " LAG(slot) OVER (PARTITION BY user_id ORDER BY slot) FROM (SELECT slot,"
                f" user_id, COUNT(*) AS n FROM ({user_rows_sql(dialect, unit, messages)})"
                " AS active GROUP BY slot, user_id) AS per_slot"
            )
            if before is not None:
                # A user's first slot after those rebuilt had its predecessor among them.
                run(
                    f"UPDATE stats_users SET prev_slot = ({_PREVIOUS_SLOT}) WHERE unit = {unit}"
                    f" AND slot > {last} AND prev_slot <= {last}"
                )
        if unit in LATENCY_UNITS:
            run(f"DELETE FROM stats_latency WHERE unit = {unit} AND {slots}")
            for metric in METRIC_COLUMNS:
                run(
                    "INSERT INTO stats_latency (unit, slot, metric, bin, n)"
                    f" SELECT {unit}, slot, {metric}, bin, COUNT(*)"
                    f" FROM ({histogram_rows_sql(dialect, unit, metric, messages)}) AS answers"
                    " GROUP BY slot, bin"
                )
                # The coarse bins from the fine ones just written, not from the rows again.
                run(
                    "INSERT INTO stats_latency (unit, slot, metric, bin, n)"
                    f" SELECT unit, slot, {metric + COARSE}, bin / {COARSE_BINS}, SUM(n)"
                    f" FROM stats_latency WHERE unit = {unit} AND metric = {metric} AND {slots}"
                    f" GROUP BY unit, slot, bin / {COARSE_BINS}"
                )


# --- raw contributions, for the rebuild and for the edges of a window ------------------------
# Each takes a condition on the messages (alias m) or dialogs (alias d).


def count_rows_sql(dialect: str, unit: int, where: str = "1 = 1") -> str:
    """Messages' contributions to stats_counts: (slot, channel, role, *COUNTERS) each."""
    counters = ", ".join(
        f"{sql} AS {name}" for sql, name in zip(message_counters("m"), COUNTERS, strict=True)
    )
    return (
        f"SELECT {slot_sql(dialect, 'm.created_at', unit)} AS slot, d.channel AS channel,"
        f" d.role AS role, {counters} FROM messages m JOIN dialogs d ON d.id = m.dialog_id"
        f" WHERE {where}"
    )


def dialog_count_rows_sql(dialect: str, unit: int, where: str = "1 = 1") -> str:
    """Dialogs' contributions to stats_counts: 1 at the start of each dialog with a message."""
    counters = ", ".join(
        f"{sql} AS {name}" for sql, name in zip(dialog_counters(), COUNTERS, strict=True)
    )
    return (
        f"SELECT {slot_sql(dialect, 'd.started_at', unit)} AS slot, d.channel AS channel,"
        f" d.role AS role, {counters} FROM dialogs d"
        f" WHERE EXISTS (SELECT 1 FROM messages e WHERE e.dialog_id = d.id) AND {where}"
    )


def user_rows_sql(dialect: str, unit: int, where: str = "1 = 1") -> str:
    """Telegram users' messages, one row each: (slot, user_id, created_at)."""
    return (
        f"SELECT {slot_sql(dialect, 'm.created_at', unit)} AS slot, d.user_id AS user_id,"
        " m.created_at AS created_at FROM messages m JOIN dialogs d ON d.id = m.dialog_id"
        f" WHERE m.role = 'user' AND d.user_id IS NOT NULL AND {where}"
    )


def histogram_rows_sql(dialect: str, unit: int, metric: int, where: str = "1 = 1") -> str:
    """Delivered answers' values of a metric, one row each: (slot, bin, value)."""
    column = f"m.{METRIC_COLUMNS[metric]}"
    return (
        f"SELECT {slot_sql(dialect, 'm.created_at', unit)} AS slot, {bin_sql(column)} AS bin,"
        f" {column} AS value FROM messages m"
        f" WHERE m.role = 'assistant' AND m.status = 'ok' AND {column} IS NOT NULL AND {where}"
    )
