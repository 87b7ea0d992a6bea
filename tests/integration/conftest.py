"""Fixtures of the stack tests: one Compose stack per module (tests/integration/compose_stack.py
starts it), with the browser tests' demo data loaded."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.integration.compose_stack import DEMO, Stack, dump_logs, start_stack, stop_stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    scratch = tmp_path_factory.mktemp("stack")
    started = start_stack(scratch, f"aidd-it-{secrets.token_hex(3)}", ["bot"])
    try:
        # The module's tests fail when seed-demo fails (Stack.run checks the exit status).
        started.run("exec", "-T", "api", "flask", "--app", "webapi", "seed-demo", *DEMO)
        yield started
    except BaseException:
        dump_logs(started.compose)
        raise
    finally:
        stop_stack(started)
