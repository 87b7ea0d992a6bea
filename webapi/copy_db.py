"""`flask --app webapi copy-db --to URL`: copy every row of the app's database into another one,
e.g. from the SQLite file to PostgreSQL, so that an owner can switch with the data kept.

1. The source (DATABASE_URL) must be at the migration head, and the target must hold no rows
   (`--replace` deletes the rows it holds, in the same transaction as the copy).
2. The target is migrated to the head (Flask-Migrate's upgrade, on the target's URL).
3. One transaction on the target: the tables of the models' metadata, in dependency order, each
   read from one snapshot of the source in batches of its primary key's order (a million
   messages are never in memory at once) and inserted as they are, derived columns and the
   statistics' rollups included, with the statistics' triggers off (the copied rollups are
   already exact); then PostgreSQL's sequences move past the copied ids, and the target's row
   counts are checked against the source's. Any failure rolls the whole copy back: the target
   is left migrated and empty.

A URL is only ever shown with its password masked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.migration import MigrationContext
from alembic.util import CommandError
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError

from webapi import MIGRATIONS_DIR
from webapi.database import configure_write_engine, resolve_sqlite_url, write_engine_options
from webapi.extensions import db, migrate
from webapi.stats import rollups

BATCH_ROWS = 5_000
PROGRESS_EVERY_S = 5.0


class CopyRefused(click.ClickException):
    """The copy cannot start or did not finish: one line, and nothing written to the target."""

    def format_message(self) -> str:
        return f"copy-db: {self.message}"


def masked(url: str | URL) -> str:
    """The URL as it may be shown: its password, if any, as ***."""
    return make_url(url).render_as_string(hide_password=True)


def tables() -> list[sa.Table]:
    """Every table of the models, parents before children."""
    return list(db.metadata.sorted_tables)


def _first_line(exc: BaseException) -> str:
    """What a driver said, in one line, without SQLAlchemy's statement and parameters."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- engines ------------------------------------------------------------------------------------


def target_url(value: str) -> str:
    """The --to URL, checked and with a relative SQLite path made absolute (as the app does)."""
    try:
        dialect = make_url(value).get_dialect()
        dialect.import_dbapi()
    except (ArgumentError, ImportError, ValueError):
        raise CopyRefused(
            "--to is not a usable SQLAlchemy database URL (e.g. postgresql+psycopg://USER:"
            "PASSWORD@HOST:5432/NAME)"
        ) from None
    return resolve_sqlite_url(value, Path.cwd())


def snapshot_engine(url: str) -> Engine:
    """An engine whose transactions read one consistent snapshot and write nothing."""
    if make_url(url).get_backend_name() != "sqlite":
        return sa.create_engine(url, poolclass=sa.NullPool).execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    engine = sa.create_engine(url, poolclass=sa.NullPool)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # BEGIN is ours (below): a real transaction
        dbapi_connection.execute("PRAGMA query_only=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=10000")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Deferred: the snapshot is taken at the first read, and writers go on meanwhile (WAL).
        connection.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def target_app(url: str) -> Iterator[Flask]:
    """A bare Flask app whose database is the target: Flask-Migrate's upgrade and the copy's
    transaction run on its engine, set up as the app's own (SQLite: a transaction that takes
    the write lock up front, foreign keys on). No first admin, no sweeper: nothing but the
    schema is written to the target before the copy."""
    app = Flask("webapi.copy_db")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=write_engine_options(url)
    )
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    with app.app_context():
        configure_write_engine(db.engine)
        try:
            yield app
        finally:
            db.engine.dispose()


# --- checks -------------------------------------------------------------------------------------


def revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def row_counts(connection: sa.Connection, only: Sequence[sa.Table]) -> dict[str, int]:
    return {
        table.name: int(
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        )
        for table in only
    }


def tables_with_rows(connection: sa.Connection) -> list[str]:
    """The models' tables that exist in the database and hold a row."""
    present = set(sa.inspect(connection).get_table_names())
    return [
        table.name
        for table in tables()
        if table.name in present
        and connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
    ]


def refuse_data(found: list[str], target: str) -> CopyRefused:
    return CopyRefused(
        f"the target {masked(target)} already holds data (in {', '.join(found)}); nothing was"
        " written. Copy into an empty database, or pass --replace to delete its rows first"
    )


# --- copying ------------------------------------------------------------------------------------


def _select(table: sa.Table) -> sa.Select[Any]:
    """The table's rows in primary key order; JSON columns as their text, so that SQL NULL and
    JSON null stay apart (each driver would turn both into None)."""
    columns = [
        sa.cast(column, sa.Text).label(column.key) if isinstance(column.type, sa.JSON) else column
        for column in table.columns
    ]
    return sa.select(*columns).order_by(*table.primary_key.columns)


def _insert(table: sa.Table, dialect: str) -> sa.Insert:
    """An INSERT of the table's rows as _select reads them."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if isinstance(column.type, sa.JSON):
            text = sa.bindparam(column.key, type_=sa.Text())
            # PostgreSQL takes the text as json; SQLite keeps JSON as text anyway.
            values[column.key] = sa.cast(text, column.type) if dialect == "postgresql" else text
    return sa.insert(table).values(values) if values else sa.insert(table)


def _postgres_copy(
    target: sa.Connection, table: sa.Table
) -> Callable[[Sequence[sa.Row[Any]]], None]:
    """PostgreSQL: a batch goes in with COPY (several times faster than INSERTs), inside the
    target's transaction, each value as the column's type would bind it."""
    dialect = target.dialect
    quote = dialect.identifier_preparer.quote
    processors = [
        None
        if isinstance(column.type, sa.JSON)  # read as text: COPY takes it as json
        else column.type.dialect_impl(dialect).bind_processor(dialect)
        for column in table.columns
    ]
    names = ", ".join(quote(column.name) for column in table.columns)
    statement = f"COPY {quote(table.name)} ({names}) FROM STDIN"
    driver: Any = target.connection.driver_connection

    def copy(batch: Sequence[sa.Row[Any]]) -> None:
        with driver.cursor() as cursor, cursor.copy(statement) as copying:
            for row in batch:
                copying.write_row(
                    [
                        value if process is None or value is None else process(value)
                        for process, value in zip(processors, row, strict=True)
                    ]
                )

    return copy


def copy_table(
    source: sa.Connection, target: sa.Connection, table: sa.Table, total: int, batch_rows: int
) -> int:
    """Copy one table's rows in batches; how many were copied."""
    insert = _insert(table, target.dialect.name)
    copy = _postgres_copy(target, table) if target.dialect.name == "postgresql" else None
    copied, began, shown = 0, time.monotonic(), time.monotonic()
    click.echo(f"copying {table.name}: {total:,} rows")
    result = source.execution_options(yield_per=batch_rows).execute(_select(table))
    for batch in result.partitions():
        try:
            if copy is not None:
                copy(batch)
            else:
                target.execute(insert, [dict(row._mapping) for row in batch])
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
            raise CopyRefused(
                f"the target refused a row of {table.name} ({_first_line(exc)}); the copy was"
                " rolled back, the target holds no copied row"
            ) from None
        copied += len(batch)
        if time.monotonic() - shown >= PROGRESS_EVERY_S and copied < total:
            shown = time.monotonic()
            rate = copied / max(shown - began, 1e-6)
            click.echo(f"  {table.name}: {copied:,} of {total:,} ({rate:,.0f} rows/s)")
    return copied


def reset_sequences(target: sa.Connection) -> None:
    """PostgreSQL: every serial or identity column's sequence goes on after the copied ids."""
    if target.dialect.name != "postgresql":
        return  # SQLite gives a new row the largest rowid + 1
    quote = target.dialect.identifier_preparer.quote
    for table in tables():
        for column in table.primary_key.columns:
            sequence = target.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": quote(table.name), "column": column.name},
            ).scalar()
            if sequence is None:
                continue
            # The next id is one past the largest copied (1 for an empty table).
            following = sa.func.coalesce(sa.func.max(column), 0) + 1
            target.execute(
                sa.select(
                    sa.func.setval(sa.cast(sa.literal(sequence), REGCLASS), following, False)
                ).select_from(table)
            )


def copy_database(
    source_url: str, destination: str, *, replace: bool, batch_rows: int = BATCH_ROWS
) -> dict[str, int]:
    """Copy every row of `source_url` into `destination` (both resolved URLs); the count per
    table. Raises CopyRefused, with nothing written but the target's schema, on any failure."""
    head = current_app.config["MIGRATION_HEAD"]
    if make_url(source_url) == make_url(destination):
        raise CopyRefused("--to names the app's own database (DATABASE_URL)")
    source_engine = snapshot_engine(source_url)
    try:
        with source_engine.begin() as source:
            at = revision(source)
            if at != head:
                raise CopyRefused(
                    f"the source {masked(source_url)} is at migration {at or 'none'}, not at the"
                    f" head ({head}): run `flask --app webapi db upgrade` on it first; nothing"
                    " was written"
                )
            with target_app(destination):
                return _copy_into_target(source, destination, head, replace, batch_rows)
    except sa.exc.SQLAlchemyError as exc:
        raise CopyRefused(
            f"{_first_line(exc)}; the copy was rolled back, the target holds no copied row"
        ) from None
    finally:
        source_engine.dispose()


def _copy_into_target(
    source: sa.Connection, destination: str, head: str, replace: bool, batch_rows: int
) -> dict[str, int]:
    """Within target_app(destination): check it, migrate it, copy into it in one transaction."""
    try:
        with db.engine.connect() as target:
            found = tables_with_rows(target)
            at = revision(target)
    except sa.exc.OperationalError as exc:
        raise CopyRefused(
            f"cannot reach the target {masked(destination)}: {_first_line(exc)}"
        ) from None
    if found and not replace:
        raise refuse_data(found, destination)
    click.echo(f"migrating the target {masked(destination)} to {head} (it is at {at or 'none'})")
    try:
        command.upgrade(migrate.get_config(), "head")
    except CommandError as exc:
        raise CopyRefused(f"the target cannot be migrated: {exc}") from None
    expected = row_counts(source, tables())
    copied: dict[str, int] = {}
    with db.engine.begin() as target:
        found = tables_with_rows(target)  # again, now that the target is locked for writes
        if found and not replace:
            raise refuse_data(found, destination)
        with rollups.suspended(target):
            for table in reversed(tables()):
                if table.name in found:
                    deleted = target.execute(sa.delete(table)).rowcount
                    click.echo(f"deleted {deleted:,} rows of {table.name} from the target")
            for table in tables():
                copied[table.name] = copy_table(
                    source, target, table, expected[table.name], batch_rows
                )
        reset_sequences(target)
        counted = row_counts(target, tables())
        wrong = [name for name in expected if counted[name] != expected[name]]
        if wrong:
            details = ", ".join(f"{name} {counted[name]:,} of {expected[name]:,}" for name in wrong)
            raise CopyRefused(
                f"row counts differ after the copy ({details}); the copy was rolled back"
            )
    return copied


@click.command("copy-db")
@click.option(
    "--to",
    "to",
    metavar="URL",
    required=True,
    help="The target database's SQLAlchemy URL, e.g. postgresql+psycopg://USER:PASSWORD@HOST/NAME.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Delete the rows the target holds first (in the copy's transaction).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=100_000),
    default=BATCH_ROWS,
    show_default=True,
    help="Rows read and written at a time.",
)
@with_appcontext
def copy_db_command(to: str, replace: bool, batch_size: int) -> None:
    """Copy every row of the app's database (DATABASE_URL) into the empty database at --to,
    migrated to the head first: e.g. from the SQLite file to PostgreSQL."""
    began = time.monotonic()
    source_url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    destination = target_url(to)
    click.echo(f"copying {masked(source_url)} into {masked(destination)}")
    copied = copy_database(source_url, destination, replace=replace, batch_rows=batch_size)
    width = max(len(name) for name in copied)
    click.echo(f"copied in {time.monotonic() - began:.1f} s; rows per table (source = target):")
    for name, count in copied.items():
        click.echo(f"  {name:<{width}}  {count:>12,}")
