"""The stack a module's tests run on, in the session's mode (mode.py): started, handed over,
stopped at the end whatever happens, with its services' output printed when starting failed."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.integration.compose_stack import WEBHOOK_COMPOSE_FILE, start_compose_stack
from tests.integration.mode import StackMode
from tests.integration.process_stack import start_local_stack
from tests.integration.stack_handle import WEBHOOK_URL, Stack
from tests.support import POSTGRES_ADMIN_URL, scratch_postgres_database


@contextmanager
def running_stack(mode: StackMode, scratch: Path, *, postgres: bool = False) -> Iterator[Stack]:
    """The default stack (SQLite, the bot polling), or with `postgres` the scaled one: PostgreSQL
    (Compose's postgres profile, or for local processes a scratch database on the tests' server,
    TEST_POSTGRES_URL), two api replicas and two bot replicas in webhook mode."""
    replicas = 2 if postgres else 1
    # Scaled, the bots take Telegram's posts: polling replicas would take each other's updates.
    webhook = (
        {
            "BOT_MODE": "webhook",
            "WEBHOOK_URL": WEBHOOK_URL,
            "WEBHOOK_SECRET": secrets.token_urlsafe(24),
        }
        if postgres
        else {}
    )
    with ExitStack() as resources:
        if mode.local:
            if postgres:
                webhook["DATABASE_URL"] = resources.enter_context(_scratch_database())
            stack: Stack = start_local_stack(
                scratch, api_replicas=replicas, bot_replicas=replicas, **webhook
            )
        else:
            project = f"aidd-it-{'pg-' if postgres else ''}{secrets.token_hex(3)}"
            if postgres:
                password = secrets.token_hex(12)
                webhook.update(
                    POSTGRES_PASSWORD=password,
                    DATABASE_URL=f"postgresql+psycopg://aidd:{password}@postgres:5432/aidd",
                    API_REPLICAS="2",
                    BOT_REPLICAS="2",
                )
            profiles = ["bot", "postgres"] if postgres else ["bot"]
            files = [WEBHOOK_COMPOSE_FILE] if postgres else []
            stack = start_compose_stack(scratch, project, profiles, files, **webhook)
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
