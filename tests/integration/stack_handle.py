"""What the stack tests drive, whichever stack runs: `Stack`, the handle both modes implement
(Docker Compose: compose_stack.py; local processes: process_stack.py), the settings both start
with, and what the tests ask of a running stack as a Telegram user and as the dashboard.

The tests see services by their Compose names (api, bot, frontend, fake-llm, fake-telegram,
migrate) and reach them only where this machine reaches them: the console, the doubles'
control APIs, the api where a mode makes it reachable at all.
"""

from __future__ import annotations

import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.doubles.fake_llm import FakeLLMControl
from tests.doubles.fake_telegram import FakeTelegramControl
from tests.doubles.fake_telegram.fake import DEFAULT_TOKEN

ADMIN = ("admin", "admin-password-1")  # what the console's browser tests sign in with
# The browser tests' demo data (tests/console_stack.py), loaded once the stack is up.
DEMO = ["--users", "120", "--messages", "6000", "--days", "40", "--seed", "5"]
API_RETRY_S = 60
# Checks whether a SQLite database is intact, run by webapi's Python where the api runs: the
# database is the api's own DATABASE_URL, whatever path a mode gives it.
# Bot replicas in webhook mode: where each listens, the path and header Telegram posts with.
WEBHOOK_PORT = 8081
WEBHOOK_PATH = "/telegram/webhook"
# Where Telegram is told to post: the service's name, which spreads over its replicas (the fake
# Telegram records it but does not post: the tests post to each replica, as a proxy would).
WEBHOOK_URL = f"http://bot:{WEBHOOK_PORT}{WEBHOOK_PATH}"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
INTEGRITY_CHECK = (
    "import sqlite3, sqlalchemy as sa\n"
    "from webapi.settings import load_settings\n"
    "path = sa.make_url(load_settings().DATABASE_URL).database\n"
    "print(sqlite3.connect(path).execute('PRAGMA integrity_check').fetchone()[0])\n"
)


def stack_settings(**extra: str) -> dict[str, str]:
    """The settings file of a test stack, in either mode: fresh secrets, the doubles' token,
    relaxed limits; `extra` adds to them or overrides them."""
    return {
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
        **extra,
    }


@dataclass(frozen=True)
class ServiceState:
    """One container (Compose) or process (local) of a service, as `docker compose ps` says."""

    service: str
    state: str  # running, exited, ...
    health: str  # healthy, unhealthy, starting; "" without a healthcheck
    exit_code: int | None = None


@dataclass(frozen=True)
class WebhookReplica:
    """One bot replica in webhook mode: its name (for its output), where it takes updates."""

    name: str
    url: str


class Stack(ABC):
    """A running stack. Each mode says how it does what the tests ask."""

    mode: str  # how the summary names the mode

    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings
        self._telegram: dict[str, FakeTelegramControl] = {}

    # --- where this machine reaches it

    @property
    @abstractmethod
    def console_url(self) -> str: ...

    @property
    @abstractmethod
    def telegram_url(self) -> str:
        """The fake Telegram Bot API's root (its control API is under /_control)."""

    @property
    @abstractmethod
    def llm_url(self) -> str:
        """The fake LLM's root (its control API is under /_control)."""

    @property
    @abstractmethod
    def api_addresses(self) -> list[str]:
        """HOST:PORT where this machine reaches the api: none in Compose (only the console
        does, on the stack's network); local processes have no such network, so it listens on
        loopback."""

    # --- what runs

    @abstractmethod
    def states(self, service: str) -> list[ServiceState]:
        """One state per container or process of the service (replicas: several)."""

    @abstractmethod
    def migration(self) -> tuple[int | None, str]:
        """The one-shot migration of the last start: its exit status (None while it runs) and
        output."""

    @abstractmethod
    def user_id(self, service: str) -> int:
        """The user id the service's main process runs as."""

    @abstractmethod
    def host_addresses(self, service: str) -> list[str]:
        """HOST:PORT where the service accepts connections from this machine, sorted."""

    @abstractmethod
    def main_pid(self, service: str) -> int:
        """The host's process id of the service's main process (its first replica's): it
        changes whenever the service is restarted."""

    @abstractmethod
    def webhook_replicas(self) -> list[WebhookReplica]:
        """Each bot replica in webhook mode, with the URL where this machine reaches its
        webhook listener (Compose: its published port; local processes: its WEBHOOK_BIND)."""

    @abstractmethod
    def replica_output(self, name: str) -> str:
        """What one replica (a WebhookReplica's name) has written to its output so far."""

    @abstractmethod
    def sqlite_databases(self, replica: int) -> list[str]:
        """SQLite databases the api's `replica` (1, 2, ...) keeps: the names of its data
        directory's database files (Compose), the database files its processes hold open
        (local processes)."""

    # --- acting on it

    @abstractmethod
    def stop(self, service: str) -> None:
        """Stop the service as an operator would (SIGTERM, its grace period)."""

    @abstractmethod
    def start(self, service: str) -> None:
        """Start a stopped service again (without waiting for it to be healthy)."""

    @abstractmethod
    def restart(self, *services: str) -> None:
        """Restart the services, then wait until each one is healthy again."""

    @abstractmethod
    def kill_hard(self, service: str) -> None:
        """SIGKILL the service's main process from the host: a crash, not a stop. The service
        comes back as its restart policy brings it back."""

    @abstractmethod
    def api_python(self, *args: str) -> str:
        """Run webapi's Python with `args` where and as the api runs; its stdout. Fails the test
        when it exits non-zero."""

    @abstractmethod
    def postgres_scalar(self, sql: str) -> str:
        """One value of a query on the stack's PostgreSQL database, as text."""

    @abstractmethod
    def logs(self) -> str:
        """The end of every service's output, for a failure's report."""

    @abstractmethod
    def close(self) -> None:
        """Stop everything the stack started; nothing of it stays."""

    # --- shared by both modes

    @property
    def telegram(self) -> FakeTelegramControl:
        url = self.telegram_url
        if url not in self._telegram:
            self._telegram[url] = FakeTelegramControl(url)
        return self._telegram[url]

    @property
    def llm(self) -> FakeLLMControl:
        return FakeLLMControl(self.llm_url)

    def close_controls(self) -> None:
        for control in self._telegram.values():
            control.close()
        self._telegram.clear()

    def wait_healthy(self, service: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = self.states(service)
            if states and all(s.state == "running" and s.health == "healthy" for s in states):
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


def post_update(replica: WebhookReplica, update: dict[str, Any], secret: str) -> int:
    """Post a Telegram update to a bot replica's webhook, as Telegram does; the status."""
    response = httpx.post(
        replica.url + WEBHOOK_PATH, json=update, headers={SECRET_HEADER: secret}, timeout=30
    )
    return response.status_code
