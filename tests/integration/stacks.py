"""The stack a module's tests run on, in the session's mode (mode.py): started, handed over,
stopped at the end whatever happens, with its services' output printed when starting failed."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.integration.compose_stack import start_compose_stack
from tests.integration.mode import StackMode
from tests.integration.process_stack import start_local_stack
from tests.integration.stack_handle import Stack
from tests.support import POSTGRES_ADMIN_URL, scratch_postgres_database


@contextmanager
def running_stack(mode: StackMode, scratch: Path, *, postgres: bool = False) -> Iterator[Stack]:
    """The default stack (SQLite, the bot), or with `postgres` the stack on PostgreSQL with two
    api replicas: Compose's postgres profile, or for local processes a scratch database on the
    tests' PostgreSQL server (TEST_POSTGRES_URL)."""
    with ExitStack() as resources:
        if mode.local:
            extra = (
                {"DATABASE_URL": resources.enter_context(_scratch_database())} if postgres else {}
            )
            stack: Stack = start_local_stack(scratch, api_replicas=2 if postgres else 1, **extra)
        else:
            project = f"aidd-it-{'pg-' if postgres else ''}{secrets.token_hex(3)}"
            extra = {}
            if postgres:
                password = secrets.token_hex(12)
                extra = {
                    "POSTGRES_PASSWORD": password,
                    "DATABASE_URL": f"postgresql+psycopg://aidd:{password}@postgres:5432/aidd",
                    "API_REPLICAS": "2",
                }
            profiles = ["bot", "postgres"] if postgres else ["bot"]
            stack = start_compose_stack(scratch, project, profiles, **extra)
        try:
            yield stack
        except BaseException:
            print(stack.logs())
            raise
        finally:
            stack.close()


@contextmanager
def _scratch_database() -> Iterator[str]:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at TEST_POSTGRES_URL ({exc.orig}): the local stack "
            "runs its replicas on it; start it as .ci/run does",
            pytrace=False,
        )
    try:
        with scratch_postgres_database(admin) as url:
            yield url
    finally:
        admin.dispose()
