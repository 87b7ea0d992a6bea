"""The bot's part of the benchmark: fake Telegram + bot + webapi + the bench LLM, each a process.

The fake Telegram (tests/doubles/fake_telegram) runs stand-alone; updates are fed through its
control API and everything the bot sent is read back from its records (its own clock stamps
both, so the latencies below need no clock shared between processes). Private chats only: the
answer streams as drafts, then arrives as one final message (630 characters).

- paced: messages fed at a steady rate (30/s by default), one every few seconds per user; for
  each, the time from the bot receiving the update (getUpdates handing it out) to the final
  sendMessage reaching Telegram, less the LLM's own time for a whole answer, and the time to
  the first non-empty draft, less the LLM's time to first token;
- sustained: many users' messages fed at once; messages answered per second, and the CPU per
  message of the bot, the fake Telegram, webapi (gunicorn, 2 workers) and the LLM.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.cpu import process_tree_cpu_s
from tests.bench.fast_llm import ANSWER
from tests.doubles.fake_telegram import DEFAULT_TOKEN, FakeTelegramControl
from tests.support import BOT_TOKEN, ROOT, background_process, free_port, gunicorn_api, wait_ready

MS = 1000.0


def wait_until(check: Any, timeout_s: float, what: str, every_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every_s)


def answered(telegram: FakeTelegramControl) -> int:
    """Final answers sent so far (drafts and chat actions are other methods)."""
    return sum(1 for call in telegram.calls_to("sendMessage") if call.status == 200)


def feed(telegram: FakeTelegramControl, messages: list[tuple[int, str]], rate: float) -> None:
    """Feed (user, text) messages at `rate` per second (0: at once)."""
    started = time.monotonic()
    for n, (user, text) in enumerate(messages):
        if rate:
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        telegram.send_text(user, text)


def latencies(telegram: FakeTelegramControl) -> tuple[list[float], list[float]]:
    """Per message: received → final message sent, and received → first non-empty draft."""
    received: dict[int, list[float]] = defaultdict(list)
    for fed in telegram.updates:
        message = fed.update.get("message")
        if message is not None and fed.delivered_at is not None:
            received[message["chat"]["id"]].append(fed.delivered_at)
    finals: dict[int, list[float]] = defaultdict(list)
    # chat -> answer index -> its first non-empty draft (drafts of an answer come before it).
    drafts: dict[int, dict[int, float]] = defaultdict(dict)
    for call in telegram.calls:
        if call.status != 200:
            continue
        chat = int(call.params.get("chat_id", 0))
        if call.method == "sendMessage":
            finals[chat].append(call.at)
        elif call.method == "sendMessageDraft" and call.params.get("text"):
            drafts[chat].setdefault(len(finals[chat]), call.at)
    total, first = [], []
    for chat, times in received.items():
        for n, at in enumerate(times[: len(finals[chat])]):
            final = finals[chat][n]
            total.append(final - at)
            # An answer quicker than the first draft shows first as the final message.
            first.append(min(drafts[chat].get(n, final), final) - at)
    return total, first


def measure(
    llm_url: str, llm_cpu_s: Callable[[], float], workdir: Path, args: Any
) -> dict[str, Any]:
    """Every bot figure, from one set of processes on a fresh SQLite database."""
    row: dict[str, Any] = {}
    database = f"sqlite:///{workdir}/bot-bench.db"
    with gunicorn_api(database, f"{llm_url}/v1", workdir / "bot-api.log", API_WORKERS="2") as (
        api_url,
        api,
    ):
        telegram_port = free_port()
        telegram_url = f"http://127.0.0.1:{telegram_port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        fake_args = [sys.executable, "-m", "tests.doubles.fake_telegram", "--port"]
        with background_process(
            [*fake_args, str(telegram_port)], env, workdir / "fake-telegram.log"
        ) as fake:
            telegram = FakeTelegramControl(telegram_url)
            wait_until(lambda: _healthy(telegram), 20, "the fake Telegram")
            bot_env = {
                **env,
                "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "TELEGRAM_API_BASE": telegram_url,
                "API_URL": api_url,
                "BOT_API_TOKEN": BOT_TOKEN,
                "BOT_RATE_LIMIT": "1000/minute",
                "BOT_LOG_LEVEL": "WARNING",
            }
            with background_process(
                [sys.executable, "-m", "bot"], bot_env, workdir / "bot.log"
            ) as bot:
                wait_until(lambda: bool(telegram.calls_to("getUpdates")), 30, "the bot to poll")
                wait_ready(api_url, api, workdir / "bot-api.log")
                # Warm-up: every user's profile upserted, connections opened.
                users = range(1, args.bot_users + 1)
                feed(telegram, [(user, "hello") for user in users], 0)
                wait_until(lambda: answered(telegram) >= len(users), 120, "the warm-up answers")

                telegram.reset()
                paced = [
                    (user, f"question {n}") for n in range(args.bot_paced_rounds) for user in users
                ]
                feed(telegram, paced, args.bot_rate)
                wait_until(lambda: answered(telegram) >= len(paced), 120, "the paced answers")
                row["paced_total_s"], row["paced_first_s"] = latencies(telegram)
                row["paced_count"] = len(paced)

                telegram.reset()
                burst = [
                    (user, f"burst {n}") for n in range(args.bot_burst_rounds) for user in users
                ]
                pids = {"bot": bot.pid, "telegram": fake.pid, "webapi": api.pid}

                def cpu_now() -> dict[str, float]:
                    used = {name: process_tree_cpu_s(pid) for name, pid in pids.items()}
                    return {**used, "LLM": llm_cpu_s()}

                before = cpu_now()
                started = time.monotonic()
                feed(telegram, burst, 0)
                wait_until(lambda: answered(telegram) >= len(burst), 300, "the burst", every_s=0.5)
                wall = time.monotonic() - started
                row["burst_count"] = len(burst)
                row["burst_rate"] = len(burst) / wall
                after = cpu_now()
                row["cpu_ms"] = {
                    name: (after[name] - before[name]) / len(burst) * MS for name in after
                }
                row["complete"] = all(
                    message.text == ANSWER.strip()
                    for user in list(users)[:5]
                    for message in telegram.chat_messages(user)
                )
            telegram.close()
    return row


def _healthy(telegram: FakeTelegramControl) -> bool:
    try:
        telegram.health()
    except Exception:  # not listening yet
        return False
    return True


def print_report(row: dict[str, Any], llm_ttft_s: float, llm_total_s: float, args: Any) -> None:
    total = [t - llm_total_s for t in row["paced_total_s"]]
    first = [t - llm_ttft_s for t in row["paced_first_s"]]
    p95 = lambda values: sorted(values)[max(0, round(0.95 * len(values)) - 1)]  # noqa: E731
    print(
        f"The bot: fake Telegram + bot + webapi (SQLite, 2 workers) + LLM, {args.bot_users} "
        "private chats."
    )
    print(
        f"{row['paced_count']} messages at {args.bot_rate:g}/s; added latency = update received "
        f"to final message sent, less the LLM's own {llm_total_s * MS:.1f} ms; first text = "
        f"received to first draft, less the LLM's TTFT {llm_ttft_s * MS:.1f} ms:"
    )
    print(
        f"  added latency p50 {statistics.median(total) * MS:.1f} ms, p95 {p95(total) * MS:.1f} ms"
        f"   first text p50 {statistics.median(first) * MS:.1f} ms, p95 {p95(first) * MS:.1f} ms"
        f"   ({len(total)} answered)"
    )
    cpu = row["cpu_ms"]
    print(
        f"{row['burst_count']} messages at once: {row['burst_rate']:.1f} messages/s; CPU per "
        f"message: bot {cpu['bot']:.2f} ms, fake Telegram {cpu['telegram']:.2f} ms, webapi "
        f"{cpu['webapi']:.2f} ms, LLM {cpu['LLM']:.2f} ms; answers complete: {row['complete']}"
    )
