"""What keeping the statistics exact costs each answer: the database's CPU for the three writes
of one answer as the conversation service makes them (the question inserted, pending; then, in
one transaction, the answer inserted and the question settled), with the statistics' triggers
installed and with them removed, trials alternating, on an empty migrated database of each kind.

SQLite runs inside this process: its CPU is this thread's. PostgreSQL's is its backend's, read
from /proc; the client's share is left out there. Conversations (50, each its own Telegram user
and dialog) take turns, and the answers' timestamps advance by 100 ms, as at 10 answers/s.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.bench import stats
from tests.bench.cpu import process_tree_cpu_s
from tests.support import flask_cli, server_environment
from webapi.stats import rollups

ANSWERS, TRIALS, CONVERSATIONS = 600, 5, 50
STEP = timedelta(milliseconds=100)
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
MS = 1000.0

QUESTION = (
    "INSERT INTO messages (dialog_id, role, content, length, status, created_at)"
    " VALUES ({p}, 'user', 'How do I read a query plan?', 27, 'pending', {p})"
)
ANSWER = (
    "INSERT INTO messages (dialog_id, role, content, length, status, created_at, model,"
    " prompt_tokens, completion_tokens, ttft_ms, latency_ms)"
    " VALUES ({p}, 'assistant', 'Start at the innermost node.', 28, 'ok', {p}, 'm', 120, 40,"
    " 310, 1250)"
)
SETTLE = "UPDATE messages SET status = 'ok' WHERE id = {p}"


def _migrate(url: str) -> None:
    upgraded = flask_cli(server_environment(url, "http://127.0.0.1:9/v1"), "db", "upgrade")
    if upgraded.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{upgraded.stderr}")


def _switch(url: str, on: bool) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            rollups.uninstall(connection)
            if on:
                rollups.install(connection)
    finally:
        engine.dispose()


class _Writer:
    """One DB-API connection in autocommit, its CPU meter, and the dialogs written to."""

    def __init__(self, url: str, first_telegram_id: int) -> None:
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite:
            self.connection: Any = sqlite3.connect(str(parsed.database), isolation_level=None)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self.cpu_s: Callable[[], float] = time.thread_time
            self.p = "?"
            # As the app stores them (UTCDateTime): UTC, without an offset.
            self.at: Callable[[datetime], Any] = lambda m: m.strftime("%Y-%m-%d %H:%M:%S.%f")
        else:
            plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self.connection = psycopg.connect(plain, autocommit=True)
            backend = self.connection.info.backend_pid
            self.cpu_s = lambda: process_tree_cpu_s(backend)
            self.p = "%s"
            self.at = lambda m: m
        self.dialogs = [self._dialog(first_telegram_id + n) for n in range(CONVERSATIONS)]

    def _one(self, sql: str, *values: Any) -> Any:
        return self.connection.execute(sql.format(p=self.p), values).fetchone()[0]

    def _dialog(self, telegram_id: int) -> int:
        user = self._one(
            "INSERT INTO users (telegram_id, first_seen_at, last_seen_at)"
            " VALUES ({p}, {p}, {p}) RETURNING id",
            telegram_id,
            self.at(START),
            self.at(START),
        )
        return int(
            self._one(
                "INSERT INTO dialogs (user_id, channel, role, mode, started_at)"
                " VALUES ({p}, 'telegram', 'consultant', 'assistant', {p}) RETURNING id",
                user,
                self.at(START),
            )
        )

    def answers(self, count: int) -> float:
        """CPU seconds per answer for `count` answers."""
        run = self.connection.execute
        moment = START
        before = self.cpu_s()
        for n in range(count):
            dialog = self.dialogs[n % CONVERSATIONS]
            moment += STEP
            asked = self.at(moment)
            question = self._one(QUESTION.format(p=self.p) + " RETURNING id", dialog, asked)
            run("BEGIN")
            run(ANSWER.format(p=self.p), (dialog, self.at(moment + STEP / 2)))
            run(SETTLE.format(p=self.p), (question,))
            run("COMMIT")
        return (self.cpu_s() - before) / count

    def close(self) -> None:
        self.connection.close()


def measure_all(workdir: Path) -> list[tuple[str, float, float]]:
    """(database, ms per answer with the triggers, ms without), medians over TRIALS each."""
    found = []
    with stats.database_kinds() as (kinds, admin):
        for database in kinds:
            with stats.fresh_database(database, admin, workdir) as url:
                _migrate(url)
                samples: dict[bool, list[float]] = {True: [], False: []}
                for trial in range(2 * TRIALS):
                    on = trial % 2 == 1
                    _switch(url, on)
                    with closing(_Writer(url, 10_000 * (trial + 1))) as writer:
                        samples[on].append(writer.answers(ANSWERS) * MS)
                found.append(
                    (database, statistics.median(samples[True]), statistics.median(samples[False]))
                )
    return found


def print_report(rows: list[tuple[str, float, float]]) -> None:
    print(
        f"The statistics on write ({__name__.rsplit('.', 1)[-1]}.py): the database's CPU per"
        f" answer (question, answer, settled question), median of {TRIALS} trials of"
        f" {ANSWERS:,} answers each way:"
    )
    print(f"{'database':<12}{'triggers':>10}{'without':>10}{'added':>10}")
    for database, on, off in rows:
        print(f"{database:<12}{on:>8.2f}ms{off:>8.2f}ms{on - off:>+8.2f}ms")
