"""`flask --app webapi migrate-db`, the stack's one-shot migration step: the schema at head and
one line saying so; a failure is one line on stderr, exit status 1, the password never shown.
The same on the whole app and on migrate_db's bare one (which the stack runs)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support import flask_cli, free_port, server_environment

APPS = pytest.mark.parametrize("app", ["webapi", "webapi.migrate_db"])


@APPS
def test_a_new_database_is_migrated_to_head_and_again_is_a_no_op(tmp_path: Path, app: str) -> None:
    database = tmp_path / "aidd.db"
    env = server_environment(f"sqlite:///{database}", "http://127.0.0.1:9/v1")

    first = flask_cli(env, "migrate-db", app=app)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"sqlite:///{database} is at revision ")
    revision = first.stdout.rsplit(" ", 1)[1].strip()
    with sqlite3.connect(database) as connection:
        (stored,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert stored == revision

    again = flask_cli(env, "migrate-db", app=app)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


@APPS
def test_an_unreachable_database_is_one_line_without_the_password(app: str) -> None:
    url = f"postgresql+psycopg://aidd:hunter2-secret@127.0.0.1:{free_port()}/aidd"
    env = server_environment(url, "http://127.0.0.1:9/v1")

    done = flask_cli(env, "migrate-db", app=app)

    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("Error: postgresql+psycopg://aidd:***@127.0.0.1:")
    assert "could not be migrated: " in lines[-1]
    assert "Traceback" not in done.stderr
    assert "hunter2-secret" not in done.stderr + done.stdout
