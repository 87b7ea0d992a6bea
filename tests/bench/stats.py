"""The statistics benchmark: the dashboard's endpoints over seed-demo data, idle and while
answers stream.

For each database (SQLite, then PostgreSQL) and each size (messages; users = messages / 100,
90 days ending now): a fresh database, migrated and filled by `flask --app webapi seed-demo`
(timed), served by gunicorn as production serves it (2 workers). One signed-in client asks
every endpoint for every period in turn, one request at a time on a kept-alive connection,
--stats-requests rounds; a dashboard load fires the dashboard's six blocks of one period at
once, each on a new connection, and waits for the last. Then the same again while 50
conversations stream answers (paced by the bench LLM over about 4 s each) at a steady 10
answers/s in total, from a process of its own (this module, run as below) so that its work does
not share this client's interpreter. Latencies are taken at the client, from sending a request
to holding its whole body; the client is stdlib http.client, which costs little CPU.

Writers alone: python -m tests.bench.stats --url URL  (prints `started`, then streams until
SIGTERM, then prints its JSON report)
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.bench.cpu import process_tree_cpu_s
from tests.bench.load import QUESTION, Outcomes, answer, bot_session
from tests.support import (
    BOT_TOKEN,
    POSTGRES_ADMIN_URL,
    ROOT,
    flask_cli,
    migrated_and_served,
    scratch_postgres_database,
    server_environment,
)

MS = 1000.0
DAYS = 90
USERS_PER_MESSAGE = 1 / 100
SEED = 1
PERIODS = ("day", "week", "month")
TZ = "Asia/Kolkata"  # as a browser sends it: local hours and days that are not UTC's
STATS = "/api/v1/stats"
# (row, path under STATS, extra query)
ENDPOINTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("overview", "overview", {}),
    ("performance", "performance", {}),
    ("activity", "activity", {}),
    ("top-users", "top-users", {}),
    ("dialogs", "dialogs", {}),
    ("dialogs sort=latest", "dialogs", {"sort": "latest"}),
    ("dialogs sort=messages", "dialogs", {"sort": "messages"}),
    ("breakdown", "breakdown", {}),
)
DASHBOARD = ("overview", "performance", "activity", "top-users", "dialogs", "breakdown")
DASHBOARD_ROW = f"dashboard ({len(DASHBOARD)} at once)"
ENDPOINT_BUDGET_MS, DASHBOARD_BUDGET_MS = 50.0, 150.0
WRITERS, WRITE_RATE = 50, 10.0
WRITER_QUESTION = f"SLOW {QUESTION}"  # the bench LLM paces it: about 4 s an answer
FIRST_WRITER_ID = 1  # seed-demo's users are 7,000,000,000 and up
ADMIN, ADMIN_PASSWORD = "bench-admin", "bench-password-0123456789"  # a scratch database's
SEED_TIMEOUT_S = 3600


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the k-th smallest value, k = ⌈share·n⌉ (at least 1)."""
    ordered = sorted(values)
    rank = math.ceil(share * len(ordered) - 1e-9)  # a product such as 0.07 · 100 = 7.000…01
    return ordered[max(0, min(len(ordered) - 1, rank - 1))]


# --- one database at one size -----------------------------------------------------------------


@dataclass
class Phase:
    """One round of measurements: each (row, period)'s latencies in seconds, and CPU spent:
    by this client, by gunicorn, by PostgreSQL's backends serving the database, by the whole
    benchmark (our processes and those backends) and by the whole machine, which others share."""

    samples: dict[tuple[str, str], list[float]]
    requests: int
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float
    database_cpu_s: float
    bench_cpu_s: float
    machine_cpu_s: float


@dataclass
class Run:
    database: str
    messages: int
    users: int
    seed_s: float
    floor: list[float]  # GET /api/v1/health: what any request costs here
    idle: Phase
    busy: Phase
    writes: dict[str, Any]
    server_errors: Counter[str]


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu_s() -> float:
    """CPU time every core spent busy since boot (/proc/stat: all but idle and iowait)."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


class Meters:
    """CPU time so far of this benchmark's parts: gunicorn, and the PostgreSQL backends that
    serve its database (none for SQLite), which are no processes of ours."""

    def __init__(self, server_pid: int, database_url: str) -> None:
        self.server_pid = server_pid
        postgres = database_url.startswith("postgresql")
        self.engine = sa.create_engine(database_url, poolclass=NullPool) if postgres else None

    def server_s(self) -> float:
        return process_tree_cpu_s(self.server_pid)

    def backends_s(self) -> dict[int, float]:
        if self.engine is None:
            return {}
        with self.engine.connect() as connection:
            pids = connection.scalars(
                sa.text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
        return {pid: process_tree_cpu_s(pid) for pid in pids}

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


class Console:
    """A signed-in console client on stdlib http.client: its own CPU per request (about 0.5 ms
    here) is a quarter of httpx's, on a machine whose two cores the server needs."""

    def __init__(self, api_url: str) -> None:
        self.host, self.port = api_url.removeprefix("http://").rsplit(":", 1)
        credentials = {"username": ADMIN, "password": ADMIN_PASSWORD}
        signed_in = httpx.post(f"{api_url}/api/v1/auth/login", json=credentials)
        signed_in.raise_for_status()
        self.cookie = "; ".join(f"{name}={value}" for name, value in signed_in.cookies.items())
        self.kept = self.connection()  # sequential requests reuse it, as a browser would

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, int(self.port), timeout=60)

    def timed_get(
        self, path: str, query: dict[str, str], connection: http.client.HTTPConnection | None
    ) -> float:
        """Seconds from sending the request to holding the whole body."""
        connection = connection or self.kept
        target = f"{path}?{urlencode(query)}" if query else path
        try:
            return self._timed(connection, target)
        except ConnectionError:  # gunicorn closed it after its keep-alive: once more, anew
            connection.close()
            return self._timed(connection, target)

    def _timed(self, connection: http.client.HTTPConnection, target: str) -> float:
        started = time.perf_counter()
        connection.request("GET", target, headers={"Cookie": self.cookie})
        response = connection.getresponse()
        body = response.read()
        took = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"GET {target}: HTTP {response.status} {body[:500]!r}")
        return took

    def dashboard_load(self, pool: ThreadPoolExecutor, period: str) -> float:
        """The dashboard's blocks of one period asked at once, each on a new connection (so
        that each load draws anew which of gunicorn's workers takes which): the time until the
        last arrived."""
        query = {"period": period, "tz": TZ}
        connections = [self.connection() for _ in DASHBOARD]
        started = time.perf_counter()
        loads = [
            pool.submit(self.timed_get, f"{STATS}/{block}", query, connection)
            for block, connection in zip(DASHBOARD, connections, strict=True)
        ]
        for load in loads:
            load.result()
        took = time.perf_counter() - started
        for connection in connections:
            connection.close()
        return took

    def close(self) -> None:
        self.kept.close()


def measure_phase(console: Console, pool: ThreadPoolExecutor, meters: Meters, rounds: int) -> Phase:
    """`rounds` times every figure in turn, so that noise and caches fall on all alike."""
    samples: dict[tuple[str, str], list[float]] = defaultdict(list)
    client_before, server_before, backends_before = (
        own_cpu_s(),
        meters.server_s(),
        meters.backends_s(),
    )
    ours_before, machine_before = process_tree_cpu_s(os.getpid()), machine_cpu_s()
    started = time.perf_counter()
    for _ in range(rounds):
        for row, path, extra in ENDPOINTS:
            for period in PERIODS:
                query = {"period": period, "tz": TZ, **extra}
                samples[row, period].append(console.timed_get(f"{STATS}/{path}", query, None))
        for period in PERIODS:
            samples[DASHBOARD_ROW, period].append(console.dashboard_load(pool, period))
    wall_s = time.perf_counter() - started
    machine_s, ours_s = (
        machine_cpu_s() - machine_before,
        process_tree_cpu_s(os.getpid()) - ours_before,
    )
    # Backends that ended meanwhile are missed; the pools keep theirs open.
    backends_s = sum(
        spent - backends_before.get(pid, 0.0) for pid, spent in meters.backends_s().items()
    )
    return Phase(
        samples=dict(samples),
        requests=rounds * len(PERIODS) * (len(ENDPOINTS) + len(DASHBOARD)),
        wall_s=wall_s,
        client_cpu_s=own_cpu_s() - client_before,
        server_cpu_s=meters.server_s() - server_before,
        database_cpu_s=backends_s,
        bench_cpu_s=ours_s + backends_s,
        machine_cpu_s=machine_s,
    )


def seeded(env: dict[str, str], messages: int, users: int) -> float:
    """Migrate, seed (the seconds seed-demo took), and add the console admin we sign in as."""
    migrated = flask_cli(env, "db", "upgrade")
    if migrated.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{migrated.stderr}")
    command = [sys.executable, "-m", "flask", "--app", "webapi", "seed-demo"]
    options = ["--users", str(users), "--messages", str(messages), "--days", str(DAYS)]
    options += ["--seed", str(SEED), "--until", datetime.now(UTC).date().isoformat()]
    started = time.perf_counter()
    seed = subprocess.run(  # noqa: S603 (a fixed command line)
        [*command, *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SEED_TIMEOUT_S,
        check=False,
    )
    took = time.perf_counter() - started
    if seed.returncode != 0:
        raise RuntimeError(f"seed-demo failed:\n{seed.stderr[-4000:]}")
    admin = flask_cli({**env, "ADMIN_PASSWORD": ADMIN_PASSWORD}, "create-admin", ADMIN)
    if admin.returncode != 0:
        raise RuntimeError(f"flask create-admin failed:\n{admin.stderr}")
    return took


@contextmanager
def writers(api_url: str, log_path: Path) -> Iterator[subprocess.Popen[str]]:
    """The writers' process, once its conversations are all streaming; stopped at the end."""
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 (a fixed command line)
            [sys.executable, "-m", "tests.bench.stats", "--url", api_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if line.strip() != "started":
                process.kill()
                raise RuntimeError(f"the writers did not start:\n{log_path.read_text()}")
            time.sleep(WRITERS / WRITE_RATE)  # one whole cycle: every conversation has begun
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


def stopped_writers(process: subprocess.Popen[str], log_path: Path) -> dict[str, Any]:
    """Stop the writers (in-flight answers finish) and read their report."""
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"the writers failed:\n{log_path.read_text()[-4000:]}")
    return dict(json.loads(out))


def measure(
    database: str, url: str, messages: int, llm_url: str, workdir: Path, rounds: int
) -> Run:
    users = max(1, round(messages * USERS_PER_MESSAGE))
    env = server_environment(url, f"{llm_url}/v1", API_WORKERS="2")
    seed_s = seeded(env, messages, users)
    log = workdir / f"stats-{database}-{messages}.log"
    writers_log = workdir / f"stats-{database}-{messages}-writers.log"
    with (
        migrated_and_served(env, log) as (api_url, server),
        ThreadPoolExecutor(max_workers=len(DASHBOARD)) as pool,
        closing(Console(api_url)) as console,
        closing(Meters(server.pid, url)) as meters,
    ):
        measure_phase(console, pool, meters, 1)  # warm-up: connections, pools, caches
        floor = [console.timed_get("/api/v1/health", {}, None) for _ in range(rounds)]
        idle = measure_phase(console, pool, meters, rounds)
        with writers(api_url, writers_log) as process:
            busy = measure_phase(console, pool, meters, rounds)
            writes = stopped_writers(process, writers_log)
    return Run(database, messages, users, seed_s, floor, idle, busy, writes, logged_errors(log))


def logged_errors(log: Path) -> Counter[str]:
    """What went wrong in the server, counted: each traceback's exception line, and gunicorn's
    critical lines (a worker timed out)."""
    found: Counter[str] = Counter()
    in_traceback = False
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback and line and not line.startswith((" ", "During", "The above")):
            found[line[:160]] += 1
            in_traceback = False
        elif "[CRITICAL]" in line:
            found[line.split("[CRITICAL]", 1)[1].strip()[:160]] += 1
    return found


@contextmanager
def fresh_database(database: str, admin: sa.Engine, workdir: Path) -> Iterator[str]:
    """An empty database of that kind; removed afterwards."""
    if database == "postgresql":
        with scratch_postgres_database(admin) as url:
            yield url
        return
    path = workdir / "stats.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for leftover in workdir.glob(f"{path.name}*"):  # with -wal and -shm
            leftover.unlink()


@contextmanager
def database_kinds() -> Iterator[tuple[list[str], sa.Engine]]:
    """The kinds of database to measure (PostgreSQL when TEST_POSTGRES_URL answers), and the
    engine that makes scratch PostgreSQL databases for fresh_database."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        kinds = ["sqlite"]
        try:
            with admin.connect():
                kinds.append("postgresql")
        except sa.exc.OperationalError:
            print("postgresql: not reachable at TEST_POSTGRES_URL, statistics not measured")
        yield kinds, admin
    finally:
        admin.dispose()


def measure_all(llm_url: str, workdir: Path, sizes: list[int], rounds: int) -> list[Run]:
    runs = []
    with database_kinds() as (kinds, admin):
        for database in kinds:
            for messages in sizes:
                with fresh_database(database, admin, workdir) as url:
                    runs.append(measure(database, url, messages, llm_url, workdir, rounds))
    return runs


# --- the report --------------------------------------------------------------------------------

CELL, NAME, RATIO = 16, 24, 7


def cell(samples: list[float], budget_ms: float) -> str:
    p95 = percentile(samples, 0.95) * MS
    mark = "!" if p95 > budget_ms else " "
    return f"{p95:.1f}{mark}({statistics.median(samples) * MS:.1f})".rjust(CELL)


def ratio(runs: list[Run], phase: str, key: tuple[str, str]) -> str:
    first, last = (getattr(run, phase).samples[key] for run in (runs[0], runs[-1]))
    return f"{percentile(last, 0.95) / percentile(first, 0.95):.1f}x".rjust(RATIO)


def table(runs: list[Run], phase: str, label: str) -> None:
    """Rows: figures; columns: p95 (median) per period at each size, then how p95 grew."""
    scaled = len(runs) > 1
    heading = "".join(f"{run.messages:,} messages".ljust(CELL * len(PERIODS)) for run in runs)
    if scaled:
        heading += f"p95 {runs[-1].messages:,} / {runs[0].messages:,}"
    print(f"{'':<{NAME}}{heading}")
    periods = "".join(f"{period:>{CELL}}" for period in PERIODS) * len(runs)
    if scaled:
        periods += "".join(f"{period:>{RATIO}}" for period in PERIODS)
    print(f"{label:<{NAME}}{periods}")
    for row in [name for name, _, _ in ENDPOINTS] + [DASHBOARD_ROW]:
        budget = DASHBOARD_BUDGET_MS if row == DASHBOARD_ROW else ENDPOINT_BUDGET_MS
        line = "".join(
            cell(getattr(run, phase).samples[row, period], budget)
            for run in runs
            for period in PERIODS
        )
        if scaled:
            line += "".join(ratio(runs, phase, (row, period)) for period in PERIODS)
        print(f"{row:<{NAME}}{line}")


def per_request(phase: Phase) -> str:
    client, server, database = (
        cpu / phase.requests * MS
        for cpu in (phase.client_cpu_s, phase.server_cpu_s, phase.database_cpu_s)
    )
    backends = f", PostgreSQL {database:.2f} ms" if database else ""
    return f"CPU per request: client {client:.2f} ms, gunicorn {server:.2f} ms{backends}"


def cores(phase: Phase) -> str:
    """How busy the machine was, and how much of that was this benchmark (the rest: other
    work on the machine, which makes every figure slower)."""
    machine, bench, server, database = (
        cpu / phase.wall_s
        for cpu in (
            phase.machine_cpu_s,
            phase.bench_cpu_s,
            phase.server_cpu_s,
            phase.database_cpu_s,
        )
    )
    backends = f", PostgreSQL {database:.2f}" if database else ""
    return (
        f"cores busy: {machine:.2f} of {os.cpu_count()}, of which this benchmark {bench:.2f} "
        f"(gunicorn {server:.2f}{backends})"
    )


def print_report(runs: list[Run], rounds: int) -> None:
    print(
        f"Statistics: the dashboard's endpoints over seed-demo data ({DAYS} days ending now, "
        f"users = messages / 100), gunicorn 2 workers, tz={TZ}. Client-side ms, p95 (median) "
        f"of {rounds} requests per figure, all figures taken in turn; '!': p95 over "
        f"{ENDPOINT_BUDGET_MS:.0f} ms ({DASHBOARD_BUDGET_MS:.0f} ms for a dashboard load). "
        f"'under writes': while {WRITERS} conversations stream answers at "
        f"{WRITE_RATE:.0f} answers/s in total."
    )
    for database in dict.fromkeys(run.database for run in runs):
        ours = [run for run in runs if run.database == database]
        print()
        print(f"{database}:")
        for run in ours:
            floor = run.floor
            print(
                f"  {run.messages:,} messages, {run.users:,} users: seed-demo {run.seed_s:.1f} s; "
                f"GET /api/v1/health p95 {percentile(floor, 0.95) * MS:.1f} ms "
                f"(median {statistics.median(floor) * MS:.1f})"
            )
            print(f"    idle: {per_request(run.idle)}; {cores(run.idle)}")
            w = run.writes
            failures = f" (first: {w['failures'][0][:80]})" if w["failures"] else ""
            print(
                f"    under writes: {w['rate']:.1f} answers/s (each {w['latency_p50_s']:.1f} s, "
                f"median), {w['failed']} failed{failures}; {cores(run.busy)}"
            )
            for line, count in run.server_errors.most_common(5):
                print(f"    gunicorn's log, {count}x: {line}")
        table(ours, "idle", "idle")
        table(ours, "busy", "under writes")


# --- the writers' process ---------------------------------------------------------------------


async def write(url: str, conversations: int, rate: float) -> dict[str, Any]:
    """`conversations` conversations, each asking on its own schedule (one question every
    conversations / rate seconds, staggered), until SIGTERM; then the in-flight ones finish."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    outcomes, finished = Outcomes(), []
    every = conversations / rate
    async with bot_session(url, BOT_TOKEN, conversations) as http:
        ids = range(FIRST_WRITER_ID, FIRST_WRITER_ID + conversations)
        for telegram_id in ids:
            async with http.put(f"users/{telegram_id}", json={"first_name": "W"}) as response:
                response.raise_for_status()
        print("started", flush=True)
        started = time.perf_counter()

        async def conversation(n: int, telegram_id: int) -> None:
            due = started + n / rate
            while True:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.0, due - time.perf_counter()))
                if stop.is_set():
                    return
                before = len(outcomes.latencies_s)
                await answer(http, telegram_id, WRITER_QUESTION, outcomes)
                if len(outcomes.latencies_s) > before:
                    finished.append(time.perf_counter())
                due += every

        runs = asyncio.gather(*(conversation(n, i) for n, i in enumerate(ids)))
        await stop.wait()
        stopped = time.perf_counter()
        await runs
    # The rate once every conversation has begun (what the measurements ran under).
    steady = started + every
    in_time = sum(1 for moment in finished if steady <= moment <= stopped)
    return {
        "rate": in_time / max(stopped - steady, 1e-9),
        "answers": len(outcomes.latencies_s),
        "failed": len(outcomes.failures),
        "failures": outcomes.failures[:5],
        "latency_p50_s": statistics.median(outcomes.latencies_s or [0.0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--conversations", type=int, default=WRITERS)
    parser.add_argument("--rate", type=float, default=WRITE_RATE, help="answers/s in total")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(write(args.url, args.conversations, args.rate))))


if __name__ == "__main__":
    main()
