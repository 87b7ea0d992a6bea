"""The Insights golden set: thirty questions a bot owner asks, each with reference SQL for both
dialects, a chart suggestion, and its expected result over seed-demo's fixed data (support.DEMO:
--seed 3, ten days up to 2026-11-20).

Every expected result is computed here in plain Python from the rows of users, dialogs and
messages, never by running the reference SQL: test_golden.py checks that the two agree, which is
what makes the SQL a reference. The questions avoid what is not determined by the data: no
windows relative to now, no ties at the edge of a top N or between ordered rows, percentiles
only over groups whose size makes every usual definition (interpolated, nearest rank) agree.

`mismatch` is execution accuracy: two results are the same answer when their values are,
whatever the columns are called or in which order they come, rows in order where the question
asks for one; numbers within the item's tolerance, numbers written as text as numbers, dates
and timestamps as instants (a day is its midnight, UTC).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

import sqlalchemy as sa

from webapi.insights.reply import NO_CHART, Chart
from webapi.insights.runner import QueryResult

Rows = list[list[Any]]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# --- the data, read back as plain Python ---------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    id: int
    telegram_id: int
    username: str | None
    language_code: str | None
    role: str | None
    first_seen_at: datetime
    first_message_at: datetime | None


@dataclass(frozen=True)
class DialogRow:
    id: int
    user_id: int | None
    chat_id: int | None
    channel: str
    mode: str
    role: str
    started_at: datetime
    ended_at: datetime | None
    message_count: int


@dataclass(frozen=True)
class MessageRow:
    id: int
    dialog_id: int
    role: str
    content: str
    created_at: datetime
    status: str
    error_code: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_ms: int | None
    latency_ms: int | None

    @property
    def is_question(self) -> bool:
        return self.role == "user"

    @property
    def is_delivered_answer(self) -> bool:
        return self.role == "assistant" and self.status == "ok"

    @property
    def tokens(self) -> int:
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)

    @property
    def latency(self) -> int:
        return _measured(self.latency_ms)

    @property
    def ttft(self) -> int:
        return _measured(self.ttft_ms)


def _measured(milliseconds: int | None) -> int:
    """A delivered answer's timing, which the bot always stores."""
    if milliseconds is None:
        raise ValueError("a delivered answer without its timings")
    return milliseconds


@dataclass(frozen=True)
class Demo:
    users: list[UserRow]
    dialogs: list[DialogRow]
    messages: list[MessageRow]
    dialog: dict[int, DialogRow] = field(init=False)
    user: dict[int, UserRow] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dialog", {dialog.id: dialog for dialog in self.dialogs})
        object.__setattr__(self, "user", {user.id: user for user in self.users})

    def questions(self) -> list[MessageRow]:
        return [message for message in self.messages if message.is_question]

    def delivered(self) -> list[MessageRow]:
        return [message for message in self.messages if message.is_delivered_answer]

    def with_users(self, messages: Iterable[MessageRow]) -> list[tuple[MessageRow, UserRow]]:
        """The messages of Telegram users' dialogs, each with its user (console dialogs have
        none)."""
        pairs = []
        for message in messages:
            user_id = self.dialog[message.dialog_id].user_id
            if user_id is not None:
                pairs.append((message, self.user[user_id]))
        return pairs

    def dialogs_with_messages(self) -> list[DialogRow]:
        """Dialogs as the dashboard counts them: those with a message."""
        written = {message.dialog_id for message in self.messages}
        return [dialog for dialog in self.dialogs if dialog.id in written]


def load_demo(engine: sa.Engine) -> Demo:
    """Every row of users, dialogs and messages (a plain SELECT *), timestamps as UTC."""
    with engine.connect() as connection:

        def read(table: str, kind: type[Any]) -> list[Any]:
            names = [f.name for f in fields(kind) if f.init]
            rows = connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id").mappings()
            return [kind(**{name: _stored(row[name]) for name in names}) for row in rows]

        return Demo(
            read("users", UserRow), read("dialogs", DialogRow), read("messages", MessageRow)
        )


_STORED_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?")


def _stored(value: Any) -> Any:
    """SQLite keeps timestamps as UTC text, PostgreSQL hands back aware datetimes."""
    if isinstance(value, str) and _STORED_TIMESTAMP.fullmatch(value):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


# --- what the expected results are built from ---------------------------------------------------


def day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def counted(keys: Iterable[K]) -> dict[K, int]:
    return dict(Counter(keys))


def grouped(pairs: Iterable[tuple[K, V]]) -> dict[K, list[V]]:
    groups: dict[K, list[V]] = defaultdict(list)
    for key, value in pairs:
        groups[key].append(value)
    return dict(groups)


def summed(pairs: Iterable[tuple[K, int]]) -> dict[K, int]:
    return {key: sum(values) for key, values in grouped(pairs).items()}


def averaged(pairs: Iterable[tuple[K, int]]) -> dict[K, float]:
    return {key: statistics.fmean(values) for key, values in grouped(pairs).items()}


def by_key(table: dict[Any, Any]) -> Rows:
    """{key: value} as rows [key, value], or [*key, value] for tuple keys, sorted by key."""
    rows = [
        [*key, value] if isinstance(key, tuple) else [key, value] for key, value in table.items()
    ]
    return sorted(rows, key=lambda row: [(cell is None, cell) for cell in row[:-1]])


def top(table: Mapping[Any, float], n: int) -> Rows:
    """The n largest values, largest first; a ValueError if two of them tie, or the last with
    the next, for then the question has no one answer."""
    ranked = sorted(table.items(), key=lambda item: -item[1])
    values = [value for _, value in ranked[: n + 1]]
    if len(set(values)) != len(values):
        raise ValueError(f"the top {n} has ties: {ranked[: n + 1]}")
    return [[key, value] for key, value in ranked[:n]]


def error_rate_pct(questions: Sequence[MessageRow]) -> float:
    """As the dashboard defines it: failed (not cancelled) over answered or failed questions."""
    settled = [m for m in questions if m.status in ("ok", "error")]
    failed = [m for m in settled if m.status == "error" and m.error_code != "cancelled"]
    return 100 * len(failed) / len(settled)


def percentile(values: Sequence[int], percent: int) -> float:
    """The percentile, interpolated (percentile_cont) and by nearest rank (percentile_disc)
    alike: a ValueError when the two disagree, for then the question has no one answer."""
    ordered = sorted(values)
    position = Fraction(percent * (len(ordered) - 1), 100)
    low, high = math.floor(position), math.ceil(position)
    interpolated = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    nearest_rank = ordered[math.ceil(Fraction(percent * len(ordered), 100)) - 1]
    if interpolated != nearest_rank:
        raise ValueError(f"the {percent}th percentile of {len(values)} values is ambiguous")
    return nearest_rank


def minutes_between(first: datetime, last: datetime) -> float:
    return (last - first).total_seconds() / 60


CUTOFF = datetime(2026, 11, 18, tzinfo=UTC)


# --- the golden set --------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldenItem:
    key: str  # a short name, for test ids and the report
    question: str
    sql: str | dict[str, str]  # one text for both dialects, or one per dialect
    expected: Callable[[Demo], Rows]
    chart: Chart = field(default_factory=Chart)  # Chart(): none
    ordered: bool = False  # the question asks for an order (a top N, a series)
    tolerance: float = 0.0  # numbers this close are the same (averages, ratios)

    def sql_for(self, dialect: str) -> str:
        return self.sql if isinstance(self.sql, str) else self.sql[dialect]

    def plan(self, dialect: str) -> str:
        """The model's reply that answers with the reference SQL and chart."""
        body: dict[str, Any] = {"sql": self.sql_for(dialect)}
        if self.chart != NO_CHART:
            body["chart"] = self.chart.model_dump()
        return json.dumps(body)


def per_dialect(sqlite: str, postgres: str) -> dict[str, str]:
    return {"sqlite": sqlite, "postgres": postgres}


def bar(x: str, *y: str) -> Chart:
    return Chart(kind="bar", x=x, y=list(y))


def line(x: str, *y: str) -> Chart:
    return Chart(kind="line", x=x, y=list(y))


DELIVERED = "role = 'assistant' AND status = 'ok'"
FAILED = "CASE WHEN m.status = 'error' AND m.error_code <> 'cancelled' THEN 1 ELSE 0 END"
HOUR = per_dialect(
    "CAST(STRFTIME('%H', created_at) AS INTEGER)", "CAST(EXTRACT(HOUR FROM created_at) AS INTEGER)"
)
DIALOG_MINUTES = per_dialect(
    "(JULIANDAY(MAX(created_at)) - JULIANDAY(MIN(created_at))) * 1440",
    "EXTRACT(EPOCH FROM MAX(created_at) - MIN(created_at)) / 60",
)


def _hours(sql: str) -> dict[str, str]:
    return {dialect: sql.replace("{hour}", hour) for dialect, hour in HOUR.items()}


GOLDEN: tuple[GoldenItem, ...] = (
    GoldenItem(
        key="users",
        question="How many Telegram users does the bot have?",
        sql="SELECT COUNT(*) AS users FROM users",
        expected=lambda demo: [[len(demo.users)]],
    ),
    GoldenItem(
        key="messages",
        question="How many messages are stored in total, questions and answers together?",
        sql="SELECT COUNT(*) AS messages FROM messages",
        expected=lambda demo: [[len(demo.messages)]],
    ),
    GoldenItem(
        key="dialogs-by-channel-and-mode",
        question="How many dialogs are there per channel and mode?",
        sql=(
            "SELECT channel, mode, COUNT(*) AS dialogs FROM dialogs WHERE message_count > 0"
            " GROUP BY channel, mode"
        ),
        expected=lambda demo: by_key(
            counted((d.channel, d.mode) for d in demo.dialogs_with_messages())
        ),
    ),
    GoldenItem(
        key="questions-per-day",
        question="How many questions did users ask each day? One row per day, in date order.",
        sql=(
            "SELECT DATE(created_at) AS day, COUNT(*) AS questions FROM messages"
            " WHERE role = 'user' GROUP BY DATE(created_at) ORDER BY day"
        ),
        expected=lambda demo: by_key(counted(day(m.created_at) for m in demo.questions())),
        chart=line("day", "questions"),
        ordered=True,
    ),
    GoldenItem(
        key="answers-per-model",
        question="How many answers did each model deliver?",
        sql=f"SELECT model, COUNT(*) AS answers FROM messages WHERE {DELIVERED} GROUP BY model",
        expected=lambda demo: by_key(counted(m.model for m in demo.delivered())),
        chart=bar("model", "answers"),
    ),
    GoldenItem(
        key="average-latency-per-model",
        question="What is the average latency of delivered answers per model, in milliseconds?",
        sql=(
            "SELECT model, ROUND(AVG(latency_ms), 2) AS avg_latency_ms FROM messages"
            f" WHERE {DELIVERED} GROUP BY model"
        ),
        expected=lambda demo: by_key(averaged((m.model, m.latency) for m in demo.delivered())),
        chart=bar("model", "avg_latency_ms"),
        tolerance=0.5,  # half a millisecond: whole milliseconds are as good an answer
    ),
    GoldenItem(
        key="median-ttft-per-role",
        question=(
            "What is the median time to first token of delivered answers, in milliseconds,"
            " for each role the dialogs were held in?"
        ),
        # No percentile_cont on SQLite: the middle rows by rank (their average, for an even
        # count), portable to PostgreSQL as well.
        sql=(
            "WITH ranked AS (SELECT d.role AS dialog_role, m.ttft_ms AS ttft_ms,"
            " ROW_NUMBER() OVER (PARTITION BY d.role ORDER BY m.ttft_ms) AS position,"
            " COUNT(*) OVER (PARTITION BY d.role) AS answers"
            " FROM messages AS m JOIN dialogs AS d ON d.id = m.dialog_id"
            " WHERE m.role = 'assistant' AND m.status = 'ok')"
            " SELECT dialog_role, AVG(ttft_ms) AS median_ttft_ms FROM ranked"
            " WHERE position IN ((answers + 1) / 2, (answers + 2) / 2) GROUP BY dialog_role"
        ),
        expected=lambda demo: by_key(
            {
                role: percentile(ttfts, 50)
                for role, ttfts in grouped(
                    (demo.dialog[m.dialog_id].role, m.ttft) for m in demo.delivered()
                ).items()
            }
        ),
        chart=bar("dialog_role", "median_ttft_ms"),
    ),
    GoldenItem(
        key="p95-latency-editor",
        question=(
            "What is the 95th percentile latency of delivered answers in dialogs held in the"
            " editor role, in milliseconds?"
        ),
        sql=(
            "WITH ranked AS (SELECT m.latency_ms AS latency_ms,"
            " ROW_NUMBER() OVER (ORDER BY m.latency_ms) AS position,"
            " COUNT(*) OVER () AS answers"
            " FROM messages AS m JOIN dialogs AS d ON d.id = m.dialog_id"
            " WHERE d.role = 'editor' AND m.role = 'assistant' AND m.status = 'ok')"
            " SELECT MIN(latency_ms) AS p95_latency_ms FROM ranked"
            " WHERE 100 * position >= 95 * answers"
        ),
        expected=lambda demo: [
            [
                percentile(
                    [
                        m.latency
                        for m in demo.delivered()
                        if demo.dialog[m.dialog_id].role == "editor"
                    ],
                    95,
                )
            ]
        ],
    ),
    GoldenItem(
        key="failures-by-code",
        question="How many questions failed, per error code?",
        sql=(
            "SELECT error_code, COUNT(*) AS failures FROM messages"
            " WHERE role = 'user' AND status = 'error' GROUP BY error_code"
        ),
        expected=lambda demo: by_key(
            counted(m.error_code for m in demo.questions() if m.status == "error")
        ),
        chart=bar("error_code", "failures"),
    ),
    GoldenItem(
        key="error-rate",
        question="What is the error rate of answers, in percent (to two decimals)?",
        sql=(
            f"SELECT ROUND(100.0 * SUM({FAILED}) / COUNT(*), 2) AS error_rate_pct"
            " FROM messages AS m WHERE m.role = 'user' AND m.status IN ('ok', 'error')"
        ),
        expected=lambda demo: [[error_rate_pct(demo.questions())]],
        tolerance=0.005,
    ),
    GoldenItem(
        key="error-rate-per-channel",
        question="What is the error rate of answers per channel, in percent (to two decimals)?",
        sql=(
            f"SELECT d.channel, ROUND(100.0 * SUM({FAILED}) / COUNT(*), 2) AS error_rate_pct"
            " FROM messages AS m JOIN dialogs AS d ON d.id = m.dialog_id"
            " WHERE m.role = 'user' AND m.status IN ('ok', 'error') GROUP BY d.channel"
        ),
        expected=lambda demo: by_key(
            {
                channel: error_rate_pct(questions)
                for channel, questions in grouped(
                    (demo.dialog[m.dialog_id].channel, m) for m in demo.questions()
                ).items()
            }
        ),
        chart=bar("channel", "error_rate_pct"),
        tolerance=0.005,
    ),
    GoldenItem(
        key="tokens-per-model",
        question="How many tokens, prompt and completion together, did each model use?",
        sql=(
            "SELECT model, SUM(prompt_tokens + completion_tokens) AS tokens FROM messages"
            f" WHERE {DELIVERED} GROUP BY model"
        ),
        expected=lambda demo: by_key(summed((m.model, m.tokens) for m in demo.delivered())),
        chart=bar("model", "tokens"),
    ),
    GoldenItem(
        key="tokens-per-day",
        question="How many tokens were used each day? One row per day, in date order.",
        sql=(
            "SELECT DATE(created_at) AS day, SUM(prompt_tokens + completion_tokens) AS tokens"
            f" FROM messages WHERE {DELIVERED} GROUP BY DATE(created_at) ORDER BY day"
        ),
        expected=lambda demo: by_key(
            summed((day(m.created_at), m.tokens) for m in demo.delivered())
        ),
        chart=line("day", "tokens"),
        ordered=True,
    ),
    GoldenItem(
        key="top-users-by-questions",
        question=(
            "Which 5 users asked the most questions? Their username and number of questions,"
            " most first."
        ),
        sql=(
            "SELECT u.username, COUNT(*) AS questions FROM messages AS m"
            " JOIN dialogs AS d ON d.id = m.dialog_id JOIN users AS u ON u.id = d.user_id"
            " WHERE m.role = 'user' GROUP BY u.id, u.username ORDER BY questions DESC, u.id"
            " LIMIT 5"
        ),
        expected=lambda demo: top(
            counted(user.username for _, user in demo.with_users(demo.questions())), 5
        ),
        chart=bar("username", "questions"),
        ordered=True,
    ),
    GoldenItem(
        key="top-users-by-tokens",
        question="Which 3 users used the most tokens? Their username and tokens, most first.",
        sql=(
            "SELECT u.username, SUM(m.prompt_tokens + m.completion_tokens) AS tokens"
            " FROM messages AS m JOIN dialogs AS d ON d.id = m.dialog_id"
            " JOIN users AS u ON u.id = d.user_id"
            " WHERE m.role = 'assistant' AND m.status = 'ok'"
            " GROUP BY u.id, u.username ORDER BY tokens DESC, u.id LIMIT 3"
        ),
        expected=lambda demo: top(
            summed((user.username, m.tokens) for m, user in demo.with_users(demo.delivered())),
            3,
        ),
        chart=bar("username", "tokens"),
        ordered=True,
    ),
    GoldenItem(
        key="dialogs-with-most-messages",
        question=(
            "Which 3 dialogs have the most messages? The dialog id and its number of messages,"
            " most first."
        ),
        sql=("SELECT id, message_count FROM dialogs ORDER BY message_count DESC, id LIMIT 3"),
        expected=lambda demo: top(counted(m.dialog_id for m in demo.messages), 3),
        ordered=True,
    ),
    GoldenItem(
        key="longest-dialogs",
        question=(
            "Which 3 dialogs lasted longest from their first to their last message? The dialog"
            " id and the duration in minutes, longest first."
        ),
        sql={
            dialect: (
                f"SELECT dialog_id, ROUND({minutes}, 2) AS minutes FROM messages"
                " GROUP BY dialog_id ORDER BY minutes DESC, dialog_id LIMIT 3"
            )
            for dialect, minutes in DIALOG_MINUTES.items()
        },
        expected=lambda demo: top(
            {
                dialog_id: minutes_between(min(times), max(times))
                for dialog_id, times in grouped(
                    (m.dialog_id, m.created_at) for m in demo.messages
                ).items()
            },
            3,
        ),
        ordered=True,
        tolerance=0.05,  # minutes to one decimal are as good
    ),
    GoldenItem(
        key="new-users-per-day",
        question=(
            "How many new users were there each day, counting a user on the day of their first"
            " question? One row per day that had new users, in date order."
        ),
        sql=(
            "SELECT DATE(first_message_at) AS day, COUNT(*) AS new_users FROM users"
            " WHERE first_message_at IS NOT NULL GROUP BY DATE(first_message_at) ORDER BY day"
        ),
        expected=lambda demo: by_key(
            counted(day(first) for first in _first_question_at(demo).values())
        ),
        chart=line("day", "new_users"),
        ordered=True,
    ),
    GoldenItem(
        key="questions-per-hour",
        question=(
            "How many questions were asked in each hour of the day (UTC)? The hour as a number"
            " from 0 to 23, in hour order."
        ),
        sql=_hours(
            "SELECT {hour} AS hour_utc, COUNT(*) AS questions FROM messages"
            " WHERE role = 'user' GROUP BY {hour} ORDER BY hour_utc"
        ),
        expected=lambda demo: by_key(counted(m.created_at.hour for m in demo.questions())),
        chart=bar("hour_utc", "questions"),
        ordered=True,
    ),
    GoldenItem(
        key="busiest-hour",
        question=(
            "In which hour of the day (UTC) do users ask the most questions, and how many did"
            " they ask in it?"
        ),
        sql=_hours(
            "SELECT {hour} AS hour_utc, COUNT(*) AS questions FROM messages"
            " WHERE role = 'user' GROUP BY {hour} ORDER BY questions DESC, hour_utc LIMIT 1"
        ),
        expected=lambda demo: top(counted(m.created_at.hour for m in demo.questions()), 1),
        ordered=True,
    ),
    GoldenItem(
        key="quiet-since-nov-18",
        question=(
            "Which users asked no question on or after 2026-11-18 (UTC)? Their username and"
            " Telegram id."
        ),
        sql=(
            "SELECT u.username, u.telegram_id FROM users AS u WHERE NOT EXISTS (SELECT 1"
            " FROM dialogs AS d JOIN messages AS m ON m.dialog_id = d.id"
            " WHERE d.user_id = u.id AND m.role = 'user' AND m.created_at >= '2026-11-18')"
        ),
        expected=lambda demo: [
            [user.username, user.telegram_id]
            for user in demo.users
            if user.id not in _asked_since(demo, CUTOFF)
        ],
    ),
    GoldenItem(
        key="users-per-language",
        question="How many users are there per Telegram language?",
        sql="SELECT language_code, COUNT(*) AS users FROM users GROUP BY language_code",
        expected=lambda demo: by_key(counted(user.language_code for user in demo.users)),
        chart=bar("language_code", "users"),
    ),
    GoldenItem(
        key="users-per-role",
        question=(
            "How many users have chosen each role? Users on the default role have none (null)."
        ),
        sql="SELECT role, COUNT(*) AS users FROM users GROUP BY role",
        expected=lambda demo: by_key(counted(user.role for user in demo.users)),
        chart=bar("role", "users"),
    ),
    GoldenItem(
        key="dialogs-per-role",
        question="How many dialogs were held in each role?",
        sql=("SELECT role, COUNT(*) AS dialogs FROM dialogs WHERE message_count > 0 GROUP BY role"),
        expected=lambda demo: by_key(counted(d.role for d in demo.dialogs_with_messages())),
        chart=bar("role", "dialogs"),
    ),
    GoldenItem(
        key="average-dialog-length",
        question="On average, how many messages does a dialog have (to two decimals)?",
        sql=(
            "SELECT ROUND(AVG(message_count), 2) AS avg_messages FROM dialogs"
            " WHERE message_count > 0"
        ),
        expected=lambda demo: [
            [statistics.fmean(counted(m.dialog_id for m in demo.messages).values())]
        ],
        tolerance=0.005,
    ),
    GoldenItem(
        key="open-dialogs",
        question="How many dialogs are still open, not ended by /reset or a change of role?",
        sql=(
            "SELECT COUNT(*) AS open_dialogs FROM dialogs"
            " WHERE ended_at IS NULL AND message_count > 0"
        ),
        expected=lambda demo: [
            [sum(1 for d in demo.dialogs_with_messages() if d.ended_at is None)]
        ],
    ),
    GoldenItem(
        key="question-length-per-language",
        question=(
            "What is the average length of users' questions in characters, per user language"
            " (to two decimals)?"
        ),
        sql=(
            "SELECT u.language_code, ROUND(AVG(m.length), 2) AS avg_question_chars"
            " FROM messages AS m JOIN dialogs AS d ON d.id = m.dialog_id"
            " JOIN users AS u ON u.id = d.user_id WHERE m.role = 'user'"
            " GROUP BY u.language_code"
        ),
        expected=lambda demo: by_key(
            averaged(
                (user.language_code, len(m.content))
                for m, user in demo.with_users(demo.questions())
            )
        ),
        chart=bar("language_code", "avg_question_chars"),
        tolerance=0.005,
    ),
    GoldenItem(
        key="insights-questions",
        question="How many questions were asked in Insights mode?",
        sql=(
            "SELECT COUNT(*) AS questions FROM messages AS m"
            " JOIN dialogs AS d ON d.id = m.dialog_id"
            " WHERE d.mode = 'insights' AND m.role = 'user'"
        ),
        expected=lambda demo: [
            [sum(1 for m in demo.questions() if demo.dialog[m.dialog_id].mode == "insights")]
        ],
    ),
    GoldenItem(
        key="active-users-per-day",
        question=(
            "How many different users asked at least one question each day? One row per day,"
            " in date order."
        ),
        sql=(
            "SELECT DATE(m.created_at) AS day, COUNT(DISTINCT d.user_id) AS active_users"
            " FROM messages AS m JOIN dialogs AS d ON d.id = m.dialog_id"
            " WHERE m.role = 'user' AND d.user_id IS NOT NULL"
            " GROUP BY DATE(m.created_at) ORDER BY day"
        ),
        expected=lambda demo: by_key(
            {
                d: len(set(user_ids))
                for d, user_ids in grouped(
                    (day(m.created_at), user.id) for m, user in demo.with_users(demo.questions())
                ).items()
            }
        ),
        chart=line("day", "active_users"),
        ordered=True,
    ),
    GoldenItem(
        key="average-latency-per-day",
        question=(
            "What was the average latency of delivered answers each day, in milliseconds? One"
            " row per day, in date order."
        ),
        sql=(
            "SELECT DATE(created_at) AS day, ROUND(AVG(latency_ms), 2) AS avg_latency_ms"
            f" FROM messages WHERE {DELIVERED} GROUP BY DATE(created_at) ORDER BY day"
        ),
        expected=lambda demo: by_key(
            averaged((day(m.created_at), m.latency) for m in demo.delivered())
        ),
        chart=line("day", "avg_latency_ms"),
        ordered=True,
        tolerance=0.5,
    ),
)


def _first_question_at(demo: Demo) -> dict[int, datetime]:
    """Each Telegram user's first question, for those who asked one."""
    firsts: dict[int, datetime] = {}
    for message, user in demo.with_users(demo.questions()):
        if user.id not in firsts or message.created_at < firsts[user.id]:
            firsts[user.id] = message.created_at
    return firsts


def _asked_since(demo: Demo, moment: datetime) -> set[int]:
    """The users who asked a question at `moment` or later."""
    return {user.id for m, user in demo.with_users(demo.questions()) if m.created_at >= moment}


# --- execution accuracy ----------------------------------------------------------------------


def matches(expected: Rows, actual: QueryResult, item: GoldenItem) -> bool:
    return mismatch(expected, actual, item) is None


def mismatch(expected: Rows, actual: QueryResult, item: GoldenItem) -> str | None:
    """None when `actual` answers the question as `expected` does, else how it differs."""
    if actual.truncated:
        return f"the result was cut at {_many(len(actual.rows), 'row')}"
    if len(actual.rows) != len(expected):
        return f"{_many(len(expected), 'row')} expected, {len(actual.rows)} returned"
    if not expected:
        return None
    want = [[_normal(cell) for cell in row] for row in expected]
    got = [[_normal(cell) for cell in row] for row in actual.rows]
    if len(actual.columns) != len(want[0]):
        return f"{_many(len(want[0]), 'column')} expected, {len(actual.columns)} returned"
    in_another_order = False
    for columns in _column_orders(want, got, item.tolerance):
        arranged = [[row[k] for k in columns] for row in got]
        if item.ordered and _same_rows_in_order(want, arranged, item.tolerance):
            return None
        if _same_rows(want, arranged, item.tolerance):
            if not item.ordered:
                return None
            in_another_order = True
    if in_another_order:
        return "the right rows in the wrong order"
    return f"the values differ (expected {_shown(expected)}, got {_shown(actual.rows)})"


_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}(:?\d{2})?|Z)?)?")


def _normal(value: Any) -> Any:
    """A value as it is compared: numbers as floats (booleans as 0 and 1, numbers written as
    text too), dates and timestamps as aware UTC datetimes (a date is its midnight)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return float(text)
        if _DATE.fullmatch(text):
            try:
                return _normal(datetime.fromisoformat(text))
            except ValueError:
                return value
    return value


def _same(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tolerance + 1e-9 * max(1.0, abs(a), abs(b))
    return bool(a == b)


def _same_rows_in_order(want: Rows, got: Rows, tolerance: float) -> bool:
    return all(
        all(_same(a, b, tolerance) for a, b in zip(w, g, strict=True))
        for w, g in zip(want, got, strict=True)
    )


def _same_rows(want: Rows, got: Rows, tolerance: float) -> bool:
    """The same rows as multisets: each expected row matched by a row not matched yet."""
    unmatched = list(got)
    for row in want:
        for index, candidate in enumerate(unmatched):
            if all(_same(a, b, tolerance) for a, b in zip(row, candidate, strict=True)):
                del unmatched[index]
                break
        else:
            return False
    return True


def _column_orders(want: Rows, got: Rows, tolerance: float) -> Iterable[tuple[int, ...]]:
    """The orders of the returned columns under which each lines up with an expected one: a
    column can stand for another only if it holds the same values."""
    width = len(want[0])
    candidates = [
        [
            k
            for k in range(width)
            if _same_rows([[row[j]] for row in want], [[row[k]] for row in got], tolerance)
        ]
        for j in range(width)
    ]
    for columns in itertools.product(*candidates):
        if len(set(columns)) == width:
            yield columns


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _shown(rows: Rows, limit: int = 5) -> str:
    text = json.dumps(rows[:limit], default=str, ensure_ascii=False)
    return text if len(rows) <= limit else f"{text[:-1]}, ... {len(rows) - limit} more]"
