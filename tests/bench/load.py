"""The benchmark's client: asynchronous (one process, one thread), so its own cost stays small.

Two runs, each printing one JSON object on stdout:
- `conversations`: USERS conversations at once, each PER_USER answers in turn, as the bot sends
  them; latency, time to first token and the client's own CPU time.
- `pressure`: SLOW connections that send half a request and stop (reopened when cut), HUNG
  answers waiting on an LLM that does not answer, a few FLOWING answers streaming; meanwhile
  PROBES sequential `GET /api/v1/health`; then when the server cut the slow connections.

Run: python -m tests.bench.load conversations --url URL --token TOKEN --users 200 --per-user 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

QUESTION = "Explain the trade-offs of streaming answers."
HALF_REQUEST = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: bench\r\nContent-Type: applic"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Outcomes:
    latencies_s: list[float] = field(default_factory=list)
    ttfts_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def answer(
    http: aiohttp.ClientSession, telegram_id: int, text: str, outcomes: Outcomes
) -> None:
    """One streamed answer, read as the bot reads it: line by line until done or error."""
    started = time.perf_counter()
    first = 0.0
    final = ""
    try:
        async with http.post(f"users/{telegram_id}/messages", json={"text": text}) as response:
            if response.status != 200:
                outcomes.failures.append(f"HTTP {response.status}: {await response.text()}")
                return
            async for line in response.content:
                if line.startswith(b"event: "):
                    name = line[7:].strip().decode()
                    if name == "delta" and not first:
                        first = time.perf_counter() - started
                    elif name in ("done", "error"):
                        final = name
    except (aiohttp.ClientError, TimeoutError) as exc:
        outcomes.failures.append(f"{type(exc).__name__}: {exc}")
        return
    if final != "done":
        outcomes.failures.append(f"the stream ended with {final or 'nothing'}")
        return
    outcomes.latencies_s.append(time.perf_counter() - started)
    outcomes.ttfts_s.append(first)


def bot_session(url: str, token: str, connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=f"{url}/api/v1/bot/",
        headers={"Authorization": f"Bearer {token}"},
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=300),
    )


async def conversations(args: argparse.Namespace) -> dict[str, Any]:
    outcomes = Outcomes()
    async with bot_session(args.url, args.token, args.users) as http:

        async def conversation(n: int) -> None:
            telegram_id = args.first_id + n
            async with http.put(f"users/{telegram_id}", json={"first_name": f"U{n}"}) as r:
                r.raise_for_status()
            for _ in range(args.per_user):
                await answer(http, telegram_id, QUESTION, outcomes)

        cpu_before, started = cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(conversation(n) for n in range(args.users)))
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu_before
    return {
        "wall_s": wall,
        "client_cpu_s": cpu,
        "latencies_s": outcomes.latencies_s,
        "ttfts_s": outcomes.ttfts_s,
        "failures": outcomes.failures,
    }


async def hold_half_requests(
    host: str, port: int, stop: asyncio.Event, opened: list[int], cut_after: list[float]
) -> None:
    """Keep one connection open that sent half a request and then nothing, as an attacker
    would: when the server cuts it, note after how long and open the next one."""
    while not stop.is_set():
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(HALF_REQUEST)
        await writer.drain()
        opened.append(1)
        started = time.perf_counter()
        eof = asyncio.create_task(reader.read())  # returns at EOF: the server cut us
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([eof, stopped], return_when=asyncio.FIRST_COMPLETED)
        if eof.done() and not eof.exception():
            cut_after.append(time.perf_counter() - started)
        eof.cancel()
        stopped.cancel()
        writer.close()


async def llm_stats(http: aiohttp.ClientSession, llm_url: str) -> dict[str, Any]:
    async with http.get(f"{llm_url}/stats") as response:
        return dict(await response.json())


async def probe_health(url: str, count: int) -> tuple[list[float], list[str]]:
    """`count` sequential GET /api/v1/health, each on a new connection: the seconds each took."""
    took: list[float] = []
    failures: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as probe:
        for _ in range(count):
            started = time.perf_counter()
            try:
                async with probe.get(
                    f"{url}/api/v1/health", headers={"Connection": "close"}
                ) as response:
                    await response.read()
                    if response.status != 200:
                        failures.append(f"HTTP {response.status}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                failures.append(type(exc).__name__)
            took.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
    return took, failures


async def pressure(args: argparse.Namespace) -> dict[str, Any]:
    host, port = args.url.removeprefix("http://").rsplit(":", 1)
    connections = args.hung + args.flowing
    ids = range(args.first_id, args.first_id + connections)
    async with bot_session(args.url, args.token, connections) as http:
        for telegram_id in ids:  # first: a server that slow clients stall could not take them
            async with http.put(f"users/{telegram_id}", json={"first_name": "P"}) as r:
                r.raise_for_status()
    stop = asyncio.Event()
    opened: list[int] = []
    cut_after: list[float] = []
    slow = [
        asyncio.create_task(hold_half_requests(host, int(port), stop, opened, cut_after))
        for _ in range(args.slow)
    ]
    while len(opened) < args.slow:
        await asyncio.sleep(0.05)
    flowing, hung = Outcomes(), Outcomes()
    async with (
        bot_session(args.url, args.token, connections) as http,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as control,
    ):
        hung_before = (await llm_stats(control, args.llm_url))["hung"]
        hung_tasks = [
            asyncio.create_task(answer(http, telegram_id, f"HANG {telegram_id}", hung))
            for telegram_id in ids[: args.hung]
        ]
        # Answers paced by the LLM (SLOW: a few seconds each), streaming while the probes run.
        flowing_tasks = [
            asyncio.create_task(answer(http, telegram_id, f"SLOW {QUESTION}", flowing))
            for telegram_id in ids[args.hung :]
        ]
        deadline = time.monotonic() + 60  # a server that cannot take them all: probe anyway
        while time.monotonic() < deadline:
            hung_waiting = (await llm_stats(control, args.llm_url))["hung"] - hung_before
            if hung_waiting >= args.hung:
                break
            await asyncio.sleep(0.1)
        probes, probe_failures = await probe_health(args.url, args.probes)
        await asyncio.gather(*flowing_tasks)
        await (await control.post(f"{args.llm_url}/release")).read()  # hung answers: error
        await asyncio.gather(*hung_tasks)
    stop.set()
    await asyncio.gather(*slow)
    return {
        "probes_s": probes,
        "probe_failures": probe_failures,
        "flowing_done": len(flowing.latencies_s),
        "flowing_failures": flowing.failures,
        "hung_waiting": hung_waiting,
        "hung_errors": len(hung.failures),
        "slow_cut_after_s": cut_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run", choices=["conversations", "pressure"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--first-id", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--slow", type=int, default=1000)
    parser.add_argument("--hung", type=int, default=500)
    parser.add_argument("--flowing", type=int, default=20)
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--llm-url", default="")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run = conversations if args.run == "conversations" else pressure
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
