"""The dashboard's figures for a window, read from the rollups and, at the window's edges
(what does not fill a whole quarter hour), from the rows.

Every figure is exact. Percentiles are nearest-rank: the k-th smallest value, k = ⌈p·n/100⌉;
the coarse histograms find the coarse bin that holds rank k, that bin's fine histograms the bin
within it, then the one value is read from the messages within that bin and window.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
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


def _main_run(start: datetime, end: datetime) -> tuple[list[Slots], list[Range], Slots | None]:
    """The cover of a range by users' slots and its main run: of the largest unit whose run
    spans most (MAIN_SHARE) of the range, else the longest run there is."""
    span = (end - start).total_seconds()
    for top in range(len(rollups.USER_UNITS), 0, -1):
        whole, raw = cover(start, end, rollups.USER_UNITS[:top])
        main = max(whole, key=lambda s: (s.unit, s.last - s.first), default=None)
        if main is not None and (main.last - main.first) * main.unit >= MAIN_SHARE * span:
            return whole, raw, main
    whole, raw = cover(start, end, rollups.USER_UNITS)
    return whole, raw, max(whole, key=lambda s: (s.last - s.first) * s.unit, default=None)


# A run of whole slots that spans this share of a range counts its users alone: rows looked up
# one by one (the rest) cost several times the rows counted (the run).
MAIN_SHARE = 0.8


def _slots_in(slots: Slots, table: str = "") -> str:
    """The rollup rows of these slots (integers only, written into the SQL)."""
    prefix = f"{table}." if table else ""
    return (
        f"{prefix}unit = {int(slots.unit)} AND {prefix}slot >= {int(slots.first)}"
        f" AND {prefix}slot < {int(slots.last)}"
    )


def _in_run(c: Mapping[str, str]) -> str:
    """The rollup rows (alias x) of a run of slots whose unit, first and last (exclusive) slot
    are the SQL c["unit"], c["lo"] and c["hi"] (see Figures._per_row)."""
    return f"x.unit = {c['unit']} AND x.slot >= {c['lo']} AND x.slot < {c['hi']}"


RUN = ("i", "unit", "lo", "hi")  # a run of whole slots of range i


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

    def _per_row(
        self,
        names: Sequence[str],
        rows: Sequence[Sequence[int]],
        keep: Sequence[str],
        aggregate: Callable[[Mapping[str, str]], tuple[str, str]],
    ) -> str:
        """One aggregate query per row of integers (columns `names`), as one statement whose
        rows are each row's `keep` columns, then its aggregate's. `aggregate` gets the SQL of
        each column and answers the select list and the rest (FROM, WHERE, GROUP BY).

        PostgreSQL: the rows as VALUES, joined laterally to the aggregate, planned once however
        many rows (planning a union of a hundred index scans cost more than running them); the
        aggregate keeps the planner from flattening it into a hash join over the whole table.
        SQLite: one SELECT per row, joined by UNION ALL, which it plans as cheaply."""
        if self.dialect == "postgresql":
            values = ", ".join(f"({', '.join(str(int(v)) for v in row)})" for row in rows)
            select, rest = aggregate({name: f"b.{name}" for name in names})
            return (
                f"SELECT {', '.join(f'b.{name}' for name in keep)}, s.* FROM (VALUES {values})"
                f" AS b({', '.join(names)}) CROSS JOIN LATERAL (SELECT {select} {rest}) AS s"
            )
        selects = []
        for row in rows:
            literal = {name: str(int(value)) for name, value in zip(names, row, strict=True)}
            select, rest = aggregate(literal)
            kept = ", ".join(f"{literal[name]} AS {name}" for name in keep)
            selects.append(f"SELECT {kept}, {select} {rest}")
        return " UNION ALL ".join(selects)

    # --- counts -----------------------------------------------------------------------------

    def counts(
        self, ranges: Sequence[Range], by: Sequence[str] = ()
    ) -> list[dict[tuple[Any, ...], Counts]]:
        """For each range, the sums of COUNTERS, grouped by the columns `by` (channel, role)."""
        parts = []
        keys = ", ".join([*by, *COUNTERS])
        runs: list[tuple[int, int, int, int]] = []
        for index, (start, end) in enumerate(ranges):
            whole, raw = cover(start, end, rollups.COUNT_UNITS)
            runs += [(index, s.unit, s.first, s.last) for s in whole]
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
        if runs:
            grouped = ", ".join(f"x.{column}" for column in by)
            summed = ", ".join(
                [*(f"x.{column} AS {column}" for column in by)]
                + [f"SUM(x.{counter}) AS {counter}" for counter in COUNTERS]
            )
            parts.append(
                self._per_row(
                    RUN,
                    runs,
                    ("i",),
                    lambda c: (
                        summed,
                        f"FROM stats_counts x WHERE {_in_run(c)}"
                        + (f" GROUP BY {grouped}" if by else ""),
                    ),
                )
            )
        group = ", ".join(["i", *by])
        sums = ", ".join(f"SUM({counter})" for counter in COUNTERS)
        union = " UNION ALL ".join(parts)
        rows = self._run(f"SELECT {group}, {sums} FROM ({union}) AS parts GROUP BY {group}")
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

        Those of its main run of whole slots are counted there, each once, at the first of
        them (the row whose previous slot lies before them): a plain count. To them come those
        of the rest of the range (smaller slots, raw edges) who did not write in the main run:
        a distinct count, each row looked up, so the main run is the one that leaves the least
        rest, not always the one of the largest unit."""
        runs: list[tuple[int, int, int, int]] = []
        rests: list[tuple[int, Slots | None, list[Slots], list[Range]]] = []
        for index, (start, end) in enumerate(ranges):
            whole, raw, main = _main_run(start, end)
            if main is not None:
                runs.append((index, main.unit, main.first, main.last))
            others = [s for s in whole if s is not main]
            if others or raw:
                rests.append((index, main, others, raw))
        found = [0 for _ in ranges]
        mains = []
        if runs:
            mains.append(
                self._per_row(
                    RUN,
                    runs,
                    ("i",),
                    lambda c: (
                        "COUNT(*) AS n",
                        f"FROM stats_users x WHERE {_in_run(c)}"
                        f" AND (x.prev_slot IS NULL OR x.prev_slot < {c['lo']})",
                    ),
                )
            )
        edges = []
        for index, main, others, raw in rests:
            users = [f"SELECT user_id FROM stats_users WHERE {_slots_in(s)}" for s in others]
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
                # A rest of raw edges alone (a few users): each looked up in the main run by
                # the index; on PostgreSQL, OFFSET 0 keeps it so, where an anti-join would read
                # the main run whole. A rest of whole slots too (a thousand users and more at a
                # million messages, against a main run of ten or twenty thousand rows): the
                # anti-join reads the main run in less time than the lookups take.
                lookups = not others and self.dialect == "postgresql"
                keep = " OFFSET 0" if lookups else ""
                outside = (
                    " WHERE NOT EXISTS (SELECT 1 FROM stats_users x WHERE x.user_id = e.user_id"
                    f" AND {_slots_in(main, 'x')}{keep})"
                )
            edges.append(
                f"SELECT {index} AS i, e.user_id AS user_id FROM (SELECT DISTINCT user_id"
                f" FROM ({' UNION ALL '.join(users)}) AS rest) AS e{outside}"
            )
        if edges:
            mains.append(
                f"SELECT i, COUNT(*) AS n FROM ({' UNION ALL '.join(edges)}) AS edges GROUP BY i"
            )
        if mains:
            for index, count in self._run(" UNION ALL ".join(mains)):
                found[index] += int(count)
        return found

    def new_users(self, ranges: Sequence[Range]) -> list[int]:
        """For each range, how many Telegram users wrote their first message in it."""
        counted = dict(
            self._run(
                " UNION ALL ".join(
                    f"SELECT {index} AS i, COUNT(*) FROM users"
                    f" WHERE {self._between('first_message_at', *span)}"
                    for index, span in enumerate(ranges)
                )
            )
        )
        return [int(counted.get(index, 0)) for index in range(len(ranges))]

    # --- percentiles ------------------------------------------------------------------------

    def percentiles(
        self, spans: Sequence[Range], ranks: Sequence[int]
    ) -> dict[int, list[list[int | None]]]:
        """For each metric, for each span, the nearest-rank percentiles (whole percents) of the
        delivered answers (None where there is none), narrowed down statement by statement:
        the bins of the spans' edges, the coarse bin that holds each rank, the bin within it,
        then the value within that."""
        edges = self._edge_bins(spans)
        coarse = self._coarse_histograms(spans, edges)
        # (span, metric, position) → (coarse bin, rank within it, from 1)
        in_coarse: dict[tuple[int, int, int], tuple[int, int]] = {}
        for (index, metric), histogram in coarse.items():
            total = sum(n for _, n in histogram)
            for position, p in enumerate(ranks):
                if total == 0:
                    continue
                rank = max(1, -(-p * total // 100))  # ceil(p·n/100) in integers
                in_coarse[index, metric, position] = _locate(histogram, rank)
        fine = self._fine_histograms(
            spans, edges, {(i, m, c) for (i, m, _), (c, _) in in_coarse.items()}
        )
        located = [
            (index, metric, position, *_locate(fine[index, metric, wide], rank))
            for (index, metric, position), (wide, rank) in in_coarse.items()
        ]
        found: dict[int, list[list[int | None]]] = {
            metric: [[None] * len(ranks) for _ in spans] for metric in rollups.METRIC_COLUMNS
        }
        values = [
            f"SELECT {key} AS k, ({self._value_sql(spans[index], metric, bin_, rank - 1)}) AS v"
            for key, (index, metric, _, bin_, rank) in enumerate(located)
        ]
        if values:
            for key, value in self._run(" UNION ALL ".join(values)):
                index, metric, position, _, _ = located[key]
                found[metric][index][position] = int(value)
        return found

    def _edge_bins(self, spans: Sequence[Range]) -> dict[tuple[int, int], dict[int, int]]:
        """(span index, metric) → {bin: answers} of what the spans' whole slots leave at their
        edges (less than an hour each), counted from the rows, in one statement."""
        parts = []
        for index, span in enumerate(spans):
            for raw_start, raw_end in cover(*span, rollups.LATENCY_UNITS)[1]:
                for metric in rollups.METRIC_COLUMNS:
                    rows = rollups.histogram_rows_sql(
                        self.dialect,
                        rollups.HOUR_S,
                        metric,
                        self._between("m.created_at", raw_start, raw_end),
                    )
                    parts.append(
                        f"SELECT {index} AS i, {metric} AS metric, bin FROM ({rows}) AS raw_values"
                    )
        found: dict[tuple[int, int], dict[int, int]] = {}
        if parts:
            for index, metric, bin_, n in self._run(
                f"SELECT i, metric, bin, COUNT(*) FROM ({' UNION ALL '.join(parts)}) AS edges"
                " GROUP BY i, metric, bin"
            ):
                found.setdefault((int(index), int(metric)), {})[int(bin_)] = int(n)
        return found

    def _coarse_histograms(
        self, spans: Sequence[Range], edges: Mapping[tuple[int, int], Mapping[int, int]]
    ) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """(span index, metric) → [(coarse bin, answers)] in bin order, the spans' whole slots
        read in one statement, their edges added."""
        # Each run of slots summed by bin first (sorting each one's rows, hundreds, costs SQLite
        # less than sorting all of them at once); every metric by its number, which the key
        # has before the slot.
        runs = [
            (index, metric, metric + rollups.COARSE, s.unit, s.first, s.last)
            for index, span in enumerate(spans)
            for s in cover(*span, rollups.LATENCY_UNITS)[0]
            for metric in rollups.METRIC_COLUMNS
        ]
        sums: dict[tuple[int, int], dict[int, int]] = {}
        if runs:
            binned = self._per_row(
                ("i", "metric", "stored", "unit", "lo", "hi"),
                runs,
                ("i", "metric"),
                lambda c: (
                    "x.bin AS bin, SUM(x.n) AS n",
                    f"FROM stats_latency x WHERE x.metric = {c['stored']} AND {_in_run(c)}"
                    " GROUP BY x.bin",
                ),
            )
            for index, metric, bin_, n in self._run(
                f"SELECT i, metric, bin, SUM(n) FROM ({binned}) AS binned GROUP BY i, metric, bin"
            ):
                sums.setdefault((int(index), int(metric)), {})[int(bin_)] = int(n)
        for key, counted in edges.items():
            into = sums.setdefault(key, {})
            for bin_, n in counted.items():
                wide = bin_ // rollups.COARSE_BINS
                into[wide] = into.get(wide, 0) + n
        return {key: sorted((b, n) for b, n in bins.items() if n) for key, bins in sums.items()}

    def _fine_histograms(
        self,
        spans: Sequence[Range],
        edges: Mapping[tuple[int, int], Mapping[int, int]],
        wanted: set[tuple[int, int, int]],
    ) -> dict[tuple[int, int, int], list[tuple[int, int]]]:
        """(span index, metric, coarse bin) → [(bin, answers)] in bin order within that coarse
        bin: each slot's few rows there, looked up by their key, in one statement."""
        parts = []
        keys = sorted(wanted)
        for key, (index, metric, wide) in enumerate(keys):
            low, high = wide * rollups.COARSE_BINS, (wide + 1) * rollups.COARSE_BINS
            for s in cover(*spans[index], rollups.LATENCY_UNITS)[0]:
                # Slot by slot (an IN list), so that only their rows in the bin are read.
                slots = ", ".join(str(slot) for slot in range(s.first, s.last))
                parts.append(
                    f"SELECT {key} AS k, bin, n FROM stats_latency WHERE unit = {int(s.unit)}"
                    f" AND metric = {metric} AND slot IN ({slots})"
                    f" AND bin >= {low} AND bin < {high}"
                )
        sums: dict[int, dict[int, int]] = {}
        if parts:
            for key, bin_, n in self._run(
                f"SELECT k, bin, SUM(n) FROM ({' UNION ALL '.join(parts)}) AS binned"
                " GROUP BY k, bin"
            ):
                sums.setdefault(int(key), {})[int(bin_)] = int(n)
        found = {}
        for key, (index, metric, wide) in enumerate(keys):
            bins = sums.get(key, {})
            for bin_, n in edges.get((index, metric), {}).items():
                if bin_ // rollups.COARSE_BINS == wide:
                    bins[bin_] = bins.get(bin_, 0) + n
            found[index, metric, wide] = sorted((b, n) for b, n in bins.items() if n)
        return found

    def _value_sql(self, span: Range, metric: int, bin_: int, offset: int) -> str:
        """The value at `offset` (from 0) in value order among the span's delivered answers
        within one bin."""
        column = f"m.{rollups.METRIC_COLUMNS[metric]}"
        low, high = rollups.bin_bounds(bin_)
        above = f"{column} >= {int(low)} AND " if low is not None else ""
        return (
            f"SELECT {column} FROM messages m WHERE m.role = 'assistant' AND m.status = 'ok'"
            f" AND {above}{column} < {int(high)} AND {self._between('m.created_at', *span)}"
            f" ORDER BY {column} LIMIT 1 OFFSET {int(offset)}"
        )

    # --- users and dialogs in a window ------------------------------------------------------

    def top_users(self, span: Range, limit: int) -> list[dict[str, Any]]:
        """The Telegram users who wrote most in the window: messages, dialogs, last message."""
        whole, raw = cover(*span, rollups.USER_UNITS)
        parts = [f"SELECT user_id, messages FROM stats_users WHERE {_slots_in(s)}" for s in whole]
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
        start, end = span
        first = math.floor(start.timestamp() / QUARTER_S)
        last = math.floor(end.timestamp() / QUARTER_S)
        # One correlated statement for all (PostgreSQL plans it once, not once per user):
        # each user's dialogs in the window, and the last of their whole quarter hours there
        # before the one the window ends in.
        profiles = {
            row[0]: row[1:]
            for row in self._run(
                "SELECT u.id, u.telegram_id, u.username, u.first_name, u.last_name,"
                " (SELECT COUNT(*) FROM dialogs d WHERE d.user_id = u.id"
                f" AND {self._between('d.started_at', *span)} AND d.message_count > 0),"
                f" (SELECT MAX(q.slot) FROM stats_users q WHERE q.unit = {QUARTER_S}"
                f" AND q.user_id = u.id AND q.slot >= {int(first)} AND q.slot < {int(last)})"
                f" FROM users u WHERE u.id IN ({', '.join(map(str, ids))})"
            )
        }
        quarters = {int(row[-1]) for row in profiles.values() if row[-1] is not None}
        latest = self._last_messages(ids, span, sorted(quarters | {last}))
        return [
            {
                "user_id": user_id,
                **dict(zip(_PROFILE, profiles[user_id][:4], strict=True)),
                "messages": int(written),
                "dialogs": int(profiles[user_id][4]),
                "last_message_at": latest.get(user_id),
            }
            for user_id, written in ((int(u), w) for u, w in top)
        ]

    def _last_messages(
        self, user_ids: Sequence[int], span: Range, quarters: Sequence[int]
    ) -> dict[int, datetime]:
        """The users' last messages in the window, read from the given quarter hours only: the
        one the window ends in and each user's last whole one before it. A user's messages in
        another's quarter hours are no later than their own last, so they change nothing."""
        start, end = span
        pieces = [
            (max(start, _at(q * QUARTER_S)), min(end, _at((q + 1) * QUARTER_S))) for q in quarters
        ]
        within = " OR ".join(
            f"({self._between('m.created_at', low, high)})" for low, high in pieces if low < high
        )
        if not within:
            return {}
        found = self._run(
            "SELECT d.user_id, MAX(m.created_at) FROM messages m JOIN dialogs d"
            f" ON d.id = m.dialog_id WHERE ({within}) AND m.role = 'user'"
            # Unary plus: read the quarter hours' messages by time, not the users' all.
            f" AND +d.user_id IN ({', '.join(map(str, user_ids))}) GROUP BY d.user_id"
        )
        return {int(user_id): as_utc(moment) for user_id, moment in found}


_PROFILE = ("telegram_id", "username", "first_name", "last_name")


def _locate(histogram: Sequence[tuple[int, int]], rank: int) -> tuple[int, int]:
    """The bin of a histogram ([(bin, count)] in bin order) that holds the rank-th smallest
    value (from 1), and that value's rank within the bin (from 1)."""
    below = 0
    for bin_, n in histogram:
        if below + n >= rank:
            return bin_, rank - below
        below += n
    raise AssertionError(f"rank {rank} beyond the histogram's {below} values")


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
