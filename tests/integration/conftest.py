"""Fixtures of the stack tests: the session's mode (Docker Compose, else local processes, said
loudly at the start and in the summary), one stack per module (stacks.py starts it), with the
browser tests' demo data loaded."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devops.stack import docker_answers
from tests.integration.mode import StackMode, choose_mode
from tests.integration.stack_handle import DEMO, Stack
from tests.integration.stacks import running_stack

MODE = pytest.StashKey[StackMode]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)


def session_mode(config: pytest.Config) -> StackMode:
    """Chosen once per session (the engine is asked at most once)."""
    if MODE not in config.stash:
        try:
            config.stash[MODE] = choose_mode(os.environ, docker_answers)
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
    return config.stash[MODE]


def pytest_report_header(config: pytest.Config) -> str:
    return session_mode(config).header


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before any stack starts, whatever the verbosity (-q hides the header)."""
    if session.items and session_mode(session.config).local:
        _say_loudly(session.config)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    mode = terminalreporter.config.stash.get(MODE, None)
    if mode is not None and mode.local:
        _say_loudly(terminalreporter.config)


def _say_loudly(config: pytest.Config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("!", "STACK TESTS ON LOCAL PROCESSES, NOT DOCKER COMPOSE", red=True)
        reporter.write_line(session_mode(config).warning, red=True, bold=True)


@pytest.fixture(scope="session")
def stack_mode(request: pytest.FixtureRequest) -> StackMode:
    return session_mode(request.config)


@pytest.fixture(scope="module")
def stack(stack_mode: StackMode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(stack_mode, tmp_path_factory.mktemp("stack")) as started:
        # The module's tests fail when seed-demo fails (api_python checks the exit status).
        started.api_python("-m", "flask", "--app", "webapi", "seed-demo", *DEMO)
        yield started
