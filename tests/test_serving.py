"""webapi under gunicorn, as the README starts it: start-up checks, workers, logs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.doubles.fake_llm import FakeLLM
from tests.support import (
    APP,
    GUNICORN,
    ROOT,
    gunicorn_server,
    migrated_and_served,
    server_environment,
)

ADMIN = ("admin", "first-admin-password")


def _bad_role_file(tmp_path: Path) -> str:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "consultant.md").write_text("no front matter here\n", encoding="utf-8")
    return str(prompts)


# Each is found only after the settings parse (in create_app), or is a serving setting.
BAD_STARTS = [
    pytest.param({"DEFAULT_ROLE": "no-such-role"}, "DEFAULT_ROLE", id="unknown-default-role"),
    pytest.param({"PROMPTS_DIR": _bad_role_file}, "PROMPTS_DIR", id="bad-role-file"),
    pytest.param(
        {"ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": "short"},
        "ADMIN_USERNAME/ADMIN_PASSWORD",
        id="short-admin-password",
    ),
    pytest.param({"RATELIMIT_STORAGE_URI": "bogus://x"}, "RATELIMIT_STORAGE_URI", id="bad-storage"),
    pytest.param({"API_WORKERS": "two"}, "API_WORKERS", id="workers-not-a-number"),
    pytest.param({"API_CONNECTIONS": "0"}, "API_CONNECTIONS", id="no-connections"),
    pytest.param({"API_BIND": "localhost"}, "API_BIND", id="bind-without-port"),
    pytest.param({"DATABASE_URL": "mysql://db/aidd"}, "DATABASE_URL", id="driver-not-installed"),
]


@pytest.mark.parametrize(("settings", "name"), BAD_STARTS)
def test_a_bad_configuration_stops_gunicorn_with_one_line(
    tmp_path: Path, fake_llm: FakeLLM, settings: dict[str, object], name: str
) -> None:
    values = {
        key: value(tmp_path) if callable(value) else str(value) for key, value in settings.items()
    }
    env = server_environment(f"sqlite:///{tmp_path / 'aidd.db'}", fake_llm.base_url, **values)

    result = subprocess.run(  # noqa: S603 (a fixed command line)
        [*GUNICORN, APP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )

    assert result.returncode != 0, "the server stopped, and said it failed"
    assert "Traceback" not in result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, f"one line, once, before any worker started: {lines}"
    assert lines[0].startswith(f"configuration error: {name} "), lines[0]
    assert "short" not in lines[0] or name != "ADMIN_USERNAME/ADMIN_PASSWORD", "no value echoed"


def test_development_sessions_hold_across_workers(tmp_path: Path, fake_llm: FakeLLM) -> None:
    """Without SECRET_KEY (development), the whole server signs with one key."""
    env = server_environment(
        f"sqlite:///{tmp_path / 'aidd.db'}",
        fake_llm.base_url,
        APP_ENV="development",
        API_WORKERS="3",
        ADMIN_USERNAME=ADMIN[0],
        ADMIN_PASSWORD=ADMIN[1],
    )
    del env["SECRET_KEY"]
    with migrated_and_served(env, tmp_path / "api.log") as (url, _):
        # A new connection per request, so that requests spread over the workers.
        signed_in = httpx.post(
            f"{url}/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
        )
        assert signed_in.status_code == 200
        cookies = dict(signed_in.cookies)
        answers = [
            httpx.get(f"{url}/api/v1/auth/me", cookies=cookies).status_code for _ in range(30)
        ]
    assert answers == [200] * 30
    workers = {line.split("]")[1] for line in (tmp_path / "api.log").read_text().splitlines()}
    assert len(workers) > 2, "the requests were served by more than one process"


def test_the_first_admin_is_logged_by_name_and_sign_in_has_no_retry_after(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    env = server_environment(
        f"sqlite:///{tmp_path / 'aidd.db'}",
        fake_llm.base_url,
        API_WORKERS="1",
        ADMIN_USERNAME=ADMIN[0],
        ADMIN_PASSWORD=ADMIN[1],
    )
    with migrated_and_served(env, tmp_path / "api.log") as (url, _):
        signed_in = httpx.post(
            f"{url}/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
        )

    assert signed_in.status_code == 200
    assert "Retry-After" not in signed_in.headers, "a successful sign-in has nothing to retry"
    log = (tmp_path / "api.log").read_text()
    assert f"created the first admin account '{ADMIN[0]}'" in log
    assert ADMIN[1] not in log


def test_the_worker_shares_the_masters_memory(tmp_path: Path, fake_llm: FakeLLM) -> None:
    """gunicorn builds the app in its master and the worker forks from it, the master's objects
    frozen out of the collector's reach: most of the worker's memory stays the master's pages,
    not a copy (webapi/gunicorn_conf.py). A worker that imported the app itself, or copied
    the master's pages, would have most of its memory to itself."""
    env = server_environment(
        f"sqlite:///{tmp_path / 'aidd.db'}", fake_llm.base_url, API_WORKERS="1"
    )
    with migrated_and_served(env, tmp_path / "api.log") as (url, server):
        for _ in range(20):  # some work, as a serving worker does
            assert httpx.get(f"{url}/api/v1/health/ready").status_code == 200
        (worker,) = [
            int(pid)
            for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        ]
        memory = smaps_rollup(worker)
    private = memory["Private_Dirty"] / memory["Anonymous"]
    assert private < 0.4, memory


def smaps_rollup(pid: int) -> dict[str, int]:
    """A process's memory totals (kB) from /proc/PID/smaps_rollup."""
    totals = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        totals[name.rstrip(":")] = int(value)
    return totals


def healthcheck(env: dict[str, str]) -> int:
    """The api container's healthcheck command, as Docker runs it (devops/Dockerfile.api)."""
    done = subprocess.run(
        [sys.executable, "-S", "-m", "webapi.healthcheck"],
        cwd=ROOT,
        env={"API_BIND": env["API_BIND"]},
        timeout=10,
        check=False,
    )
    return done.returncode


def test_the_healthcheck_passes_only_while_the_api_is_ready(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    env = server_environment(f"sqlite:///{tmp_path / 'new.db'}", fake_llm.base_url)
    assert healthcheck(env) == 1  # nothing listens

    # Serving, but the database is not migrated: alive, not ready.
    with gunicorn_server(env, tmp_path / "unmigrated.log"):
        url = f"http://{env['API_BIND']}"
        deadline = time.monotonic() + 30
        while not _answers(f"{url}/api/v1/health"):
            assert time.monotonic() < deadline, (tmp_path / "unmigrated.log").read_text()
            time.sleep(0.1)
        assert httpx.get(f"{url}/api/v1/health/ready").status_code == 503
        assert healthcheck(env) == 1

    env = server_environment(f"sqlite:///{tmp_path / 'aidd.db'}", fake_llm.base_url)
    with migrated_and_served(env, tmp_path / "api.log"):
        assert healthcheck(env) == 0
    assert healthcheck(env) == 1


def _answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.TransportError:
        return False
