"""`nox -s stack_up` without a Docker engine: the stack as local processes (devops/local_stack.py).

`python3 devops/stack.py up` is run as nox runs it, with STACK_MODE=local (what it falls back to
when no engine answers) and a scratch settings file (ENV_FILE): free ports, a scratch SQLite
database, the fake LLM. It syncs the project's virtualenv and, like the README's quick start
(tests/test_readme.py), builds the console when frontend/ has no build yet, so the first run
may take minutes. Then the api and the console must answer, and one Ctrl+C (or SIGTERM) must
stop every process the stack started.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.doubles.fake_llm import FakeLLM
from tests.processes import alive, descendants
from tests.support import ROOT, free_port

STACK = ["python3", "devops/stack.py"]
# uv sync, and `npm ci` + `next build` on 2 busy cores when the console is not built yet.
UP_TIMEOUT_S = 1200
STOP_TIMEOUT_S = 60
ADMIN = ("admin", "admin-password-1")


def clean_environment(**extra: str) -> dict[str, str]:
    """A newcomer's terminal: PATH, HOME, the package tools' own settings, and `extra`."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}
    for name, value in os.environ.items():
        if name.startswith(("UV_", "npm_config_", "PIP_")) and name != "UV_PROJECT_ENVIRONMENT":
            env[name] = value
    return {**env, **extra}


def write_env_file(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))


class Output:
    """The stack's output, read line by line as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout

        def read() -> None:
            for line in stdout:
                self._queue.put(line)
            self._queue.put(None)

        threading.Thread(target=read, name="stack-output", daemon=True).start()

    def _lines(self, timeout: float) -> Iterator[str]:
        """The lines that come within `timeout` seconds (kept), until the output ends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                return
            self.lines.append(line)
            yield line

    def wait_for(self, text: str, timeout: float) -> str:
        for line in self._lines(timeout):
            if text in line:
                return line
        raise AssertionError(f"no {text!r} line; the stack said:\n{self.tail()}")

    def rest(self, timeout: float) -> None:
        """Read what is left (up to `timeout` seconds)."""
        for _ in self._lines(timeout):
            pass

    def tail(self) -> str:
        return "".join(self.lines[-80:])


@pytest.fixture
def local_stack(
    tmp_path: Path, fake_llm_server: FakeLLM
) -> Iterator[tuple[subprocess.Popen[str], Output, dict[str, str]]]:
    """`stack.py up --no-seed` in local mode, in a session of its own, up to its bot line."""
    api_port, console_port = free_port(), free_port()
    settings = {
        "APP_ENV": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'aidd.db'}",
        "LLM_BASE_URL": fake_llm_server.base_url,
        "LLM_MODEL": "test-model",
        "BOT_API_TOKEN": "local-stack-bot-token-0123456789",
        "SECRET_KEY": "local-stack-secret-key-0123456789",
        "ADMIN_USERNAME": ADMIN[0],
        "ADMIN_PASSWORD": ADMIN[1],
        "API_BIND": f"127.0.0.1:{api_port}",
        "API_WORKERS": "1",
        "CONSOLE_PORT": str(console_port),
        "TELEGRAM_BOT_TOKEN": "",
    }
    env_file = tmp_path / "stack.env"
    write_env_file(env_file, settings)
    process = subprocess.Popen(  # noqa: S603 (a fixed command line)
        [*STACK, "up", "--no-seed"],
        cwd=ROOT,
        env=clean_environment(ENV_FILE=str(env_file), STACK_MODE="local"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = Output(process)
    try:
        output.wait_for("stack: console:", UP_TIMEOUT_S)
        output.wait_for("stack: bot:", 30)
        yield process, output, settings
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            for pid in descendants(process.pid):
                os.kill(pid, signal.SIGKILL)
        process.wait()
        output.rest(timeout=5)
        assert process.stdout is not None
        process.stdout.close()


@pytest.mark.parametrize(
    "stop",
    [
        # Ctrl+C in the terminal: SIGINT to the whole foreground process group.
        pytest.param(lambda process: os.killpg(process.pid, signal.SIGINT), id="ctrl-c"),
        # A process manager, or `kill`: SIGTERM to stack.py alone.
        pytest.param(lambda process: process.send_signal(signal.SIGTERM), id="sigterm"),
    ],
)
def test_local_mode_serves_the_api_and_the_console_and_stops_every_process(
    local_stack: tuple[subprocess.Popen[str], Output, dict[str, str]], stop: object
) -> None:
    process, output, settings = local_stack
    said = "".join(output.lines)
    assert "stack: mode: local processes (no Docker engine answered)" in said
    console = f"http://127.0.0.1:{settings['CONSOLE_PORT']}"
    api = f"http://{settings['API_BIND']}"
    assert f"stack: console: {console}" in said
    assert f"stack: api: {api}" in said
    assert "stack: bot: off" in said, "without a Telegram token the bot is off, plainly"

    assert httpx.get(f"{api}/api/v1/health/ready", timeout=10).status_code == 200
    login = httpx.get(f"{console}/login", timeout=30)
    assert login.status_code == 200
    assert "Sign in" in login.text
    with httpx.Client(base_url=console, timeout=30) as browser:
        signed_in = browser.post(
            "/api/v1/auth/login",
            json={"username": ADMIN[0], "password": ADMIN[1]},
            headers={"Origin": console},
        )
        assert signed_in.status_code == 200, "the console reaches the api: " + signed_in.text

    started = descendants(process.pid)
    assert len(started) >= 2, f"no service processes below stack.py: {started}"
    assert callable(stop)
    stop(process)
    try:
        returncode = process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"stack.py did not stop:\n{output.tail()}") from None
    output.rest(timeout=5)
    assert returncode == 0, output.tail()
    left = sorted(pid for pid in started if alive(pid))
    assert not left, f"processes left behind: {left}\n{output.tail()}"
    assert "stack: stopped; data kept" in "".join(output.lines)


@pytest.mark.parametrize("command", ["down", "logs"])
def test_down_and_logs_in_local_mode_say_where_the_processes_are(command: str) -> None:
    done = subprocess.run(  # noqa: S603 (a fixed command line)
        [*STACK, command],
        cwd=ROOT,
        env=clean_environment(STACK_MODE="local"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Ctrl+C in the terminal running `nox -s stack_up`" in done.stdout
