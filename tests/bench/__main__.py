"""Benchmark: what webapi costs per answer, how many it serves at once, and what slow clients do.

Run with `nox -s bench` (or `python -m tests.bench`). webapi runs under gunicorn as the README
starts it (2 workers) on SQLite, then on PostgreSQL; the LLM is tests/bench/fast_llm.py in a
process of its own (answers at once, 630 characters in 80 chunks), the client is
tests/bench/load.py in another (asynchronous). On a 2-core machine the three share the cores,
so each one's CPU time is printed too. Figures are medians, p95 and p99 within one run.

Before the load work (gthread, 2 workers x 32 threads; this benchmark run against commit
cf79a26 on the 2-core machine of 2026-12-02): 200 conversations x 5 answers gave 31.8
answers/s on SQLite (p95 9.0 s, 40 ms of server CPU per answer, 3 connections reset) and 25.0
on PostgreSQL (p95 10.0 s, 50 ms, 13 reset); under 150 half-sent requests its requests
waited until the client gave up (300 s). After the first round (gevent workers, coalesced
deltas, leaner statements; commit 35b35c9): 159 and 100 answers/s, p95 2.1 and 2.7 s, 10.5 and
14.3 ms of server CPU per answer; /api/v1/health p99 5.0 and 8.4 ms under 1,000 half-sent
requests and 500 answers waiting on a hung LLM. After the second (the openai client's request
path without its typed body walk, prebuilt Core statements, fewer round trips; on PostgreSQL a
question is one read and one insert and an answer one statement, each committing alone), one
run of 2026-12-02 (16:14), medians of 5 trials: 277 and 195 answers/s, p95 1.7 and 1.6 s, 5.8
and 7.3 ms of server CPU per answer (trials 5.5-6.9 and 5.5-8.3 ms), 0.6 and 0.8 ms for the
client. The machine is shared and its speed drifts: two other runs that day, in which the
client itself took 0.8 ms an answer, gave 8.6-8.7 ms on SQLite and 7.2-7.7 ms on PostgreSQL.

Statistics: what keeping them exact costs each answer (tests/bench/write_cost.py: the database's
CPU for one answer's three writes, with the statistics' triggers and without); then
(tests/bench/stats.py), on each database and at each size of seed-demo data
(--stats-sizes messages, default 100000,1000000; users = messages / 100, 90 days) the time
seed-demo took, then each dashboard endpoint's latency per period and a whole dashboard load's
(its six blocks at once), p95 and median of --stats-requests each (default 30), idle and while
50 conversations stream 10 answers/s; with how each p95 grows from the smallest size to the
largest. --stats-only runs this section alone, --no-stats skips it.

The console (tests/bench/console.py), first, on a quiet machine: Lighthouse 12 on the dashboard
of the console's production build over demo data, signed in, --console-runs times with the
mobile preset and as many with the desktop one (Debian's chromium): the median performance,
accessibility and best practices scores and the JavaScript its first load transfers, each
beside its bar (mobile performance >= 90, accessibility and best practices 100, desktop
performance >= 98; at most 200 kB of JavaScript), then the audits that failed. It needs the
console built (`nox -s bench` builds it; run alone, the bench builds it when frontend/ has no
build). --console-only runs this section alone, --no-console skips it; --console-reports DIR
keeps Lighthouse's reports.

The stack (tests/bench/stack.py), last, where a Docker engine answers: start-up to all healthy
with the images built, what each image adds to its base, the idle stack's memory. --stack-only
runs this section alone, --no-stack skips it.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import sqlalchemy as sa

from devops import stack as stack_driver
from tests.bench import bot, console, stack, stats, write_cost
from tests.bench.cpu import process_tree_cpu_s
from tests.bench.stats import percentile
from tests.support import (
    BOT_TOKEN,
    POSTGRES_ADMIN_URL,
    ROOT,
    BotAPI,
    gunicorn_api,
    scratch_postgres_database,
)
from webapi.domain.llm import LLMClient, LLMError
from webapi.domain.outcomes import AnswerErrorCode

QUESTION = "Explain the trade-offs of streaming answers."
MS = 1000.0


@contextmanager
def fast_llm() -> Iterator[str]:
    """tests/bench/fast_llm.py in its own process; yields its root URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.fast_llm", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the bench LLM did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[-1])}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def llm_stats(llm_url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{llm_url}/stats").json())


def timed_direct(llm_url: str) -> tuple[float, float]:
    """TTFT and total of one streamed answer straight from the LLM (the baseline)."""
    client = openai.OpenAI(base_url=f"{llm_url}/v1", api_key="bench", max_retries=0)
    started = time.perf_counter()
    first = 0.0
    with client.chat.completions.with_streaming_response.create(
        model="bench", messages=[{"role": "user", "content": QUESTION}], stream=True
    ) as response:
        for line in response.iter_lines():
            if not first and '"content": "' in line and '"content": ""' not in line:
                first = time.perf_counter() - started
    client.close()
    return first, time.perf_counter() - started


def timed_exchange(api: BotAPI, telegram_id: int) -> tuple[float, float]:
    """TTFT and total of one exchange through webapi, as the bot sees it."""
    started = time.perf_counter()
    first = 0.0
    with api.http.stream(
        "POST", f"/users/{telegram_id}/messages", json={"text": QUESTION}
    ) as response:
        for line in response.iter_lines():
            if not first and line.startswith("event: delta"):
                first = time.perf_counter() - started
            if line.startswith("event: error"):
                raise RuntimeError("an exchange failed during the benchmark")
    return first, time.perf_counter() - started


def sequential(run: Callable[[], tuple[float, float]], count: int) -> tuple[float, float]:
    samples = [run() for _ in range(count)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def budget_overruns(llm_url: str, budget_s: float) -> list[tuple[str, float]]:
    """How far past LLM_TIMEOUT_S an answer runs when the LLM drips or hangs (webapi's client)."""
    client = LLMClient(f"{llm_url}/v1", "bench", "bench-model", timeout_s=budget_s)
    overruns = []
    for name, question in (("chunks 1.9 s apart", "DRIP"), ("no byte at all", "HANG")):
        started = time.monotonic()
        try:
            for _ in client.stream_chat([{"role": "user", "content": question}]):
                pass
        except LLMError as error:
            if error.code != AnswerErrorCode.LLM_TIMEOUT:
                raise
        overruns.append((name, time.monotonic() - started - budget_s))
    httpx.post(f"{llm_url}/release")
    client.close()
    return overruns


def load_client(run: str, url: str, *options: str) -> dict[str, Any]:
    """tests/bench/load.py in its own process; its JSON report."""
    command = [sys.executable, "-m", "tests.bench.load", run, "--url", url, "--token", BOT_TOKEN]
    result = subprocess.run(  # noqa: S603 (a fixed command line)
        [*command, *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the load client failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout))


def databases(workdir: Path) -> Iterator[tuple[str, str]]:
    """SQLite, then a scratch PostgreSQL database when TEST_POSTGRES_URL answers."""
    yield "sqlite", f"sqlite:///{workdir / 'bench.db'}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with scratch_postgres_database(admin) as url:
            yield "postgresql", url
    except sa.exc.OperationalError:
        print("postgresql: not reachable at TEST_POSTGRES_URL, not measured")
    finally:
        admin.dispose()


def measure(name: str, url: str, llm_url: str, workdir: Path, args: argparse.Namespace) -> dict:
    """Every figure for one database, from one gunicorn."""
    row: dict[str, Any] = {"database": name}
    log = workdir / f"{name}.log"
    with gunicorn_api(url, f"{llm_url}/v1", log, API_WORKERS="2") as (api_url, server):
        api = BotAPI(api_url)
        api.upsert(1)
        row["ttft_s"], row["total_s"] = sequential(lambda: timed_exchange(api, 1), args.requests)
        api.close()

        # Warm-up at the same concurrency (other users): pools and connections opened, so
        # that the trials measure the steady state.
        conversations(api_url, args.users, 1, 500_000)
        trials = []
        for trial in range(args.trials):
            server_before, llm_before = process_tree_cpu_s(server.pid), llm_stats(llm_url)
            load = conversations(api_url, args.users, args.per_user, 100_000 + 10_000 * trial)
            server_cpu = process_tree_cpu_s(server.pid) - server_before
            llm_cpu = llm_stats(llm_url)["cpu_s"] - llm_before["cpu_s"]
            answers = len(load["latencies_s"])
            trials.append(
                {
                    "answers": answers,
                    "failed": len(load["failures"]),
                    "failure": load["failures"][0] if load["failures"] else "",
                    "rate": answers / load["wall_s"],
                    "p50_s": statistics.median(load["latencies_s"]),
                    "p95_s": percentile(load["latencies_s"], 0.95),
                    "ttft_p50_s": statistics.median(load["ttfts_s"]),
                    "server_cpu_ms": server_cpu / answers * MS,
                    "client_cpu_ms": load["client_cpu_s"] / answers * MS,
                    "llm_cpu_ms": llm_cpu / answers * MS,
                }
            )
        # The median trial of each figure: this shared machine's noise moves single runs.
        for key in trials[0]:
            if key in ("failed", "answers"):
                row[key] = sum(trial[key] for trial in trials)
            elif key == "failure":
                row[key] = next((trial[key] for trial in trials if trial[key]), "")
            else:
                row[key] = statistics.median(trial[key] for trial in trials)
        cpu = sorted(trial["server_cpu_ms"] for trial in trials)
        row["server_cpu_range"] = (cpu[0], cpu[-1])

        if args.slow or args.hung:
            row["pressure"] = load_client(
                "pressure",
                api_url,
                "--llm-url",
                llm_url,
                "--slow",
                str(args.slow),
                "--hung",
                str(args.hung),
                "--first-id",
                "900000",
            )
    return row


def conversations(api_url: str, users: int, per_user: int, first_id: int) -> dict[str, Any]:
    """`users` conversations at once, `per_user` answers each, as the load client reports."""
    return load_client(
        "conversations",
        api_url,
        "--users",
        str(users),
        "--per-user",
        str(per_user),
        "--first-id",
        str(first_id),
    )


def print_report(direct: tuple[float, float], rows: list[dict[str, Any]], args) -> None:
    direct_ttft, direct_total = direct
    print(f"{'path':<22}{'TTFT ms (median)':>18}{'total ms (median)':>19}")
    print(f"{'LLM directly':<22}{direct_ttft * MS:>18.2f}{direct_total * MS:>19.2f}")
    for row in rows:
        name = "via webapi, " + row["database"]
        print(f"{name:<22}{row['ttft_s'] * MS:>18.2f}{row['total_s'] * MS:>19.2f}")
    print()
    print(
        f"{args.users} conversations at once, {args.per_user} answers each, after a warm-up; "
        f"the median of {args.trials} trials (CPU per answer: gunicorn's processes, the "
        "client, the LLM; server CPU's range over the trials):"
    )
    print(
        f"{'database':<12}{'failed':>7}{'answers/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'TTFT p50':>10}"
        f"{'server CPU':>12}{'(range)':>14}{'client CPU':>12}{'LLM CPU':>9}"
    )
    for row in rows:
        low, high = row["server_cpu_range"]
        print(
            f"{row['database']:<12}{row['failed']:>7}{row['rate']:>10.1f}{row['p50_s'] * MS:>9.0f}"
            f"{row['p95_s'] * MS:>9.0f}{row['ttft_p50_s'] * MS:>10.0f}"
            f"{row['server_cpu_ms']:>10.2f}ms{f'{low:.1f}-{high:.1f}':>14}"
            f"{row['client_cpu_ms']:>10.2f}ms{row['llm_cpu_ms']:>7.2f}ms"
        )
        if row["failure"]:
            print(f"{'':<12}first failure: {row['failure'][:100]}")
    pressured = [row for row in rows if "pressure" in row]
    if not pressured:
        return
    print()
    print(
        f"/api/v1/health under {args.slow} half-sent requests (reopened when cut) and "
        f"{args.hung} answers sent to a hung LLM ('hung': how many reached it), while 20 answers "
        "stream:"
    )
    print(
        f"{'database':<12}{'hung':>6}{'probes':>7}{'failed':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8}{'streams done':>14}{'slow cut after s (median)':>27}"
    )
    for row in pressured:
        p = row["pressure"]
        probes = p["probes_s"]
        cuts = p["slow_cut_after_s"]
        print(
            f"{row['database']:<12}{p['hung_waiting']:>6}{len(probes):>7}"
            f"{len(p['probe_failures']):>7}{statistics.median(probes) * MS:>8.1f}"
            f"{percentile(probes, 0.99) * MS:>8.1f}"
            f"{max(probes) * MS:>8.1f}{p['flowing_done']:>10}/{20:<3}"
            f"{statistics.median(cuts) if cuts else float('nan'):>27.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100, help="sequential answers per row")
    parser.add_argument("--users", type=int, default=200, help="concurrent conversations")
    parser.add_argument("--per-user", type=int, default=5, help="answers per conversation")
    parser.add_argument("--trials", type=int, default=5, help="concurrent runs (medians kept)")
    parser.add_argument("--slow", type=int, default=1000, help="half-sent requests held open")
    parser.add_argument("--hung", type=int, default=500, help="answers waiting on a hung LLM")
    parser.add_argument("--bot-users", type=int, default=60, help="bot: private chats (0: skip)")
    parser.add_argument("--bot-rate", type=float, default=30.0, help="bot: paced messages/s")
    parser.add_argument("--bot-paced-rounds", type=int, default=5, help="bot: paced per user")
    parser.add_argument("--bot-burst-rounds", type=int, default=5, help="bot: at once per user")
    parser.add_argument(
        "--stats-sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        default=[100_000, 1_000_000],
        help="statistics: seed-demo messages per run, comma-separated",
    )
    parser.add_argument("--stats-requests", type=int, default=30, help="statistics: per figure")
    parser.add_argument("--console-runs", type=int, default=3, help="console: runs per preset")
    parser.add_argument(
        "--console-reports", type=Path, help="console: keep Lighthouse's JSON reports here"
    )
    parser.add_argument("--stats-only", action="store_true", help="run the statistics alone")
    parser.add_argument("--no-stats", dest="stats", action="store_false", help="skip statistics")
    parser.add_argument("--console-only", action="store_true", help="run the console alone")
    parser.add_argument(
        "--no-console", dest="console", action="store_false", help="skip the console"
    )
    parser.add_argument("--stack-runs", type=int, default=3, help="stack: timed start-ups")
    parser.add_argument("--stack-only", action="store_true", help="run the stack alone")
    parser.add_argument("--no-stack", dest="stack", action="store_false", help="skip the stack")
    args = parser.parse_args()
    if args.stack_only:
        print_stack_figures(args.stack_runs)
        return
    given = {
        "--stats-only": args.stats_only,
        "--no-stats": not args.stats,
        "--console-only": args.console_only,
        "--no-console": not args.console,
    }
    for pair in (
        ("--stats-only", "--no-stats"),
        ("--stats-only", "--console-only"),
        ("--console-only", "--no-console"),
    ):
        if all(given[name] for name in pair):
            parser.error(f"{pair[0]} and {pair[1]} exclude each other")
    # Thousands of sockets in gunicorn's workers, which inherit this limit.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    serving = not (args.stats_only or args.console_only)
    measuring_stats = args.stats and not args.console_only
    measuring_console = args.console and not args.stats_only
    if measuring_console:
        with tempfile.TemporaryDirectory() as tmp:
            if args.console_reports:
                args.console_reports.mkdir(parents=True, exist_ok=True)
            console_result = console.measure(Path(tmp), args.console_runs, args.console_reports)
    report = measure_webapi(args, serving, measuring_stats)
    print(__doc__.split("\n\n", 1)[1].strip())
    report()
    if measuring_console:
        print()
        console.print_report(console_result)
    if args.stack and not (args.stats_only or args.console_only):
        print()
        print_stack_figures(args.stack_runs)


def print_stack_figures(runs: int) -> None:
    """The stack's section: needs a Docker engine; says so where none answers."""
    if not stack_driver.engine_answers():
        print("The stack: skipped, no Docker engine answers (see the README's troubleshooting)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        stack.print_report(stack.measure(Path(tmp), runs))


def measure_webapi(
    args: argparse.Namespace, serving: bool, measuring_stats: bool
) -> Callable[[], None]:
    """The serving, bot and statistics sections, as chosen; what prints their figures."""
    if not (serving or measuring_stats):
        return lambda: None
    with fast_llm() as llm_url, tempfile.TemporaryDirectory() as tmp:
        if serving:
            direct = sequential(lambda: timed_direct(llm_url), args.requests)
            overruns = budget_overruns(llm_url, 2.0)
            rows = [
                measure(name, url, llm_url, Path(tmp), args) for name, url in databases(Path(tmp))
            ]
            if args.bot_users:
                bot_row = bot.measure(llm_url, lambda: llm_stats(llm_url)["cpu_s"], Path(tmp), args)
        if measuring_stats:
            write_costs = write_cost.measure_all(Path(tmp))
            stats_runs = stats.measure_all(
                llm_url, Path(tmp), args.stats_sizes, args.stats_requests
            )

    def report() -> None:
        if serving:
            print()
            print_report(direct, rows, args)
            print()
            print("LLM_TIMEOUT_S = 2.0 s; how long past it an answer ran:")
            for name, overrun in overruns:
                print(f"  {name:<22}{overrun * MS:>8.1f} ms")
            if args.bot_users:
                print()
                bot.print_report(bot_row, *direct, args)
        if measuring_stats:
            print()
            write_cost.print_report(write_costs)
            print()
            stats.print_report(stats_runs, args.stats_requests)

    return report


if __name__ == "__main__":
    main()
