"""Benchmark: what webapi adds to a streamed answer, and how many it serves at once.

Run with `nox -s bench` (or `python -m tests.bench`). Everything talks over 127.0.0.1 to the
fake LLM, which answers at once, so the figures are webapi's own cost: the HTTP hop, the
database writes and the SSE re-framing. Medians and ratios are taken within one run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import sqlalchemy as sa

from tests.doubles.fake_llm import FakeLLM, Reply
from tests.support import POSTGRES_ADMIN_URL, BotAPI, gunicorn_api, scratch_postgres_database

ANSWER = "The quick brown fox jumps over the lazy dog. " * 14  # 630 characters
CHUNK = 8  # characters per streamed chunk: ~80 chunks an answer
QUESTION = "Explain the trade-offs of streaming answers."


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed_direct(fake: FakeLLM) -> tuple[float, float]:
    """TTFT and total of one streamed answer straight from the fake LLM (the baseline)."""
    client = openai.OpenAI(base_url=fake.base_url, api_key="bench", max_retries=0)
    started = time.perf_counter()
    first = 0.0
    stream = client.chat.completions.create(
        model="bench",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if not first and chunk.choices and chunk.choices[0].delta.content:
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


def concurrent(url: str, users: int, per_user: int) -> tuple[float, float, float]:
    """Exchanges per second, median and p95 latency with `users` conversations at once."""

    def conversation(n: int) -> list[float]:
        api = BotAPI(url)
        api.upsert(10_000 + n)
        latencies = [timed_exchange(api, 10_000 + n)[1] for _ in range(per_user)]
        api.close()
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users) as pool:
        latencies = [value for batch in pool.map(conversation, range(users)) for value in batch]
    wall = time.perf_counter() - started
    return len(latencies) / wall, statistics.median(latencies), percentile(latencies, 0.95)


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


Row = tuple[str, float, float, float, float, float]


def measure(name: str, url: str, fake: FakeLLM, workdir: Path, args: argparse.Namespace) -> Row:
    """Sequential TTFT/total medians, then the concurrent figures, on one database."""
    with gunicorn_api(url, fake.base_url, workdir / f"{name}.log", API_WORKERS="2") as api_url:
        api = BotAPI(api_url)
        api.upsert(1)
        ttft, total = sequential(lambda: timed_exchange(api, 1), args.requests)
        api.close()
        return (name, ttft, total, *concurrent(api_url, args.users, args.per_user))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="sequential answers per row")
    parser.add_argument("--users", type=int, default=50, help="concurrent conversations")
    parser.add_argument("--per-user", type=int, default=4, help="answers per conversation")
    args = parser.parse_args()
    to_ms = 1000.0

    with FakeLLM() as fake, tempfile.TemporaryDirectory() as tmp:
        answers = args.requests * 3 + args.users * args.per_user * 2 + 10
        fake.script(*[Reply(ANSWER, chunk_size=CHUNK)] * answers)
        direct_ttft, direct_total = sequential(lambda: timed_direct(fake), args.requests)
        print(f"streamed answer: {len(ANSWER)} characters in {len(ANSWER) // CHUNK + 1} chunks")
        print(f"{'path':<22}{'TTFT ms (median)':>18}{'total ms (median)':>19}")
        print(f"{'LLM directly':<22}{direct_ttft * to_ms:>18.2f}{direct_total * to_ms:>19.2f}")
        rows = []
        for name, url in databases(Path(tmp)):
            row = measure(name, url, fake, Path(tmp), args)
            print(f"{'via webapi, ' + name:<22}{row[1] * to_ms:>18.2f}{row[2] * to_ms:>19.2f}")
            rows.append(row)
        print()
        print(f"{'database':<12}{'TTFT x direct':>15}{'added TTFT ms':>15}{'added total ms':>16}")
        for name, ttft, total, *_ in rows:
            print(
                f"{name:<12}{ttft / direct_ttft:>15.1f}{(ttft - direct_ttft) * to_ms:>15.2f}"
                f"{(total - direct_total) * to_ms:>16.2f}"
            )
        print()
        print(f"{args.users} conversations at once, {args.per_user} answers each:")
        print(f"{'database':<12}{'answers/s':>11}{'median ms':>11}{'p95 ms':>9}")
        for name, _, _, rate, median, p95 in rows:
            print(f"{name:<12}{rate:>11.1f}{median * to_ms:>11.1f}{p95 * to_ms:>9.1f}")


if __name__ == "__main__":
    main()
