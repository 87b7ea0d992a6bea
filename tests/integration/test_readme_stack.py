"""The README's "The whole stack, one command" runs as written: in a copy of the repository with
only the shipped .env.example, from its own folder, in a clean environment (PATH and HOME), a
newcomer runs `nox -s stack_up` literally, signs in with the password it printed, and takes the
stack down with the command the README's table gives, data and all.

Without an engine (or with STACK_MODE=local, passed on to the newcomer's shell), the same command
serves the stack as local processes until Ctrl+C, which the test then sends. With Compose, the
stack runs as the Compose project docker-compose.yml names (`systech-aidd`), as a user's
would: the test refuses to start where that project already has containers, volumes or
networks, so that it never takes down anyone's stack or data. The README's second command,
`nox -s ci`, is the one that runs this test.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.integration.mode import StackMode
from tests.support import ROOT
from tests.test_readme import (
    README,
    Newcomer,
    copy_repository,
    only,
    port_taken,
    quick_start_terminals,
    section_of,
)

STACK = "## The whole stack, one command"
MANAGING = "### Managing the containers"
UP_TIMEOUT_S = 1_200  # the images' builds, when the engine's cache does not hold them yet
DOWN_TIMEOUT_S = 300
CONSOLE_PORT = 3000  # the README's address, and .env.example's CONSOLE_PORT
LOCAL_API_PORT = 8000  # .env.example's API_BIND, which local mode serves the api on
COMPOSE = (ROOT / "docker-compose.yml").read_text()


def table_command(section: str, purpose: str) -> str:
    """The command of the README table row that starts with `purpose`."""
    rows = [line for line in section.splitlines() if line.startswith(f"| {purpose} |")]
    assert len(rows) == 1, f"the README's table should have one row for {purpose!r}: {rows}"
    commands = re.findall(r"`([^`]+)`", rows[0])
    assert commands, f"no command in the README's row for {purpose!r}"
    return commands[0]


def compose_project() -> str:
    """The project name docker-compose.yml gives when COMPOSE_PROJECT_NAME is not set."""
    named = re.search(r"^name: \$\{COMPOSE_PROJECT_NAME:-([\w-]+)\}$", COMPOSE, re.MULTILINE)
    assert named is not None, "docker-compose.yml should name its project"
    return named[1]


def project_leftovers(project: str) -> list[str]:
    """Containers, volumes and networks Compose labelled with the project."""
    found = []
    for kind in ("ps -a", "volume ls", "network ls"):
        label = f"label=com.docker.compose.project={project}"
        listed = subprocess.run(  # noqa: S603 (docker with fixed arguments)
            ["docker", *kind.split(), "-q", "--filter", label],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        found += [f"{kind.split()[0]} {name}" for name in listed.stdout.split()]
    return found


@dataclass
class StackNewcomer(Newcomer):
    """A newcomer whose shell also has STACK_MODE, when the session asked for a mode."""

    extra: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        return {**super().environment(), **self.extra}


def readme_commands() -> tuple[str, str]:
    """The section's `stack_up` command, and the table's command that removes the data."""
    readme = README.read_text()
    (commands, *_) = quick_start_terminals(section_of(readme, STACK))
    assert only(commands, "nox -s ci") == "nox -s ci"  # the test command, which runs this test
    down = table_command(section_of(readme, MANAGING), "stop and delete the data (the volumes)")
    return only(commands, "stack_up"), down


def a_newcomer(tmp_path: Path) -> StackNewcomer:
    folder = tmp_path / "systech-aidd"
    copy_repository(folder)
    assert not (folder / ".env").exists()  # the newcomer starts from .env.example alone
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    mode = os.environ.get("STACK_MODE", "")
    return StackNewcomer(folder, scratch, extra={"STACK_MODE": mode} if mode else {})


def check_the_console(printed: str, folder: Path) -> None:
    """What stack_up printed leads to a console that signs in with the printed password."""
    # No token in .env.example: the bot is off, and said to be.
    assert "stack: bot: off (no TELEGRAM_BOT_TOKEN in .env" in printed, printed
    # An empty database: the demo data is offered (no terminal to ask on).
    assert "stack_up -- --seed" in printed, printed
    console = re.search(r"^stack: console: (http://127\.0\.0\.1:\d+) ", printed, re.MULTILINE)
    assert console is not None, printed
    assert console[1] == f"http://127.0.0.1:{CONSOLE_PORT}"
    account = re.search(r"^stack: console account: admin / (\S+) ", printed, re.MULTILINE)
    assert account is not None, printed
    env_file = (folder / ".env").read_text()
    assert f"ADMIN_PASSWORD={account[1]}\n" in env_file  # the password printed is .env's
    with httpx.Client(base_url=console[1], timeout=30) as browser:
        signed_in = browser.post(
            "/api/v1/auth/login",
            json={"username": "admin", "password": account[1]},
            headers={"Origin": console[1]},
        )
        assert signed_in.status_code == 200, signed_in.text
        figures = browser.get("/api/v1/stats/overview", params={"period": "day"})
        assert figures.status_code == 200, figures.text
        assert figures.json()["user_messages"]["value"] == 0
        wrong = browser.post(
            "/api/v1/auth/login",
            json={"username": "admin", "password": account[1] + "x"},
            headers={"Origin": console[1]},
        )
        assert wrong.status_code == 401, wrong.text


def test_the_stack_section_runs_as_written(tmp_path: Path, stack_mode: StackMode) -> None:
    up, down = readme_commands()
    assert not port_taken(CONSOLE_PORT), (
        f"port {CONSOLE_PORT} is taken: the README's stack needs it"
    )
    if stack_mode.local:
        run_locally(tmp_path, up, down)
    else:
        run_on_compose(tmp_path, up, down)


def run_on_compose(tmp_path: Path, up: str, down: str) -> None:
    project = compose_project()
    found = project_leftovers(project)
    assert found == [], f"Compose project {project!r} exists on this engine, left alone: {found}"
    newcomer = a_newcomer(tmp_path)
    try:
        printed = newcomer.run(1, up, timeout=UP_TIMEOUT_S)
        assert "stack: mode: Docker Compose" in printed
        assert "stack: all services healthy in" in printed
        check_the_console(printed, newcomer.folder)
        running = subprocess.run(  # noqa: S603 (docker with fixed arguments)
            [  # noqa: S607
                "docker",
                "ps",
                "--filter",
                f"label=com.docker.compose.project={project}",
                "--format",
                '{{.Label "com.docker.compose.service"}} {{.Status}}',
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.splitlines()
        # The api and the console, healthy; the one-shot migration is done, the bot is off.
        assert sorted(line.split()[0] for line in running) == ["api", "frontend"], running
        assert all(line.endswith("(healthy)") for line in running), running
    finally:
        stopped = newcomer.run(1, down, timeout=DOWN_TIMEOUT_S)
    assert "stack: stopped; data removed" in stopped
    assert project_leftovers(project) == []


def run_locally(tmp_path: Path, up: str, down: str) -> None:
    """Without an engine, stack_up serves in its terminal until stopped (as Ctrl+C does)."""
    assert not port_taken(LOCAL_API_PORT), f"port {LOCAL_API_PORT} is taken: local mode needs it"
    newcomer = a_newcomer(tmp_path)
    log = newcomer.scratch / "stack_up.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (the README's own command)
            ["bash", "-c", newcomer.script(1, up, serve=True)],  # noqa: S607
            cwd=newcomer.folder,
            env=newcomer.environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + UP_TIMEOUT_S
        while "stack: console: " not in (printed := log.read_text(errors="replace")):
            assert process.poll() is None, f"`{up}` exited {process.returncode}:\n{printed}"
            assert time.monotonic() < deadline, f"`{up}` not up in {UP_TIMEOUT_S} s:\n{printed}"
            time.sleep(1)
        time.sleep(1)  # the lines after the console's address
        printed = log.read_text(errors="replace")
        assert "stack: no Docker engine answers: starting the services as local processes" in (
            printed
        )
        check_the_console(printed, newcomer.folder)
        # The table's command has nothing to stop here, and says where the processes are.
        assert "Ctrl+C" in newcomer.run(2, down, timeout=DOWN_TIMEOUT_S)
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl+C in its terminal: its whole group
        try:
            process.wait(timeout=60)
            # Every service stopped with it, before anything is killed here.
            left = [port for port in (CONSOLE_PORT, LOCAL_API_PORT) if port_taken(port)]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    assert left == [], f"still listening after Ctrl+C: {left}\n{log.read_text(errors='replace')}"
