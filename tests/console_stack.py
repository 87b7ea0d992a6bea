"""The console's whole stack as local processes on 127.0.0.1, for the browser tests (tests/e2e)
and the console's benchmark (tests/bench/console.py): webapi migrated and served by gunicorn
(APP_ENV=production, an admin account, the given LLM), filled by `seed-demo`, and the console's
production build (the Next.js standalone server) proxying to it.

The console must be built first (`npm run build` in frontend/; `nox -s web` and `nox -s bench`
do): `build_console()` builds it when it is not.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import (
    ROOT,
    background_process,
    flask_cli,
    free_port,
    migrated_and_served,
    server_environment,
)

FRONTEND = ROOT / "frontend"
STANDALONE = FRONTEND / ".next" / "standalone"
SERVER_JS = STANDALONE / "server.js"
NOT_BUILT = "the console is not built: run `npm run build` in frontend/ (nox -s web does)"
# Debian's chromium, headless, with nothing of its own reaching the network.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = ("admin", "admin-password-1")
# The demo data the browser tests check the dashboard against.
DEMO = ["--users", "120", "--messages", "6000", "--days", "40", "--seed", "5"]


@dataclass(frozen=True)
class ConsoleStack:
    console_url: str
    api_url: str


def _wait_listening(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=1, follow_redirects=False)
            return
        except httpx.TransportError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text()[-4000:]}")


@contextmanager
def console_stack(
    scratch: Path, llm_base_url: str, demo: list[str] = DEMO
) -> Iterator[ConsoleStack]:
    """webapi (SQLite in `scratch`, `demo` as seed-demo's arguments) and the console in front of
    it, both stopped at the end; their logs are api.log and console.log in `scratch`.
    Sign in with ADMIN. Raises RuntimeError when the console is not built."""
    if not SERVER_JS.is_file():
        raise RuntimeError(NOT_BUILT)
    env = server_environment(
        f"sqlite:///{scratch / 'aidd.db'}",
        llm_base_url,
        ADMIN_USERNAME=ADMIN[0],
        ADMIN_PASSWORD=ADMIN[1],
        APP_ENV="production",
        # The browser tests sign in afresh each, more often than the production limit allows.
        LOGIN_RATE_LIMIT="1000 per minute",
        LOGIN_CLIENT_RATE_LIMIT="1000 per minute",
    )
    with migrated_and_served(env, scratch / "api.log") as (api_url, _):
        seeded = flask_cli(env, "seed-demo", *demo)
        if seeded.returncode != 0:
            raise RuntimeError(f"seed-demo failed:\n{seeded.stderr}")
        port = free_port()
        console_env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/"),
            "NODE_ENV": "production",
            "NEXT_TELEMETRY_DISABLED": "1",
            "HOSTNAME": "127.0.0.1",
            "PORT": str(port),
            "API_URL": api_url,
        }
        log = scratch / "console.log"
        with background_process(["node", str(SERVER_JS)], console_env, log) as console:
            url = f"http://127.0.0.1:{port}"
            _wait_listening(url + "/login", console, log)
            yield ConsoleStack(url, api_url)


def build_console() -> None:
    """The console's production build, when there is none: `npm ci` (when frontend/ has no
    node_modules, or one without the devDependencies the benchmark needs), then `npm run
    build`. Raises RuntimeError, with npm's output, when either fails."""
    if SERVER_JS.is_file():
        return
    env = {**os.environ, "NEXT_TELEMETRY_DISABLED": "1"}
    steps = [["npm", "run", "build"]]
    if not (FRONTEND / "node_modules" / "lighthouse").is_dir():
        steps.insert(0, ["npm", "ci", "--no-audit", "--no-fund"])
    for command in steps:
        print(f"frontend/: {' '.join(command)}", flush=True)
        done = subprocess.run(  # noqa: S603 (a fixed command line)
            command, cwd=FRONTEND, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed in frontend/ (Node 20.19+ and npm needed):\n"
                f"{(done.stdout + done.stderr)[-4000:]}"
            )
