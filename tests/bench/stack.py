"""The stack's figures: time from `up` to every service healthy with the images built, what
each image adds on top of its base, and the idle stack's memory as the containers' own usage.

The stack is docker-compose.yml plus the stack tests' doubles (tests/integration: the bot
needs a Telegram to talk to), on the base images stack_up would use; a Compose project of its
own, removed at the end. Start-up is timed --stack-runs times from a stopped stack (volumes
kept: migrations already at head, as on any start but the first) and once from nothing; the
median is reported. Memory is `docker stats` of api, bot and frontend after a quiet spell.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devops import stack as stack_driver
from tests.integration.compose_stack import TEST_COMPOSE_FILE, env_file_for

SERVICES = ("api", "bot", "frontend")
# The goals.
START_GOAL_S = 15.0
SIZE_GOALS_MB = {"api": 80, "bot": 80, "frontend": 150}
MEMORY_GOAL_MB = 350
IDLE_S = 20
MB = 1_000_000


@dataclass
class Result:
    first_start_s: float
    starts_s: list[float]
    added_mb: dict[str, float]
    bases: dict[str, str]
    memory_mb: dict[str, float]


def _compose(env: dict[str, str], *args: str) -> list[str]:
    return stack_driver.compose(
        "--profile", "bot", *args, files=[TEST_COMPOSE_FILE], env_file=Path(env["ENV_FILE"])
    )


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (docker compose, fixed arguments)
        _compose(env, *args), env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker compose {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def _timed_up(env: dict[str, str]) -> float:
    started = time.perf_counter()
    _run(env, "up", "--detach", "--wait", "--no-build")
    return time.perf_counter() - started


def _image_size(name: str) -> int:
    out = subprocess.run(  # noqa: S603
        ["docker", "image", "inspect", "--format", "{{.Size}}", name],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())


def _memory_mb(env: dict[str, str]) -> dict[str, float]:
    ids = {service: _run(env, "ps", "--quiet", service).split()[0] for service in SERVICES}
    out = subprocess.run(  # noqa: S603
        ["docker", "stats", "--no-stream", "--format", "{{json .}}", *ids.values()],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    usage = {}
    for line in out.splitlines():
        row = json.loads(line)
        used = row["MemUsage"].split("/")[0].strip()
        usage[row["ID"][:12]] = _bytes(used) / MB
    return {service: usage[container[:12]] for service, container in ids.items()}


def _bytes(text: str) -> float:
    units = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1e3, "MB": 1e6}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def measure(scratch: Path, runs: int) -> Result:
    project = f"aidd-bench-{secrets.token_hex(3)}"
    env_file = scratch / f"{project}.env"
    env_file_for(env_file, project)
    env = {**os.environ, "ENV_FILE": str(env_file), "COMPOSE_PROJECT_NAME": project}
    env.update(stack_driver.build_environment(env))
    print("stack: building the images", flush=True)
    _run(env, "build")
    try:
        first = _timed_up(env)
        starts = []
        for _ in range(runs):
            _run(env, "stop")
            starts.append(_timed_up(env))
        time.sleep(IDLE_S)
        memory = _memory_mb(env)
    finally:
        _run(env, "down", "--volumes", "--remove-orphans")
    tag = env.get("IMAGE_TAG", "latest")
    bases = {"api": env["PYTHON_IMAGE"], "bot": env["PYTHON_IMAGE"], "frontend": env["NODE_IMAGE"]}
    added = {
        service: (_image_size(f"systech-aidd/{service}:{tag}") - _image_size(bases[service])) / MB
        for service in SERVICES
    }
    return Result(first, starts, added, bases, memory)


def print_report(result: Result) -> None:
    print("The stack (Docker Compose, images built; bars from the issue)")
    median = statistics.median(result.starts_s)
    runs = ", ".join(f"{s:.1f}" for s in result.starts_s)
    print(
        f"  up to all healthy, median of {len(result.starts_s)}: {median:6.1f} s"
        f"  (≤ {START_GOAL_S:.0f} s; runs {runs})"
    )
    print(f"  up to all healthy, first start (empty volumes): {result.first_start_s:.1f} s")
    for service in SERVICES:
        print(
            f"  {service:<9} image adds {result.added_mb[service]:6.1f} MB on "
            f"{result.bases[service]:<32} (≤ {SIZE_GOALS_MB[service]} MB)"
        )
    total = sum(result.memory_mb.values())
    each = ", ".join(f"{s} {m:.0f}" for s, m in result.memory_mb.items())
    print(f"  idle memory after {IDLE_S} s: {total:6.1f} MB  (≤ {MEMORY_GOAL_MB} MB; {each})")
