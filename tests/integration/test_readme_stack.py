"""The README's "The whole stack, one command" runs as written: in a copy of the repository with
only the shipped .env.example, from its own folder, in a clean environment (PATH and HOME), a
newcomer runs `nox -s stack_up` literally, signs in with the password it printed, and takes the
stack down with the command the README's table gives, data and all.

The stack runs as the Compose project docker-compose.yml names (`systech-aidd`), as a user's
would: the test refuses to start where that project already has containers, volumes or
networks, so that it never takes down anyone's stack or data. The README's second command,
`nox -s ci`, is the one that runs this test.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from devops import stack as stack_driver
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


def test_the_stack_section_runs_as_written(tmp_path: Path) -> None:
    if not stack_driver.engine_answers():
        pytest.fail(
            "NO DOCKER ENGINE ANSWERS: this test runs the README's Compose mode", pytrace=False
        )
    readme = README.read_text()
    section = section_of(readme, STACK)
    (commands, *_) = quick_start_terminals(section)
    up = only(commands, "stack_up")
    assert only(commands, "nox -s ci") == "nox -s ci"  # the test command, which runs this test
    down = table_command(section_of(readme, MANAGING), "stop and delete the data (the volumes)")
    assert not port_taken(CONSOLE_PORT), (
        f"port {CONSOLE_PORT} is taken: the README's stack needs it"
    )

    project = compose_project()
    found = project_leftovers(project)
    assert found == [], f"Compose project {project!r} exists on this engine, left alone: {found}"
    folder = tmp_path / "systech-aidd"
    copy_repository(folder)
    assert not (folder / ".env").exists()  # the newcomer starts from .env.example alone
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    newcomer = Newcomer(folder, scratch)
    try:
        printed = newcomer.run(1, up, timeout=UP_TIMEOUT_S)
        assert "stack: mode: Docker Compose" in printed
        assert "stack: all services healthy in" in printed
        # No token in .env.example: the bot is off, and said to be.
        assert "stack: bot: off (no TELEGRAM_BOT_TOKEN in .env" in printed
        # An empty database: the demo data is offered (no terminal to ask on).
        assert "stack_up -- --seed" in printed
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
        print("\n\n".join(newcomer.transcript))
    assert "stack: stopped; data removed" in stopped
    assert project_leftovers(project) == []
