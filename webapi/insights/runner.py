"""Insights queries run here: on a connection that cannot write and cannot read outside the
allow-list even if the guard let something through, within a time limit, rows capped.

- SQLite: the file opened read-only (`mode=ro`), `query_only`, and an authorizer that lets a
  statement read the allowed tables and call the allowed functions only; the time limit is a
  progress handler that interrupts the query.
- PostgreSQL: read-only transactions with a statement timeout, as INSIGHTS_DATABASE_URL's
  role when it names one (a role that may read users, dialogs and messages only: README).
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from webapi.database import sqlite_path
from webapi.insights.guard import MAX_ROWS, TABLES, words

MAX_CELL_CHARS = 1_000  # a longer text value is cut: rows are shown, stored and summarised

# What the SQLite authorizer lets a statement call: the builtins the guard's functions are
# written as (sqlglot prints some under other names), all pure functions of their arguments.
SQLITE_FUNCTIONS = words(
    """
    count sum total avg min max group_concat string_agg row_number rank dense_rank
    percent_rank cume_dist ntile lag lead first_value last_value nth_value
    coalesce ifnull nullif iif abs round ceil ceiling floor ln log log10 log2 exp pow power
    sqrt sign mod lower upper length trim ltrim rtrim substr substring replace instr
    concat concat_ws reverse date time datetime julianday strftime unixepoch typeof like
    glob
    """
)


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]  # JSON values: numbers, text (cut), booleans, null
    truncated: bool  # more rows than were kept


class QueryFailedError(Exception):
    """The database refused the query; the message is the database's (for the model)."""


class QueryTimedOutError(QueryFailedError):
    """The query ran past the time limit and was stopped."""


def create_insights_engine(database_url: str, timeout_s: float) -> Engine:
    """The engine Insights queries run on (`database_url`: INSIGHTS_DATABASE_URL, or the
    read engine's URL)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        options = (
            "-c default_transaction_read_only=on"
            f" -c statement_timeout={max(1, round(timeout_s * 1000))}"
            " -c jit=off -c max_parallel_workers_per_gather=0"
            # Dates and hours in UTC, as the schema tells the model, whatever the server's zone.
            " -c timezone=UTC"
        )
        return sa.create_engine(
            url,
            connect_args={"options": options},
            pool_size=2,
            max_overflow=3,
            execution_options={"postgresql_readonly": True},
        )
    path = sqlite_path(database_url)
    if path is None:
        raise ValueError("Insights on SQLite needs a database file (mode=ro opens the file)")
    engine = sa.create_engine(
        f"sqlite:///file:{path.resolve()}?mode=ro&uri=true", poolclass=NullPool
    )
    _configure_sqlite(engine, timeout_s)
    return engine


def _configure_sqlite(engine: Engine, timeout_s: float) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA query_only=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=1000")
        stored = {
            name.lower()
            for (name,) in dbapi_connection.execute(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')"
            )
        }
        dbapi_connection.set_authorizer(_authorizer(stored - set(TABLES)))

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _on_statement(connection: sa.Connection, *_args: Any) -> None:
        deadline = time.monotonic() + timeout_s
        raw: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
        # Every few thousand steps of SQLite's VM, ask the clock: non-zero interrupts.
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 2_000)


def _authorizer(forbidden: set[str]) -> Callable[..., int]:
    """What SQLite asks about every table, column and function a statement would touch: reads
    of any table but the `forbidden` ones (and SQLite's own), the allowed functions, nothing
    else (no writes, no PRAGMA, no ATTACH, no transactions)."""

    def authorize(action: int, first: str | None, second: str | None, *_: Any) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            # A table of the query's own (a CTE) is read under its name, or under none.
            name = (first or "").lower()
            if name in forbidden or name.startswith("sqlite_"):
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and second is not None:
            allowed = second.lower() in SQLITE_FUNCTIONS
            return sqlite3.SQLITE_OK if allowed else sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_DENY

    return authorize


def run_query(engine: Engine, sql: str, max_rows: int = MAX_ROWS) -> QueryResult:
    """Run guarded SQL (guard_sql's output) and keep at most `max_rows` rows."""
    try:
        # SQLite: one statement is its own read transaction (the authorizer refuses BEGIN).
        with engine.connect() as connection:
            try:
                result = connection.exec_driver_sql(_escaped(sql, connection))
                if not result.returns_rows:
                    raise QueryFailedError("the statement is no query: it returned no rows")
                columns = list(result.keys())
                fetched = result.fetchmany(max_rows + 1)
            finally:
                connection.rollback()
    except DBAPIError as exc:
        message = _database_message(exc)
        if _timed_out(exc):
            raise QueryTimedOutError(message) from None
        raise QueryFailedError(message) from None
    return QueryResult(
        columns=columns,
        rows=[[json_value(value) for value in row] for row in fetched[:max_rows]],
        truncated=len(fetched) > max_rows,
    )


def _escaped(sql: str, connection: sa.Connection) -> str:
    # exec_driver_sql hands the text to the driver as is; psycopg reads % as a placeholder.
    return sql.replace("%", "%%") if connection.dialect.name == "postgresql" else sql


def _timed_out(exc: DBAPIError) -> bool:
    if isinstance(exc.orig, sqlite3.OperationalError):
        return "interrupted" in str(exc.orig)
    return getattr(exc.orig, "sqlstate", None) == "57014"  # PostgreSQL: query_canceled


def _database_message(exc: DBAPIError) -> str:
    """The database's own words, first line only (no SQL echoed, no driver details)."""
    text = str(exc.orig).strip().splitlines()
    return text[0][:500] if text else type(exc.orig).__name__


def json_value(value: Any) -> Any:
    """A database value as JSON can carry it: text cut, no NaN, times as ISO text."""
    if value is None or isinstance(value, bool | int | str):
        return value[:MAX_CELL_CHARS] if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None  # JSON has no NaN
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | clock):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    return str(value)[:MAX_CELL_CHARS]
