"""What the Insights tests share: a seeded database and the engine its queries run on, and a
digest of everything in a database (to show that an attack changed nothing)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from tests.doubles.fake_llm import FakeLLM
from tests.support import dispose_app, make_app, make_settings
from webapi.database import sqlite_path
from webapi.insights.runner import create_insights_engine
from webapi.stats.demo import seed_demo_command

TIMEOUT_S = 1.0
DEMO = ["--users", "25", "--messages", "600", "--days", "10", "--seed", "3"]
DEMO += ["--until", "2026-11-20"]


@dataclass
class Seeded:
    dialect: str  # sqlglot's name
    url: str
    engine: sa.Engine


def seeded_database(url: str, dialect: str, llm: FakeLLM) -> Iterator[Seeded]:
    """seed-demo's small, fixed data in a migrated database at `url`."""
    app = make_app(make_settings(url, llm.base_url))
    done = app.test_cli_runner().invoke(seed_demo_command, DEMO)
    assert done.exit_code == 0, done.output
    dispose_app(app)
    engine = create_insights_engine(url, TIMEOUT_S)
    yield Seeded(dialect, url, engine)
    engine.dispose()


def checksum(url: str) -> str:
    """Every table's rows and the schema, as one digest."""
    digest = hashlib.sha256()
    path = sqlite_path(url)
    if path is not None:
        with sqlite3.connect(path) as connection:
            for line in connection.iterdump():
                digest.update(line.encode())
        return digest.hexdigest()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        schema = connection.execute(
            sa.text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' ORDER BY 1, 2"
            )
        ).all()
        digest.update(repr(schema).encode())
        for table in sorted({row[0] for row in schema}):
            rows = connection.execute(
                sa.text(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{table}\" t")
            ).scalar()
            digest.update(f"{table}:{rows}".encode())
        roles = connection.execute(sa.text("SELECT rolname FROM pg_roles ORDER BY 1")).all()
        digest.update(repr(roles).encode())
    engine.dispose()
    return digest.hexdigest()
