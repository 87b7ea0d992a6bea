"""The dashboard's figures for a window, read from the rollups and, at the window's edges
(what does not fill a whole quarter hour), from the rows.

Every figure is exact. Percentiles are nearest-rank: the k-th smallest value, k = ⌈p·n/100⌉;
the histograms find the bin that holds rank k, then the one value is read from the messages
within that bin and window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from webapi.models import UTCDateTime
from webapi.stats import rollups
from webapi.stats.rollups import COUNTERS, QUARTER_S

Range = tuple[datetime, datetime]
Counts = dict[str, int]


@dataclass(frozen=True)
class Slots:
    """Whole slots [first, last) of one unit."""

    unit: int
    first: int
    last: int


def cover(start: datetime, end: datetime, units: Sequence[int]) -> tuple[list[Slots], list[Range]]:
    """A range as whole slots, the largest units inside, smaller ones around them, and the raw
    pieces left at its edges (less than the smallest unit each). Units divide one another."""
    unit = units[0]
    begin, finish = start.timestamp(), end.timestamp()
    first, last = math.ceil(begin / unit), math.floor(finish / unit)
    if first >= last:
        return [], [(start, end)]
    raw = []
    if first * unit > begin:
        raw.append((start, _at(first * unit)))
    if last * unit < finish:
        raw.append((_at(last * unit), end))
    if len(units) == 1:
        return [Slots(unit, first, last)], raw
    inner, rest = cover(_at(first * unit), _at(last * unit), units[1:])
    around = [
        Slots(unit, int(low.timestamp()) // unit, int(high.timestamp()) // unit)
        for low, high in rest
    ]
    return inner + around, raw


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Figures:
    """Queries over one read transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self._params: dict[str, Any] = {}
        self._types: dict[str, Any] = {}

    # --- statement building ---------------------------------------------------------------

    def _moment(self, value: datetime) -> str:
        """A bound timestamp (integers, all computed here, are written into the SQL)."""
        name = f"t{len(self._params)}"
        self._params[name] = value
        self._types[name] = UTCDateTime()
        return f":{name}"

    def _run(self, sql: str) -> list[tuple[Any, ...]]:
        statement = sa.text(sql).bindparams(
            *(sa.bindparam(name, type_=kind) for name, kind in self._types.items())
        )
        params, self._params, self._types = self._params, {}, {}
        return [tuple(row) for row in self.session.execute(statement, params)]

    def _between(self, column: str, start: datetime, end: datetime) -> str:
        return f"{column} >= {self._moment(start)} AND {column} < {self._moment(end)}"

    # --- counts -----------------------------------------------------------------------------

    def counts(
        self, ranges: Sequence[Range], by: Sequence[str] = ()
    ) -> list[dict[tuple[Any, ...], Counts]]:
        """For each range, the sums of COUNTERS, grouped by the columns `by` (channel, role)."""
        slots, parts = [], []
        keys = ", ".join([*by, *COUNTERS])
        for index, (start, end) in enumerate(ranges):
            whole, raw = cover(start, end, rollups.COUNT_UNITS)
            slots += [f"({index}, {s.unit}, {s.first}, {s.last})" for s in whole]
            for raw_start, raw_end in raw:
                unit = rollups.QUARTER_S
                messages = rollups.count_rows_sql(
                    self.dialect, unit, self._between("m.created_at", raw_start, raw_end)
                )
                dialogs = rollups.dialog_count_rows_sql(
                    self.dialect, unit, self._between("d.started_at", raw_start, raw_end)
                )
                parts.append(f"SELECT {index} AS i, {keys} FROM ({messages}) AS m_rows")
                parts.append(f"SELECT {index} AS i, {keys} FROM ({dialogs}) AS d_rows")
        prefix = ""
        if slots:
            prefix = f"WITH slots (i, unit, first, last) AS (VALUES {', '.join(slots)}) "
            parts.append(
                f"SELECT s.i AS i, {', '.join(f'c.{key}' for key in [*by, *COUNTERS])}"
                " FROM slots s JOIN stats_counts c ON c.unit = s.unit"
                " AND c.slot >= s.first AND c.slot < s.last"
            )
        group = ", ".join(["i", *by])
        sums = ", ".join(f"SUM({counter})" for counter in COUNTERS)
        union = " UNION ALL ".join(parts)
        rows = self._run(f"{prefix}SELECT {group}, {sums} FROM ({union}) AS parts GROUP BY {group}")
        found: list[dict[tuple[Any, ...], Counts]] = [{} for _ in ranges]
        for row in rows:
            key = tuple(row[1 : 1 + len(by)])
            found[row[0]][key] = {
                name: int(value or 0)
                for name, value in zip(COUNTERS, row[1 + len(by) :], strict=True)
            }
        return found

    def totals(self, ranges: Sequence[Range]) -> list[Counts]:
        return [groups.get((), dict.fromkeys(COUNTERS, 0)) for groups in self.counts(ranges)]

    def series(self, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        """(user messages, delivered answers) per bucket between consecutive bounds."""
        buckets = [
            groups.get((), dict.fromkeys(COUNTERS, 0))
            for groups in self.counts(list(pairwise(bounds)))
        ]
        return [(b["user_messages"], b["assistant_messages"]) for b in buckets]

    # --- users ------------------------------------------------------------------------------

    def active_users(self, ranges: Sequence[Range]) -> list[int]:
        """For each range, how many Telegram users wrote in it.

        Those of its largest whole slots are counted there, each once, at the first of them
        (the row whose previous slot lies before them); to them come those of the rest of the
        range (smaller slots, raw edges) who did not write in those largest slots."""
        mains: list[str] = []
        rests: list[tuple[int, Slots | None, list[Slots], list[Range]]] = []
        for index, (start, end) in enumerate(ranges):
            whole, raw = cover(start, end, rollups.USER_UNITS)
            main = max(whole, key=lambda s: (s.unit, s.last - s.first), default=None)
            if main is not None:
                mains.append(f"({index}, {main.unit}, {main.first}, {main.last})")
            others = [s for s in whole if s is not main]
            if others or raw:
                rests.append((index, main, others, raw))
        found = [0 for _ in ranges]
        if mains:
            counted = self._run(
                f"WITH slots (i, unit, first, last) AS (VALUES {', '.join(mains)})"
                " SELECT s.i, COUNT(*) FROM slots s JOIN stats_users u ON u.unit = s.unit"
                " AND u.slot >= s.first AND u.slot < s.last"
                " WHERE u.prev_slot IS NULL OR u.prev_slot < s.first GROUP BY s.i"
            )
            for index, count in counted:
                found[index] += int(count)
        edges = []
        for index, main, others, raw in rests:
            users = [
                f"SELECT user_id FROM stats_users WHERE unit = {s.unit}"
                f" AND slot >= {s.first} AND slot < {s.last}"
                for s in others
            ]
            users += [
                "SELECT user_id FROM ("
                + rollups.user_rows_sql(
                    self.dialect, QUARTER_S, self._between("m.created_at", raw_start, raw_end)
                )
                + ") AS raw_users"
                for raw_start, raw_end in raw
            ]
            outside = ""
            if main is not None:
                outside = (
                    " WHERE NOT EXISTS (SELECT 1 FROM stats_users x WHERE x.unit ="
                    f" {main.unit} AND x.user_id = e.user_id AND x.slot >= {main.first}"
                    f" AND x.slot < {main.last})"
                )
            edges.append(
                f"SELECT {index} AS i, e.user_id AS user_id FROM"
                f" ({' UNION ALL '.join(users)}) AS e{outside}"
            )
        if edges:
            counted = self._run(
                f"SELECT i, COUNT(DISTINCT user_id) FROM ({' UNION ALL '.join(edges)}) AS e"
                " GROUP BY i"
            )
            for index, count in counted:
                found[index] += int(count)
        return found

    def new_users(self, ranges: Sequence[Range]) -> list[int]:
        """For each range, how many Telegram users wrote their first message in it."""
        return [
            int(
                self._run(
                    f"SELECT COUNT(*) FROM users WHERE {self._between('first_message_at', *span)}"
                )[0][0]
            )
            for span in ranges
        ]

    # --- percentiles ------------------------------------------------------------------------

    def percentiles(
        self, span: Range, metric: int, ranks: Sequence[float]
    ) -> tuple[int, list[int | None]]:
        """The number of delivered answers with a value, and the nearest-rank percentiles."""
        histogram = self._histogram(span, metric)
        total = sum(n for _, n in histogram)
        values: list[int | None] = []
        for p in ranks:
            if total == 0:
                values.append(None)
                continue
            rank = max(1, math.ceil(p * total / 100))
            below = 0
            for bin_, n in histogram:
                if below + n >= rank:
                    values.append(self._value_at(span, metric, bin_, rank - below))
                    break
                below += n
        return total, values

    def _histogram(self, span: Range, metric: int) -> list[tuple[int, int]]:
        whole, raw = cover(*span, rollups.LATENCY_UNITS)
        parts = [
            f"SELECT bin, n FROM stats_latency WHERE unit = {s.unit} AND metric = {metric}"
            f" AND slot >= {s.first} AND slot < {s.last}"
            for s in whole
        ]
        for raw_start, raw_end in raw:
            rows = rollups.histogram_rows_sql(
                self.dialect,
                rollups.HOUR_S,
                metric,
                self._between("m.created_at", raw_start, raw_end),
            )
            parts.append(f"SELECT bin, 1 AS n FROM ({rows}) AS raw_values")
        binned = self._run(
            f"SELECT bin, SUM(n) FROM ({' UNION ALL '.join(parts)}) AS binned"
            " GROUP BY bin ORDER BY bin"
        )
        return [(int(bin_), int(n)) for bin_, n in binned if n]

    def _value_at(self, span: Range, metric: int, bin_: int, rank: int) -> int:
        column = f"m.{rollups.METRIC_COLUMNS[metric]}"
        low, high = rollups.bin_bounds(bin_)
        above = f"{column} >= {int(low)} AND " if low is not None else ""
        value = self._run(
            f"SELECT {column} FROM messages m WHERE m.role = 'assistant' AND m.status = 'ok'"
            f" AND {above}{column} < {int(high)} AND {self._between('m.created_at', *span)}"
            f" ORDER BY {column} LIMIT 1 OFFSET {int(rank - 1)}"
        )[0][0]
        return int(value)

    # --- users and dialogs in a window ------------------------------------------------------

    def top_users(self, span: Range, limit: int) -> list[dict[str, Any]]:
        """The Telegram users who wrote most in the window: messages, dialogs, last message."""
        whole, raw = cover(*span, rollups.USER_UNITS)
        parts = [
            f"SELECT user_id, messages FROM stats_users WHERE unit = {s.unit}"
            f" AND slot >= {s.first} AND slot < {s.last}"
            for s in whole
        ]
        for raw_start, raw_end in raw:
            rows = rollups.user_rows_sql(
                self.dialect, QUARTER_S, self._between("m.created_at", raw_start, raw_end)
            )
            parts.append(f"SELECT user_id, 1 AS messages FROM ({rows}) AS raw_users")
        top = self._run(
            f"SELECT user_id, SUM(messages) AS written FROM ({' UNION ALL '.join(parts)})"
            " AS active GROUP BY user_id"
            f" ORDER BY written DESC, user_id LIMIT {int(limit)}"
        )
        if not top:
            return []
        ids = [int(user_id) for user_id, _ in top]
        listed = ", ".join(str(user_id) for user_id in ids)
        profiles = {
            row[0]: row[1:]
            for row in self._run(
                "SELECT id, telegram_id, username, first_name, last_name FROM users"
                f" WHERE id IN ({listed})"
            )
        }
        dialogs: dict[int, int] = dict(
            self._run(
                f"SELECT user_id, COUNT(*) FROM dialogs d WHERE user_id IN ({listed})"
                f" AND {self._between('d.started_at', *span)} AND d.message_count > 0"
                " GROUP BY user_id"
            )
        )
        return [
            {
                "user_id": user_id,
                **dict(zip(_PROFILE, profiles[user_id], strict=True)),
                "messages": int(written),
                "dialogs": int(dialogs.get(user_id, 0)),
                "last_message_at": self._last_message(user_id, span),
            }
            for user_id, written in ((int(u), w) for u, w in top)
        ]

    def _last_message(self, user_id: int, span: Range) -> datetime | None:
        """The user's last message in the window, in the last of their quarter hours there (or
        the one before, if the last one's messages all came after the window's end)."""
        start, end = span
        first = math.floor(start.timestamp() / QUARTER_S)
        last = math.floor(end.timestamp() / QUARTER_S)
        quarters = self._run(
            f"SELECT slot FROM stats_users WHERE unit = {QUARTER_S} AND user_id = {int(user_id)}"
            f" AND slot >= {int(first)} AND slot <= {int(last)} ORDER BY slot DESC LIMIT 2"
        )
        for (q,) in quarters:
            low, high = max(start, _at(q * QUARTER_S)), min(end, _at((q + 1) * QUARTER_S))
            latest = self._run(
                "SELECT MAX(m.created_at) FROM messages m JOIN dialogs d ON d.id = m.dialog_id"
                f" WHERE {self._between('m.created_at', low, high)} AND m.role = 'user'"
                # Unary plus: read the quarter hour's messages by time, not the user's all.
                f" AND +d.user_id = {int(user_id)}"
            )[0][0]
            if latest is not None:
                return as_utc(latest)
        return None


_PROFILE = ("telegram_id", "username", "first_name", "last_name")


def as_utc(value: datetime | str) -> datetime:
    """A timestamp read through raw SQL: SQLite gives text, PostgreSQL an aware datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def change_pct(value: float | None, previous: float | None) -> float | None:
    """The change against the previous window in percent; none when there is nothing to
    compare with (a previous value of 0 or unknown)."""
    if value is None or previous is None or previous == 0:
        return None
    return round((value - previous) / previous * 100, 1)


def fold(groups: Mapping[tuple[Any, ...], Counts], position: int) -> dict[Any, Counts]:
    """Counts grouped by (channel, role) summed over one of the two."""
    folded: dict[Any, Counts] = {}
    for key, counts in groups.items():
        into = folded.setdefault(key[position], dict.fromkeys(COUNTERS, 0))
        for name, value in counts.items():
            into[name] += value
    return folded
