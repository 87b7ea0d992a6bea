"""Flask CLI commands: `flask --app webapi create-admin NAME`."""

from __future__ import annotations

import os

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import with_appcontext

from webapi.extensions import db
from webapi.models import Account

MIN_PASSWORD_LENGTH = 8
MAX_USERNAME_LENGTH = 64


def create_account(username: str, password: str, *, is_admin: bool) -> Account:
    """Add an account (the caller commits)."""
    if not 1 <= len(username.strip()) <= MAX_USERNAME_LENGTH or username != username.strip():
        raise ValueError(
            f"the name must have 1 to {MAX_USERNAME_LENGTH} characters, no outer spaces"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    account = Account(username=username, is_admin=is_admin)
    account.set_password(password)
    db.session.add(account)
    return account


def ensure_first_admin(username: str | None, password: str | None) -> bool:
    """Create the admin from the environment when the database has no account yet."""
    if not username or not password:
        return False
    if not sa.inspect(db.engine).has_table(Account.__tablename__):
        return False  # not migrated yet: `flask db upgrade` comes first
    if db.session.scalar(sa.select(sa.func.count(Account.id))):
        return False
    create_account(username, password, is_admin=True)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # another worker created it at the same moment
        return False
    return True


@click.command("create-admin")
@click.argument("name")
@with_appcontext
def create_admin_command(name: str) -> None:
    """Create a console admin NAME; the password comes from ADMIN_PASSWORD or a prompt."""
    password = os.environ.get("ADMIN_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    if db.session.scalar(sa.select(Account.id).where(Account.username == name)) is not None:
        raise click.ClickException(f"an account named '{name}' exists already")
    try:
        create_account(name, password, is_admin=True)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created admin account '{name}'")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin_command)
