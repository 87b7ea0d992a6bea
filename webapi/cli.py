"""Flask CLI commands (`flask --app webapi ...`): create-admin, migrate-db, seed-demo, purge,
stats-rebuild, copy-db."""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import with_appcontext

from webapi.copy_db import copy_db_command
from webapi.domain.accounts import create_account
from webapi.migrate_db import migrate_db_command
from webapi.settings import read_secret_files
from webapi.stats.demo import seed_demo_command
from webapi.stats.retention import purge_command, stats_rebuild_command


@click.command("create-admin")
@click.argument("name")
@with_appcontext
def create_admin_command(name: str) -> None:
    """Create a console admin NAME; the password comes from ADMIN_PASSWORD (or the file
    ADMIN_PASSWORD_FILE names) or a prompt."""
    password = (
        os.environ.get("ADMIN_PASSWORD")
        or read_secret_files(("ADMIN_PASSWORD",), os.environ, {}).get("ADMIN_PASSWORD")
        or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    try:
        create_account(name, password, is_admin=True)
    except ValueError as exc:  # AccountExistsError included
        raise click.ClickException(str(exc)) from None
    click.echo(f"created admin account '{name}'")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin_command)
    app.cli.add_command(migrate_db_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(purge_command)
    app.cli.add_command(stats_rebuild_command)
    app.cli.add_command(copy_db_command)
