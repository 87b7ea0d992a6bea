"""The stack under test in Docker Compose: docker-compose.yml plus
tests/integration/compose.test.yml (the fake Telegram Bot API and the fake LLM as services),
started through testcontainers' DockerCompose, reached only through the ports it publishes on
127.0.0.1.

The images are built from the working tree (`up --build`) on the base images the stack
itself would use (devops/stack.py: the official ones, else `nox -s base_images`'s). Each
start is a Compose project of its own with its own volumes, removed at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from testcontainers.compose import DockerCompose

from devops import stack as stack_driver
from tests.integration.stack_handle import (
    WEBHOOK_PORT,
    ServiceState,
    Stack,
    WebhookReplica,
    stack_settings,
)
from tests.support import ROOT

TEST_COMPOSE_FILE = ROOT / "tests" / "integration" / "compose.test.yml"
# Publishes the bot replicas' webhook port on 127.0.0.1, at ports the engine picks.
WEBHOOK_COMPOSE_FILE = ROOT / "tests" / "integration" / "compose.webhook.yml"


class ComposeStack(Stack):
    """A running Compose project and the handles the tests drive it with."""

    mode = "Docker Compose"

    def __init__(
        self, compose: DockerCompose, project: str, env: dict[str, str], settings: dict[str, str]
    ) -> None:
        super().__init__(settings)
        self.compose = compose
        self.project = project
        self.env = env

    # Ports are published where the engine picks, again at every restart: read them each time.
    def published(self, service: str, port: int) -> str:
        """`http://127.0.0.1:PORT` where the service's `port` is published now."""
        address = self.run("port", service, str(port)).strip().splitlines()[0]
        return f"http://127.0.0.1:{address.rsplit(':', 1)[1]}"

    @property
    def console_url(self) -> str:
        return self.published("frontend", 3000)

    @property
    def telegram_url(self) -> str:
        return self.published("fake-telegram", 8090)

    @property
    def llm_url(self) -> str:
        return self.published("fake-llm", 8089)

    @property
    def api_addresses(self) -> list[str]:
        return []

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> str:
        """`docker compose ARGS` on this project; its stdout."""
        done = subprocess.run(  # noqa: S603 (docker with fixed arguments)
            [*self.compose.compose_command_property, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"docker compose {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def services(self) -> list[dict[str, Any]]:
        """`docker compose ps --all` as dicts (State, Health, Service, ExitCode...)."""
        out = self.run("ps", "--all", "--format", "json").strip()
        if out.startswith("["):
            return list(json.loads(out))
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def states(self, service: str) -> list[ServiceState]:
        return [
            ServiceState(s["Service"], s["State"], s.get("Health") or "", s.get("ExitCode"))
            for s in self.services()
            if s["Service"] == service
        ]

    def migration(self) -> tuple[int | None, str]:
        (step,) = self.states("migrate")
        code = step.exit_code if step.state == "exited" else None
        return code, self.run("logs", "--no-log-prefix", "migrate")

    def user_id(self, service: str) -> int:
        return int(self.run("exec", "-T", service, "id", "-u"))

    def host_addresses(self, service: str) -> list[str]:
        return sorted(
            f"{p['URL']}:{p['PublishedPort']}"
            for s in self.services()
            if s["Service"] == service
            for p in s.get("Publishers") or []
            if p.get("PublishedPort")
        )

    def container_id(self, service: str) -> str:
        return self.run("ps", "--quiet", service).split()[0]

    def main_pid(self, service: str) -> int:
        pid = subprocess.run(  # noqa: S603
            ["docker", "inspect", "--format", "{{.State.Pid}}", self.container_id(service)],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return int(pid)

    def webhook_replicas(self) -> list[WebhookReplica]:
        found = []
        for state in self.services():
            if state["Service"] != "bot":
                continue
            (published,) = [
                p
                for p in state.get("Publishers") or []
                if p.get("TargetPort") == WEBHOOK_PORT and p.get("PublishedPort")
            ]
            assert published["URL"] == "127.0.0.1", published
            url = f"http://127.0.0.1:{published['PublishedPort']}"
            found.append(WebhookReplica(state["Name"], url))
        return sorted(found, key=lambda replica: replica.name)

    def replica_output(self, name: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["docker", "logs", name],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout + done.stderr

    def sqlite_databases(self, replica: int) -> list[str]:
        listing = self.run("exec", "-T", "--index", str(replica), "api", "ls", "data")
        return [name for name in listing.split() if name.endswith(".db")]

    def stop(self, service: str) -> None:
        self.run("stop", service)

    def start(self, service: str) -> None:
        self.run("start", service)

    def restart(self, *services: str) -> None:
        self.run("restart", *services, timeout=600)
        for service in services:
            self.wait_healthy(service)

    def kill_hard(self, service: str) -> None:
        # The container's main process: its end is the container's, and Compose's restart
        # policy (unless-stopped) starts the container again.
        os.kill(self.main_pid(service), signal.SIGKILL)

    def api_python(self, *args: str) -> str:
        return self.run("exec", "-T", "api", "python", *args)

    def postgres_scalar(self, sql: str) -> str:
        command = ["psql", "--username=aidd", "--dbname=aidd", "--tuples-only", f"--command={sql}"]
        return self.run("exec", "-T", "postgres", *command).strip()

    def logs(self) -> str:
        try:
            out, err = self.compose.get_logs()
        except Exception as exc:
            return f"(no logs: {exc})"
        return out[-20000:] + err[-5000:]

    def close(self) -> None:
        with _environment(self.env):
            try:
                self.compose.stop(down=True)  # with --volumes: nothing of the session stays
            finally:
                self.close_controls()


def env_file_for(path: Path, project: str, **extra: str) -> dict[str, str]:
    """The stack's .env for a test session (the benchmark's too): fresh secrets, the doubles,
    relaxed limits, the console on a port the engine picks."""
    settings = stack_settings(
        COMPOSE_PROJECT_NAME=project,
        # Any free port on 127.0.0.1: the tests read which from Compose.
        CONSOLE_PORT="0",
        API_STOP_GRACE_PERIOD="30s",
        **extra,
    )
    path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
    return settings


def start_compose_stack(
    scratch: Path, project: str, profiles: list[str], files: Sequence[Path] = (), **extra: str
) -> Stack:
    """Build and start the project (docker-compose.yml, compose.test.yml and `files`) and wait
    until every service is healthy; `extra` settings go into its .env."""
    if not stack_driver.docker_answers():
        pytest.fail(
            "NO DOCKER ENGINE ANSWERS, and STACK_MODE=compose asks for Compose: start one (and "
            "the Compose v2 plugin, see the README's troubleshooting section) or leave "
            "STACK_MODE unset to run the stack tests on local processes",
            pytrace=False,
        )
    env_file = scratch / f"{project}.env"
    settings = env_file_for(env_file, project, **extra)
    env = {**os.environ, "ENV_FILE": str(env_file), "COMPOSE_PROJECT_NAME": project}
    env.update(stack_driver.build_environment(env))
    compose = DockerCompose(
        context=ROOT,
        compose_file_name=[
            str(stack_driver.COMPOSE_FILE),
            str(TEST_COMPOSE_FILE),
            *map(str, files),
        ],
        build=True,
        wait=True,
        env_file=str(env_file),
        profiles=profiles,
    )
    stack = ComposeStack(compose, project, env, settings)
    with _environment(env):
        try:
            compose.start()
        except Exception:
            print(stack.logs())
            compose.stop()
            raise
    return stack


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """testcontainers runs `docker compose` with this process's environment: `env` for the
    duration, the previous one restored after."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
