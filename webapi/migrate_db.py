"""`flask --app webapi migrate-db`: the stack's one-shot migration step (docker-compose.yml).

It does what `flask --app webapi db upgrade` does, once per deployment, before any api replica
serves; a failure is one line and exit status 1 (alembic's traceback would bury the cause), and
the line never shows the database URL's password.

`flask --app webapi.migrate_db migrate-db` runs the same command on this module's bare app
(create_app): the database and Flask-Migrate, without the API, the LLM client or Insights,
which take a few seconds to import and build. The stack runs it so: every api replica waits
for this step.
"""

from __future__ import annotations

from pathlib import Path

import click
import flask_migrate
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapi.database import (
    init_database,
    resolve_sqlite_url,
    schema_revision,
    write_engine_options,
)
from webapi.settings import load_settings


@click.command("migrate-db")
@with_appcontext
def migrate_db_command() -> None:
    """Bring the database to the newest schema: `db upgrade` with a one-line failure."""
    url = sa.make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    database = url.render_as_string(hide_password=True)
    try:
        flask_migrate.upgrade()
        revision = schema_revision()
    except Exception as exc:  # any failure is this one line, not a traceback
        cause = next(iter(str(exc).strip().splitlines()), "") or type(exc).__name__
        raise click.ClickException(f"{database} could not be migrated: {cause}") from None
    click.echo(f"{database} is at revision {revision}")


def create_app() -> Flask:
    """A bare app for migrate-db: the primary database as the whole app sets it up (SQLite: the
    write lock taken up front, WAL), Flask-Migrate, and this command."""
    settings = load_settings()
    url = resolve_sqlite_url(settings.DATABASE_URL, Path.cwd())
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=write_engine_options(url)
    )
    # schema_revision() reads the primary through the app's fresh-read engine.
    init_database(app, url, None, settings.DATABASE_READ_TIMEOUT_S)
    app.cli.add_command(migrate_db_command)
    return app
