"""The stack under test as local processes, where no Docker engine answers (or STACK_MODE=local):
the services devops/local_stack.py runs for `nox -s stack_up` (gunicorn, the console's
standalone server, `python -m bot`, each under honcho) with a settings file read as it reads
one, plus the fake Telegram Bot API and the fake LLM (`python -m tests.doubles...`). Everything
listens on 127.0.0.1 at free ports and keeps its files (settings, SQLite database, logs, the
bot's heartbeat) in a scratch directory of its own.

Each service runs under a runner of its own (`devops/local_stack.py serve`; `stack_up` runs the
three under one), so that one can be stopped or killed while the others run, as Compose does
with containers. Where local processes have nothing of Compose's, this handle does its part:
depends_on's order (the api healthy before the console and the bot), the restart policy after a
crash, the healthchecks (the probes the images run, from here).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.heartbeat import is_fresh
from devops.local_stack import (
    STOP_TIMEOUT_S,
    api_service,
    bot_service,
    frontend_service,
    local_url,
    migrate,
    process_environment,
    start_runner,
    stop_runner,
)
from devops.stack import read_env_file
from tests.console_stack import build_console
from tests.doubles.fake_telegram.fake import DEFAULT_TOKEN
from tests.integration.stack_handle import ServiceState, Stack, WebhookReplica, stack_settings
from tests.processes import (
    alive,
    descendants,
    listening_sockets,
    open_files,
    process_stat,
    socket_inodes,
    start_time,
)
from tests.support import ROOT, background_process, free_port

# depends_on, as Compose orders them: the console and the bot wait for a healthy api.
START_ORDER = ("api", "frontend", "bot")
SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass
class Replica:
    """One process of a service and the runner (honcho) it runs under."""

    service: str
    name: str  # the name its runner gives it: the service's, numbered where it has several
    definition: dict[str, Any]  # devops/local_stack.py's: command line and environment
    log: Path
    runner: subprocess.Popen[bytes] | None = None
    health_url: str = ""  # the api's and the console's probes; the bot's is its heartbeat
    heartbeat: Path | None = None  # the bot's

    def running(self) -> bool:
        return self.runner is not None and self.runner.poll() is None

    def processes(self) -> set[int]:
        return descendants(self.runner.pid) if self.runner is not None else set()

    def main_pid(self) -> int | None:
        """The service's own process: honcho starts each in a session of its own."""
        for pid in self.processes():
            fields = process_stat(pid)
            if fields is not None and int(fields[3]) == pid:
                return pid
        return None


@dataclass
class Double:
    process: subprocess.Popen[bytes]
    url: str


class LocalStack(Stack):
    mode = "local processes"

    def __init__(
        self,
        scratch: Path,
        settings: dict[str, str],
        env: dict[str, str],
        api_binds: list[str],
        webhook_binds: list[str],
    ) -> None:
        """`webhook_binds`: one bot replica in webhook mode on each; none: one bot, polling."""
        super().__init__(settings)
        self.scratch = scratch
        self.env = env
        self.api_binds = api_binds
        self.webhook_binds = webhook_binds
        self.doubles: dict[str, Double] = {}
        self.migrated: subprocess.CompletedProcess[str] | None = None
        self._exit = ExitStack()
        python = sys.executable
        api_urls = [local_url(bind) for bind in api_binds]
        console = frontend_service("127.0.0.1", settings["CONSOLE_PORT"], api_urls[0])
        # No name spreads requests over replicas here: the console talks to the first one and
        # the bot to the last, so what one serves must show in what another reads.
        bots: list[str | None] = [*webhook_binds] or [None]  # None: the one bot, polling
        self.replicas = {
            "api": [
                self._replica(name, api_service(python, bind), f"{url}/api/v1/health/ready")
                for name, bind, url in zip(
                    replica_names("api", len(api_binds)), api_binds, api_urls, strict=True
                )
            ],
            "frontend": [self._replica("frontend", console, f"{self.console_url}/healthz")],
            "bot": [
                self._bot(name, python, api_urls[-1], bind)
                for name, bind in zip(replica_names("bot", len(bots)), bots, strict=True)
            ],
        }

    def _replica(self, name: str, definition: dict[str, Any], url: str = "") -> Replica:
        service = name.partition(".")[0]
        return Replica(service, name, definition, self.scratch / f"{name}.log", None, url)

    def _bot(self, name: str, python: str, api_url: str, webhook_bind: str | None) -> Replica:
        """A bot replica with a heartbeat file of its own, and in webhook mode a listener."""
        heartbeat = self.scratch / f"{name}.alive"
        definition = bot_service(python, api_url)
        definition["env"]["BOT_HEARTBEAT_FILE"] = str(heartbeat)
        if webhook_bind is not None:
            definition["env"]["WEBHOOK_BIND"] = webhook_bind
        replica = self._replica(name, definition)
        replica.heartbeat = heartbeat
        return replica

    # --- where this machine reaches it

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.settings['CONSOLE_PORT']}"

    @property
    def telegram_url(self) -> str:
        return self.settings["TELEGRAM_API_BASE"]

    @property
    def llm_url(self) -> str:
        return self.settings["LLM_BASE_URL"].removesuffix("/v1")

    @property
    def api_addresses(self) -> list[str]:
        return sorted(self.api_binds)

    # --- starting and stopping

    def up(self) -> None:
        """The doubles, the migration, then the services in depends_on's order, all healthy."""
        doubles_env = {"PATH": self.env["PATH"], "HOME": self.env["HOME"], "PYTHONUNBUFFERED": "1"}
        for name, module, url, extra in (
            ("fake-llm", "tests.doubles.fake_llm", self.llm_url, []),
            (
                "fake-telegram",
                "tests.doubles.fake_telegram",
                self.telegram_url,
                ["--token", DEFAULT_TOKEN],
            ),
        ):
            port = url.rsplit(":", 1)[1]
            command = [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", port, *extra]
            process = self._exit.enter_context(
                background_process(command, doubles_env, self.scratch / f"{name}.log")
            )
            self.doubles[name] = Double(process, url)
        for name in self.doubles:
            self.wait_healthy(name, timeout=30)
        self.migrated = migrate(sys.executable, self.env, capture_output=True, timeout=300)
        if self.migrated.returncode != 0:
            raise AssertionError(
                f"migrate-db failed:\n{self.migrated.stdout}{self.migrated.stderr}"
            )
        self.restart(*START_ORDER)  # nothing runs yet: started in depends_on's order

    def start(self, service: str) -> None:
        for replica in self.replicas[service]:
            if replica.running():
                continue
            with replica.log.open("ab") as log:
                replica.runner = start_runner(
                    sys.executable,
                    {replica.name: replica.definition},
                    self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def stop(self, service: str) -> None:
        for replica in self.replicas[service]:
            _stop(replica)

    def restart(self, *services: str) -> None:
        ordered = [name for name in START_ORDER if name in services]
        for service in reversed(ordered):
            self.stop(service)
        for service in ordered:
            self.start(service)
            if service == "api":
                self.wait_healthy("api")
        for service in ordered:
            self.wait_healthy(service)

    def kill_hard(self, service: str) -> None:
        replica = self.replicas[service][0]
        assert replica.runner is not None, f"{service} is not running"
        # A container's processes end with its main process; local ones would outlive it
        # (gunicorn's workers finish what they serve), so its whole process group goes.
        os.killpg(self.main_pid(service), signal.SIGKILL)
        replica.runner.wait(timeout=STOP_TIMEOUT_S)  # honcho saw it end, and stopped
        replica.runner = None
        # What Compose's restart policy (unless-stopped) does: the crashed service starts again.
        self.start(service)

    def close(self) -> None:
        try:
            for service in reversed(START_ORDER):
                self.stop(service)
        finally:
            self._exit.close()  # the doubles
            self.close_controls()

    # --- what runs

    def states(self, service: str) -> list[ServiceState]:
        if service == "migrate":
            if self.migrated is None:
                return []
            return [ServiceState(service, "exited", "", self.migrated.returncode)]
        if service in self.doubles:
            double = self.doubles[service]
            running = double.process.poll() is None
            healthy = running and _answers(f"{double.url}/_control/health")
            return [_state(service, running, healthy)]
        states = []
        for replica in self.replicas[service]:
            pid = replica.main_pid() if replica.running() else None
            running = pid is not None and alive(pid)
            if replica.heartbeat is not None:
                healthy = is_fresh(replica.heartbeat)
            else:
                healthy = _answers(replica.health_url)
            states.append(_state(service, running, running and healthy))
        return states

    def migration(self) -> tuple[int | None, str]:
        assert self.migrated is not None, "the stack was not migrated"
        return self.migrated.returncode, self.migrated.stdout + self.migrated.stderr

    def main_pid(self, service: str) -> int:
        pid = self.replicas[service][0].main_pid()
        assert pid is not None, f"{service} has no running process"
        return pid

    def user_id(self, service: str) -> int:
        if os.geteuid() == 0:
            pytest.skip(
                "local processes run as the user who runs the tests, and that is root here: "
                "whether the services run as non-root is checked on Compose (the images' users) "
                "or by running the tests as a non-root user"
            )
        status = Path(f"/proc/{self.main_pid(service)}/status").read_text()
        uids = next(line for line in status.splitlines() if line.startswith("Uid:"))
        return int(uids.split()[2])  # the effective user id, as `id -u` prints it

    def host_addresses(self, service: str) -> list[str]:
        listening = listening_sockets()
        inodes = {
            inode
            for replica in self.replicas[service]
            for pid in replica.processes()
            for inode in socket_inodes(pid)
        }
        return sorted({listening[inode] for inode in inodes if inode in listening})

    def webhook_replicas(self) -> list[WebhookReplica]:
        if not self.webhook_binds:
            return []
        return [
            WebhookReplica(bot.name, local_url(bind))
            for bot, bind in zip(self.replicas["bot"], self.webhook_binds, strict=True)
        ]

    def replica_output(self, name: str) -> str:
        (replica,) = [r for rs in self.replicas.values() for r in rs if r.name == name]
        return replica.log.read_text(errors="replace")

    def sqlite_databases(self, replica: int) -> list[str]:
        found = set()
        for pid in self.replicas["api"][replica - 1].processes():
            for path in open_files(pid):
                try:
                    with path.open("rb") as file:
                        if file.read(len(SQLITE_HEADER)) == SQLITE_HEADER:
                            found.add(path.name)
                except OSError:
                    continue
        return sorted(found)

    # --- asking it

    def api_python(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 (the tests' own Python, fixed arguments)
            [sys.executable, *args],
            cwd=ROOT,
            env={**self.env, **self.replicas["api"][0].definition["env"]},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"python {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def postgres_scalar(self, sql: str) -> str:
        engine = sa.create_engine(self.settings["DATABASE_URL"])
        try:
            with engine.connect() as connection:
                return str(connection.execute(sa.text(sql)).scalar())
        finally:
            engine.dispose()

    def logs(self) -> str:
        files = sorted(self.scratch.glob("*.log"))
        parts = [f"--- {file.name}\n{file.read_text(errors='replace')[-6000:]}" for file in files]
        if self.migrated is not None:
            parts.append(f"--- migrate-db\n{self.migrated.stdout}{self.migrated.stderr}")
        return "\n".join(parts)


def start_local_stack(
    scratch: Path, *, api_replicas: int = 1, bot_replicas: int = 1, **extra: str
) -> LocalStack:
    """Start the stack as local processes (`api_replicas` gunicorn servers, each on a port of
    its own; with BOT_MODE=webhook, `bot_replicas` bots, each listening on a port of its own)
    and wait until every service is healthy; `extra` settings override the defaults."""
    webhook = extra.get("BOT_MODE") == "webhook"
    if bot_replicas > 1 and not webhook:
        raise ValueError("several bot replicas need BOT_MODE=webhook: they would all poll")
    build_console()  # when frontend/ has no production build yet, as stack_up does
    api_binds = [f"127.0.0.1:{free_port()}" for _ in range(api_replicas)]
    webhook_binds = [f"127.0.0.1:{free_port()}" for _ in range(bot_replicas)] if webhook else []
    local = {
        "DATABASE_URL": f"sqlite:///{scratch / 'aidd.db'}",
        "API_BIND": api_binds[0],  # each replica's runner sets its own
        "API_WORKERS": "1",  # as in Compose: one gevent worker per replica
        "CONSOLE_BIND": "127.0.0.1",
        "CONSOLE_PORT": str(free_port()),
        "LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "TELEGRAM_API_BASE": f"http://127.0.0.1:{free_port()}",
    }
    settings = stack_settings(**{**local, **extra})
    env_file = scratch / "stack.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
    env_file.chmod(0o600)
    machine = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/"),
    }
    env = process_environment(machine, read_env_file(env_file))
    stack = LocalStack(scratch, settings, env, api_binds, webhook_binds)
    try:
        stack.up()
    except BaseException:
        print(stack.logs())
        stack.close()
        raise
    return stack


def _stop(replica: Replica) -> None:
    """SIGTERM to the runner: honcho stops the service (SIGTERM to its process group, SIGKILL
    5 s later). Whatever is left of either after that is killed: nothing outlives a stop."""
    runner = replica.runner
    if runner is None:
        return
    started = {pid: start_time(pid) for pid in replica.processes()}
    stop_runner(runner)
    for pid, started_at in started.items():
        if alive(pid) and start_time(pid) == started_at:  # still ours, not a reused id
            os.kill(pid, signal.SIGKILL)
    replica.runner = None


def replica_names(service: str, count: int) -> list[str]:
    """`api` alone, or `api.1`, `api.2`, ... where there are several, as Compose numbers them."""
    return [service] if count == 1 else [f"{service}.{i}" for i in range(1, count + 1)]


def _answers(url: str) -> bool:
    """The probe the image's healthcheck runs: a 2xx within 2 s."""
    try:
        return httpx.get(url, timeout=2).is_success
    except httpx.HTTPError:
        return False


def _state(service: str, running: bool, healthy: bool) -> ServiceState:
    return ServiceState(
        service, "running" if running else "exited", "healthy" if healthy else "unhealthy"
    )
