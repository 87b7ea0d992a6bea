"""The stack without a Docker engine: api, frontend and bot as local processes.

`python devops/stack.py up` comes here when no Docker engine answers (or STACK_MODE=local).
The same three services as Compose, with the same settings (.env, or the file ENV_FILE names)
and the same ports: the api is gunicorn on API_BIND (127.0.0.1:8000 by default), the console
is its production build (the Next.js standalone server) on 127.0.0.1:CONSOLE_PORT (3000), the
bot is `python -m bot`, started only when a Telegram token is set.

Two halves. `run_local` (standard library only, run by the system's python3 as stack.py is)
syncs the project's virtualenv with uv, builds the console when it is not built, migrates the
database, starts the other half in the virtualenv, waits until the api and the console answer,
prints the URLs and offers demo data, then waits. `serve` (this file run as
`python devops/local_stack.py serve`, inside the virtualenv) runs the services with honcho's
Manager: their output prefixed with their names in one terminal, and when one stops, or on
Ctrl+C / SIGTERM, every one is stopped (SIGTERM to each one's process group, SIGKILL 5 s
later), so nothing is left behind.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

if __package__:  # imported as devops.local_stack
    from devops.stack import ROOT, ensure_env_file, offer_demo_data, read_env_file, say
else:  # devops/ is on sys.path: stack.py and this file are run as scripts
    from stack import ROOT, ensure_env_file, offer_demo_data, read_env_file, say

FRONTEND = ROOT / "frontend"
SERVER_JS = FRONTEND / ".next" / "standalone" / "server.js"
READY_TIMEOUT_S = 120
# How long the services may take to stop after Ctrl+C / SIGTERM before they are killed.
STOP_TIMEOUT_S = 30
GUNICORN_ARGS = ["-c", "python:webapi.gunicorn_conf", "webapi:create_app()"]


def run_local(seed: bool | None) -> int:
    """Start the stack as local processes and serve until Ctrl+C or SIGTERM: 0 once it was up
    and stopped on request, non-zero when it could not start or a service failed."""
    env_file = Path(os.environ.get("ENV_FILE", ROOT / ".env"))
    ensure_env_file(env_file)
    settings = read_env_file(env_file)
    env = process_environment(os.environ, settings)
    api_bind = env.get("API_BIND") or "127.0.0.1:8000"
    if api_bind.startswith("unix:"):
        say(f"API_BIND={api_bind}: local mode serves the api over TCP; set HOST:PORT")
        return 2
    api_url = local_url(api_bind)
    console_host = settings.get("CONSOLE_BIND") or "127.0.0.1"
    console_port = settings.get("CONSOLE_PORT") or "3000"
    console_url = f"http://{console_host}:{console_port}"
    bot = telegram_token_set(os.environ, settings)

    python = virtualenv_python()
    if python is None:
        return 1
    env["PATH"] = f"{Path(python).parent}{os.pathsep}{env.get('PATH', '')}"
    if not SERVER_JS.is_file() and not build_console():
        return 1
    migrated = migrate(python, env)
    if migrated.returncode != 0:
        say("the database could not be migrated (above); nothing was started")
        return migrated.returncode

    services = {
        "api": api_service(python, api_bind),
        "frontend": frontend_service(console_host, console_port, api_url),
    }
    if bot:
        services["bot"] = bot_service(python, api_url)
    runner = start_runner(python, services, env, process_group=0)
    stop = _forward_signals(runner)
    try:
        if not wait_until_up(runner, f"{api_url}/api/v1/health/ready", f"{console_url}/login"):
            say("the stack did not come up (the services' output is above); stopping it")
            stop_runner(runner, signalled=False)
            return runner.returncode or 1
        say("mode: local processes (no Docker engine answered)")
        say(
            f"console: {console_url}  (sign in as {settings.get('ADMIN_USERNAME') or 'your admin'})"
        )
        say(f"api: {api_url}")
        if bot:
            say("bot: on")
        else:
            say(f"bot: off (no TELEGRAM_BOT_TOKEN in {env_file.name}; set it, start again)")
        offer_demo_data(
            [python],
            env,
            seed,
            typed_as="uv run flask",
            can_seed=lambda: runner.poll() is None,  # the services still run
        )
        say("serving in this terminal; Ctrl+C stops every service")
        runner.wait()
    except KeyboardInterrupt:  # a signal, already passed on to the runner
        stop_runner(runner, signalled=True)
    finally:
        stop()
    if runner.returncode in {0, -signal.SIGINT, -signal.SIGTERM, 130, 143}:
        say("stopped; data kept")
        return 0
    say(f"a service stopped (exit status {runner.returncode}); every other one was stopped too")
    return runner.returncode or 1


def local_url(bind: str) -> str:
    """Where this machine reaches a HOST:PORT a server binds (every interface: loopback)."""
    host, _, port = bind.rpartition(":")
    return f"http://{'127.0.0.1' if host in {'', '0.0.0.0'} else host}:{port}"  # noqa: S104


def migrate(
    python: str, env: Mapping[str, str], **options: Any
) -> subprocess.CompletedProcess[str]:
    """`flask --app webapi.migrate_db migrate-db` (the bare app Compose's one-shot migrate step
    runs), once per start, before the api serves; `options` go to subprocess.run (e.g.
    capture_output)."""
    return subprocess.run(
        [python, "-m", "flask", "--app", "webapi.migrate_db", "migrate-db"],
        cwd=ROOT,
        env={**env, "ADMIN_USERNAME": ""},  # accounts are the api's business
        text=True,
        check=False,
        **options,
    )


# The services as `serve` runs them: a command line and what its environment adds.
def api_service(python: str, api_bind: str) -> dict[str, Any]:
    return {"command": [python, "-m", "gunicorn", *GUNICORN_ARGS], "env": {"API_BIND": api_bind}}


def frontend_service(host: str, port: str, api_url: str) -> dict[str, Any]:
    env = {"NODE_ENV": "production", "HOSTNAME": host, "PORT": port, "API_URL": api_url}
    return {"command": ["node", str(SERVER_JS)], "env": env}


def bot_service(python: str, api_url: str) -> dict[str, Any]:
    return {"command": [python, "-m", "bot"], "env": {"API_URL": api_url}}


def start_runner(
    python: str, services: Mapping[str, Mapping[str, Any]], env: Mapping[str, str], **options: Any
) -> subprocess.Popen[bytes]:
    """This file's `serve` on `services`, in the project's virtualenv; `options` go to Popen
    (a process group, where the output goes)."""
    return subprocess.Popen(
        [python, str(Path(__file__).resolve()), "serve", json.dumps(services)],
        cwd=ROOT,
        env=env,
        **options,
    )


def process_environment(environ: Mapping[str, str], settings: Mapping[str, str]) -> dict[str, str]:
    """What every service gets: the settings file over the machine's environment (as Compose's
    env_file gives the containers the file's values), and never a .env of Flask's choosing."""
    env = {**environ, **{name: value for name, value in settings.items() if value != ""}}
    # An empty value means "not set" (.env.example): drop what the machine's environment says.
    for name, value in settings.items():
        if value == "":
            env.pop(name, None)
    env["FLASK_SKIP_DOTENV"] = "1"
    env["NEXT_TELEMETRY_DISABLED"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def telegram_token_set(environ: Mapping[str, str], settings: Mapping[str, str]) -> bool:
    return any(
        settings.get(name) or environ.get(name)
        for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN_FILE")
    )


def virtualenv_python() -> str | None:
    """The project's virtualenv, synced from uv.lock (the project, the bot and honcho; other
    groups already there are kept): its python."""
    say("uv sync: the project's virtualenv (.venv)")
    try:
        synced = subprocess.run(
            ["uv", "sync", "--frozen", "--inexact", "--no-default-groups", "--group", "stack"],
            cwd=ROOT,
            check=False,
        )
    except FileNotFoundError:
        say("uv is not installed: https://docs.astral.sh/uv/ (local mode runs the project with it)")
        return None
    if synced.returncode != 0:
        say("uv sync failed (above)")
        return None
    found = subprocess.run(
        ["uv", "run", "--frozen", "--no-sync", "python", "-c", "import sys; print(sys.executable)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    python = found.stdout.strip()
    if found.returncode != 0 or not python:
        say(f"the virtualenv's python was not found: {found.stderr.strip()}")
        return None
    return python


def build_console() -> bool:
    """The console's production build (npm ci, npm run build), when there is none yet."""
    say("the console is not built yet: npm ci and npm run build in frontend/ (a few minutes)")
    env = {**os.environ, "NEXT_TELEMETRY_DISABLED": "1"}
    for command in (["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "build"]):
        try:
            done = subprocess.run(command, cwd=FRONTEND, env=env, check=False)
        except FileNotFoundError:
            say("npm is not installed: the console needs Node.js 20.19+ and npm")
            return False
        if done.returncode != 0:
            say(f"{' '.join(command)} failed in frontend/ (above)")
            return False
    return SERVER_JS.is_file()


def answers(url: str) -> bool:
    """The URL answers with a status below 500 (the console's /login: 200)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
            return bool(response.status < 500)
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError):
        return False


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_until_up(runner: subprocess.Popen[bytes], api_ready: str, console: str) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if runner.poll() is not None:
            return False
        if ready(api_ready) and answers(console):
            return True
        time.sleep(0.5)
    return False


def _forward_signals(runner: subprocess.Popen[bytes]) -> Any:
    """Ctrl+C (SIGINT) and SIGTERM reach the runner, which stops every service; the first one
    also interrupts what this process is doing (waiting, asking) as KeyboardInterrupt. The
    runner has a process group of its own, so each signal reaches it once, from here. Returns
    the undo."""
    interrupted = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal interrupted
        if runner.poll() is None:
            runner.send_signal(signum)
        if not interrupted:
            interrupted = True
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def stop_runner(runner: subprocess.Popen[bytes], signalled: bool = False) -> None:
    """Stop the runner (honcho stops every service: SIGTERM, SIGKILL 5 s later) and wait."""
    if not signalled and runner.poll() is None:
        runner.send_signal(signal.SIGTERM)
    try:
        runner.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        runner.kill()
        runner.wait()


def serve(services: Mapping[str, Mapping[str, Any]]) -> int:
    """Run the services with honcho until one stops or a signal comes; every one stopped."""
    from honcho.manager import Manager

    manager = Manager()
    for name, service in services.items():
        command = "exec " + shlex.join(service["command"])
        manager.add_process(name, command, env={**os.environ, **service["env"]}, cwd=str(ROOT))
    manager.loop()
    return int(manager.returncode or 0)


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"] or len(sys.argv) != 3:
        sys.exit(
            "usage: python devops/local_stack.py serve SERVICES_JSON (devops/stack.py runs it)"
        )
    sys.exit(serve(json.loads(sys.argv[2])))
