"""`flask --app webapi migrate-db`: the stack's one-shot migration step (docker-compose.yml).

It does what `flask --app webapi db upgrade` does, once per deployment, before any api replica
serves; a failure is one line and exit status 1 (alembic's traceback would bury the cause), and
the line never shows the database URL's password.
"""

from __future__ import annotations

import click
import flask_migrate
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from webapi.database import schema_revision


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
