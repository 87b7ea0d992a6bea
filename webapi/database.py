"""The database engines: the primary for writes, and a read engine that never waits on writers.

- Writes go through `db.session` on the primary. On SQLite each write transaction takes the
  write lock up front (`BEGIN IMMEDIATE`), after queueing on a lock of this process, so that
  writers wait their turn cheaply instead of spinning in SQLite's busy handler; waiting for
  another process's writer is a short, cooperative retry (it yields under gevent).
- Reads go through `read_session()`: on SQLite a deferred, query-only transaction (WAL lets it
  read while a writer writes); on PostgreSQL read-only statements, each committing alone. Both
  cut a statement that runs longer than DATABASE_READ_TIMEOUT_S. DATABASE_READ_URL may point
  it at a replica; `read_session(fresh=True)` reads the primary, for what must see the newest
  writes.
- Long reads (the statistics) go through `long_read()`, which keeps them from stalling the
  other requests of a gevent worker on SQLite.
"""

from __future__ import annotations

import contextvars
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from webapi import MIGRATIONS_DIR
from webapi.extensions import db, migrate
from webapi.settings import ConfigError

SQLITE_READ_BUSY_TIMEOUT_MS = 5_000
WRITE_LOCK_TIMEOUT_S = 10.0
READ_ENGINE_KEY = "aidd.read_engine"
FRESH_READ_ENGINE_KEY = "aidd.fresh_read_engine"
INSIGHTS_ENGINE_KEY = "aidd.insights_engine"  # created with the Insights answerer

P = ParamSpec("P")
T = TypeVar("T")

_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


class DatabaseBusyError(Exception):
    """The write lock could not be had in time: the request may be retried."""


class QueryTimeoutError(Exception):
    """A read ran longer than DATABASE_READ_TIMEOUT_S and was cut."""


class DatabaseUnreachableError(Exception):
    """The primary database did not answer."""


# --- URLs -------------------------------------------------------------------------------------


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def resolve_sqlite_url(database_url: str, working_dir: Path) -> str:
    """A relative SQLite path means relative to the working directory (Flask-SQLAlchemy would
    take the instance folder); the file's folder is created."""
    path = sqlite_path(database_url)
    if path is None:
        return database_url
    if not path.is_absolute():
        path = working_dir / path
        database_url = make_url(database_url).set(database=str(path)).render_as_string(False)
    path.parent.mkdir(parents=True, exist_ok=True)
    return database_url


# Per serving process, as many connections as SQLAlchemy's default allows (5 + 10 overflow),
# but all of them kept: overflow connections are closed on return, so bursts of answers
# (hundreds of streams, two short transactions each) opened and closed connections
# continuously, a connect per transaction for both sides. On SQLite a new connection also
# parses the whole schema, the statistics' triggers included, before its first statement.
POOL_OPTIONS: dict[str, Any] = {"pool_size": 15, "max_overflow": 0}


def write_engine_options(database_url: str) -> dict[str, Any]:
    """Options for the primary engine (Flask-SQLAlchemy's SQLALCHEMY_ENGINE_OPTIONS)."""
    # No pre-ping: a round trip per checkout costs every request; a dropped connection is
    # invalidated when it fails, and the pool opens a new one.
    if make_url(database_url).get_backend_name() == "sqlite":
        return {"connect_args": {"factory": _SQLiteConnection}, **_sqlite_pool(database_url)}
    return dict(POOL_OPTIONS)


def _sqlite_pool(database_url: str) -> dict[str, Any]:
    # An in-memory database lives in its one connection (SQLAlchemy's own pool for it).
    return dict(POOL_OPTIONS) if sqlite_path(database_url) is not None else {}


# --- the primary: SQLite write transactions ---------------------------------------------------


class _SQLiteConnection(sqlite3.Connection):
    """A SQLite connection that lets go of this process's write lock when its transaction ends."""

    write_lock: threading.Lock | None = None

    def release_write_lock(self) -> None:
        lock, self.write_lock = self.write_lock, None
        if lock is not None:
            lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write_lock()


def _process_write_lock(database: str) -> threading.Lock:
    with _write_locks_guard:
        return _write_locks.setdefault(database, threading.Lock())


def _begin_immediate(connection: _SQLiteConnection, lock: threading.Lock) -> None:
    """Queue on this process's lock, then take SQLite's write lock, within WRITE_LOCK_TIMEOUT_S.

    busy_timeout is 0 on these connections: SQLite's busy handler would sleep inside the
    driver (blocking a gevent worker whole); this loop sleeps cooperatively instead.
    """
    deadline = time.monotonic() + WRITE_LOCK_TIMEOUT_S
    if not lock.acquire(timeout=WRITE_LOCK_TIMEOUT_S):
        raise DatabaseBusyError("this process's writers did not get a turn in time")
    delay = 0.0005
    try:
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.write_lock = lock
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    raise DatabaseBusyError("another process kept the write lock") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.02)
    except BaseException:
        lock.release()
        raise


def configure_write_engine(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, and write transactions that take the write lock up front."""
    if engine.dialect.name != "sqlite":
        return
    lock = _process_write_lock(str(engine.url.database))

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below), so the driver must not.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_READ_BUSY_TIMEOUT_MS}")
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA busy_timeout=0")  # see _begin_immediate

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer got in between; IMMEDIATE takes the lock first.
        raw: _SQLiteConnection = connection.connection.driver_connection  # type: ignore[assignment]
        _begin_immediate(raw, lock)


@contextmanager
def write_session() -> Iterator[Session]:
    """One write transaction on the primary: committed at the end, rolled back on error."""
    session: Session = db.session()
    with session.begin():
        yield session


# --- the read engine --------------------------------------------------------------------------


def create_read_engine(database_url: str, timeout_s: float) -> Engine:
    """An engine whose transactions only read, and whose statements stop after `timeout_s`."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        # Reads here are short and many: a parallel worker or a JIT compilation costs more
        # (tens of ms on a small machine) than the query it would speed up.
        options = (
            f"-c default_transaction_read_only=on -c statement_timeout={round(timeout_s * 1000)}"
            " -c jit=off -c max_parallel_workers_per_gather=0"
        )
        # Each statement its own (read-only) transaction: under READ COMMITTED a transaction
        # gives its statements no common snapshot anyway, and BEGIN and COMMIT would cost two
        # round trips a read, each a turn of a gevent worker's loop behind its streams.
        return sa.create_engine(
            url,
            connect_args={"options": options},
            isolation_level="AUTOCOMMIT",
            **POOL_OPTIONS,
        )
    engine = sa.create_engine(url, **_sqlite_pool(database_url))
    if engine.dialect.name == "sqlite":
        _configure_sqlite_reads(engine, timeout_s)
    return engine


def _configure_sqlite_reads(engine: Engine, timeout_s: float) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_READ_BUSY_TIMEOUT_MS}")
        dbapi_connection.execute("PRAGMA query_only=ON")
        info = record.info

        def past_deadline() -> int:
            deadline = info.get("deadline")
            return 1 if deadline is not None and time.monotonic() > deadline else 0

        # SQLite has no statement timeout: every few thousand VM steps, ask the clock.
        dbapi_connection.set_progress_handler(past_deadline, 5_000)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        raw: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
        raw.execute("BEGIN")

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _on_statement(connection: sa.Connection, *_args: Any) -> None:
        connection.info["deadline"] = time.monotonic() + timeout_s


def init_read_engines(app: Flask, write_url: str, read_url: str | None, timeout_s: float) -> None:
    """Create the read engines of an app (disposed with `dispose_read_engines`).

    Without DATABASE_READ_URL both read the primary; with it, fresh reads still do.
    """
    read_engine = create_read_engine(read_url or write_url, timeout_s)
    fresh = read_engine if read_url is None else create_read_engine(write_url, timeout_s)
    app.extensions[READ_ENGINE_KEY] = read_engine
    app.extensions[FRESH_READ_ENGINE_KEY] = fresh


def init_database(app: Flask, write_url: str, read_url: str | None, read_timeout_s: float) -> None:
    """The database on `app` (its config already names `write_url`): Flask-SQLAlchemy and
    Flask-Migrate, the primary's engine set up (SQLite: the write lock taken up front, WAL), and
    the read engines. The whole app and the migrate step's bare app both start so."""
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    with app.app_context():
        try:
            configure_write_engine(db.engine)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigError("DATABASE_URL", f"cannot be used ({type(exc).__name__})") from None
    init_read_engines(app, write_url, read_url, read_timeout_s)


def dispose_read_engines(app: Flask) -> None:
    for key in (READ_ENGINE_KEY, FRESH_READ_ENGINE_KEY, INSIGHTS_ENGINE_KEY):
        engine: Engine | None = app.extensions.get(key)
        if engine is not None:
            engine.dispose()


def _is_timeout(exc: DBAPIError) -> bool:
    if isinstance(exc.orig, sqlite3.OperationalError):
        return "interrupted" in str(exc.orig)
    return getattr(exc.orig, "sqlstate", None) == "57014"  # PostgreSQL: query_canceled


def single_statement_writes() -> bool:
    """Whether a write that is one statement may commit alone (autocommit_connection).

    PostgreSQL: yes, and it saves the BEGIN and COMMIT round trips. SQLite: no; its writers
    take the write lock up front, in a transaction (see _begin_immediate).
    """
    return bool(db.engine.dialect.name == "postgresql")


@contextmanager
def autocommit_connection() -> Iterator[sa.Connection]:
    """A primary connection whose statements each commit on their own (PostgreSQL only)."""
    with db.engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")
        # Committed already, statement by statement: this ends SQLAlchemy's bookkeeping of
        # the block as a commit (the driver sends nothing) rather than as a rollback.
        connection.commit()


@contextmanager
def read_session(*, fresh: bool = False) -> Iterator[Session]:
    """Reads on the read engine (the primary when `fresh`): one read-only transaction on
    SQLite; on PostgreSQL read-only statements, each its own transaction (see
    create_read_engine)."""
    engine: Engine = current_app.extensions[FRESH_READ_ENGINE_KEY if fresh else READ_ENGINE_KEY]
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except DBAPIError as exc:
        if _is_timeout(exc):
            raise QueryTimeoutError("the read took longer than DATABASE_READ_TIMEOUT_S") from None
        raise


def long_read(run: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `run` (whose reads may take tens of milliseconds) without stalling this worker.

    A gevent worker switches greenlets only where Python waits: psycopg waits cooperatively,
    but sqlite3 steps a query in C, and every stream of the worker would stop until it is
    done. sqlite3 lets go of the GIL while it steps, so on SQLite, under gevent, `run` goes to
    a native thread of gevent's pool (with this request's context) and the others go on.
    """
    engine: Engine = current_app.extensions[READ_ENGINE_KEY]
    return apart_from_streams(engine, run, *args, **kwargs)


def apart_from_streams(engine: Engine, run: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `run`, which queries `engine`, in a native thread when the engine is SQLite and
    this is a gevent worker (see long_read); else right here."""
    if engine.dialect.name != "sqlite" or not _gevent_patched():
        return run(*args, **kwargs)
    from gevent import get_hub  # only a gevent worker gets here

    context = contextvars.copy_context()
    result: T = get_hub().threadpool.apply(context.run, (run, *args), kwargs)
    return result


def _gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def migration_head(directory: str) -> str:
    """The newest migration this code knows (exactly one head, or the code is broken)."""
    heads = ScriptDirectory(directory).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have exactly one head, found {heads}")
    return heads[0]


def schema_revision() -> str | None:
    """The primary's migration revision, read without queueing behind writers."""
    try:
        with read_session(fresh=True) as session:
            connection = session.connection()
            connection.execute(sa.text("SELECT 1"))
            return MigrationContext.configure(connection).get_current_revision()
    except sa.exc.SQLAlchemyError:
        raise DatabaseUnreachableError from None
