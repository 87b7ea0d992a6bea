"""The stack under test and how the stack tests talk to it: docker-compose.yml plus
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
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from testcontainers.compose import DockerCompose

from devops import stack as stack_driver
from tests.doubles.fake_llm import FakeLLMControl
from tests.doubles.fake_telegram import FakeTelegramControl
from tests.doubles.fake_telegram.fake import DEFAULT_TOKEN
from tests.support import ROOT

TEST_COMPOSE_FILE = ROOT / "tests" / "integration" / "compose.test.yml"
# Publishes the bot replicas' webhook port (8081) on 127.0.0.1, at ports the engine picks.
WEBHOOK_COMPOSE_FILE = ROOT / "tests" / "integration" / "compose.webhook.yml"
WEBHOOK_PORT = 8081
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ADMIN = ("admin", "admin-password-1")  # what the console's browser tests sign in with
# The browser tests' demo data (tests/console_stack.py), loaded once the stack is up.
DEMO = ["--users", "120", "--messages", "6000", "--days", "40", "--seed", "5"]
API_RETRY_S = 60


@dataclass(frozen=True)
class Replica:
    """One container of a scaled service: its name, and where a port of it is published."""

    name: str
    url: str


@dataclass
class Stack:
    """A running Compose stack and the handles the tests drive it with."""

    compose: DockerCompose
    project: str
    env: dict[str, str]
    settings: dict[str, str] = field(default_factory=dict)
    _telegram: dict[str, FakeTelegramControl] = field(default_factory=dict)

    # Ports are published where the engine picks, again at every restart: read them each time.
    def published(self, service: str, port: int) -> str:
        """`http://127.0.0.1:PORT` where the service's `port` is published now."""
        address = self.run("port", service, str(port)).strip().splitlines()[0]
        return f"http://127.0.0.1:{address.rsplit(':', 1)[1]}"

    def replicas(self, service: str, port: int) -> list[Replica]:
        """Every container of `service`, with the URL where its `port` is published now."""
        found = []
        for state in self.services():
            if state["Service"] != service:
                continue
            (published,) = [
                p
                for p in state.get("Publishers") or []
                if p.get("TargetPort") == port and p.get("PublishedPort")
            ]
            assert published["URL"] == "127.0.0.1", published
            found.append(Replica(state["Name"], f"http://127.0.0.1:{published['PublishedPort']}"))
        return sorted(found, key=lambda replica: replica.name)

    def logs(self, container: str) -> str:
        """One container's output (stdout and stderr)."""
        done = subprocess.run(  # noqa: S603
            ["docker", "logs", container],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout + done.stderr

    @property
    def console_url(self) -> str:
        return self.published("frontend", 3000)

    @property
    def telegram(self) -> FakeTelegramControl:
        url = self.published("fake-telegram", 8090)
        if url not in self._telegram:
            self._telegram[url] = FakeTelegramControl(url)
        return self._telegram[url]

    @property
    def llm(self) -> FakeLLMControl:
        return FakeLLMControl(self.published("fake-llm", 8089))

    def close(self) -> None:
        for control in self._telegram.values():
            control.close()

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

    def container_id(self, service: str) -> str:
        return self.run("ps", "--quiet", service).split()[0]

    def kill_hard(self, service: str) -> None:
        """SIGKILL the service's main process from the host: a crash, not a stop, so the
        restart policy brings it back."""
        pid = subprocess.run(  # noqa: S603
            ["docker", "inspect", "--format", "{{.State.Pid}}", self.container_id(service)],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        os.kill(int(pid), signal.SIGKILL)

    def wait_healthy(self, service: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = [s for s in self.services() if s["Service"] == service]
            if states and all(
                s["State"] == "running" and s.get("Health") == "healthy" for s in states
            ):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{service} not healthy within {timeout} s: {states}")
            time.sleep(1)

    @contextmanager
    def console(self) -> Iterator[httpx.Client]:
        """An httpx client signed in to the console (through its proxy, as a browser)."""
        url = self.console_url
        with httpx.Client(base_url=url, timeout=30) as client:
            response = client.post(
                "/api/v1/auth/login",
                json={"username": ADMIN[0], "password": ADMIN[1]},
                headers={"Origin": url},
            )
            assert response.status_code == 200, response.text
            yield client


def env_file_for(path: Path, project: str, **extra: str) -> dict[str, str]:
    """The stack's .env for a test session: fresh secrets, the doubles, relaxed limits."""
    settings = {
        "COMPOSE_PROJECT_NAME": project,
        "APP_ENV": "production",
        "BOT_API_TOKEN": secrets.token_hex(24),
        "SECRET_KEY": secrets.token_hex(24),
        "ADMIN_USERNAME": ADMIN[0],
        "ADMIN_PASSWORD": ADMIN[1],
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "LLM_MODEL": "openai/gpt-4o-mini",
        "LLM_TIMEOUT_S": "20",
        "LLM_MAX_ATTEMPTS": "1",
        "API_RETRY_S": str(API_RETRY_S),
        "BOT_RATE_LIMIT": "1000/minute",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "LOGIN_CLIENT_RATE_LIMIT": "1000 per minute",
        "CHAT_RATE_LIMIT": "1000 per minute",
        # Any free port on 127.0.0.1: the tests read which from Compose.
        "CONSOLE_PORT": "0",
        "API_STOP_GRACE_PERIOD": "30s",
        **extra,
    }
    path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
    return settings


def start_stack(
    scratch: Path, project: str, profiles: list[str], files: Sequence[Path] = (), **extra: str
) -> Stack:
    """The stack (docker-compose.yml, compose.test.yml and `files`), built and healthy; `extra`
    settings go into its .env."""
    if not stack_driver.engine_answers():
        pytest.fail(
            "NO DOCKER ENGINE ANSWERS: the stack tests need one (and the Compose v2 plugin); "
            "see the README's troubleshooting section",
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
    # testcontainers runs `docker compose` with this process's environment.
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        compose.start()
    except Exception:
        dump_logs(compose)
        compose.stop()
        raise
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Stack(compose=compose, project=project, env=env, settings=settings)


def stop_stack(stack: Stack) -> None:
    saved = dict(os.environ)
    os.environ.update(stack.env)
    try:
        stack.compose.stop(down=True)  # with --volumes: nothing of the session stays
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stack.close()


def dump_logs(compose: DockerCompose) -> None:
    try:
        out, err = compose.get_logs()
        print(out[-20000:], err[-5000:])
    except Exception as exc:
        print(f"(no logs: {exc})")


# What the tests ask of a running stack, as a user and as the dashboard.


def overview(stack: Stack) -> dict[str, Any]:
    with stack.console() as console:
        response = console.get("/api/v1/stats/overview", params={"period": "day"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def dialog_of(stack: Stack, telegram_id: int) -> dict[str, Any]:
    """The newest dialog of a Telegram user, from the dashboard's recent-dialogs list."""
    with stack.console() as console:
        response = console.get("/api/v1/stats/dialogs", params={"period": "day", "per_page": 100})
    assert response.status_code == 200, response.text
    mine = [
        d for d in response.json()["dialogs"] if (d["user"] or {}).get("telegram_id") == telegram_id
    ]
    assert mine, f"no dialog of Telegram user {telegram_id} in the dashboard"
    return dict(mine[0])


def ask_in_telegram(stack: Stack, user_id: int, text: str, timeout: float = 60) -> None:
    """Send `text` as Telegram user `user_id` and wait for the fake LLM's echo in the chat."""
    stack.telegram.send_text(user_id, text)
    wait_for_answer(stack, user_id, text, timeout)


def answers_to(telegram: FakeTelegramControl, user_id: int, text: str) -> int:
    return sum(m.text.count(f"Echo: {text}") for m in telegram.chat_messages(user_id))


def wait_for_answer(stack: Stack, user_id: int, text: str, timeout: float = 60) -> None:
    stack.telegram.wait_for(lambda telegram: answers_to(telegram, user_id, text) >= 1, timeout)


def post_update(replica: Replica, path: str, update: dict[str, Any], secret: str) -> int:
    """Post a Telegram update to a bot replica's webhook, as Telegram does; the status."""
    response = httpx.post(
        replica.url + path, json=update, headers={SECRET_HEADER: secret}, timeout=30
    )
    return response.status_code
