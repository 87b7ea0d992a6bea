"""Each dashboard block's figures for a window, in one read transaction each.

Definitions (the README's "Dashboard statistics" repeats them for users):
- dialogs: dialogs started in the window that have a message (a /reset starts a new one);
- user messages: every question; assistant messages: answers delivered (status ok);
- answers: questions settled in the window (by question time); the error rate is failed plus
  interrupted answers over all answers; cancelled ones (stopped by the client) are apart;
- active, new and top users: Telegram users (console accounts are no users); new users wrote
  their first message in the window;
- latency and time to first token: nearest-rank percentiles over the answers delivered.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from webapi.database import read_session
from webapi.models import Channel
from webapi.stats import rollups
from webapi.stats.figures import Counts, Figures, change_pct, fold
from webapi.stats.windows import Window

PERCENT_RANKS = (50, 95)


def window_info(window: Window) -> dict[str, Any]:
    previous = window.previous
    return {
        "from": window.start,
        "to": window.end,
        "tz": window.tz,
        "bucket": window.bucket.value,
        "previous_from": previous.start,
        "previous_to": previous.end,
    }


def _metric(value: float | None, previous: float | None) -> dict[str, Any]:
    return {"value": value, "previous": previous, "change_pct": change_pct(value, previous)}


def _per_dialog(counts: Counts) -> float | None:
    if not counts["dialogs"]:
        return None
    return round((counts["user_messages"] + counts["assistant_messages"]) / counts["dialogs"], 2)


def overview(window: Window) -> dict[str, Any]:
    spans = [(window.start, window.end), (window.previous.start, window.previous.end)]
    with read_session() as session:
        figures = Figures(session)
        now, before = figures.totals(spans)
        active = figures.active_users(spans)
        new = figures.new_users(spans)
    return {
        "window": window_info(window),
        "dialogs": _metric(now["dialogs"], before["dialogs"]),
        "user_messages": _metric(now["user_messages"], before["user_messages"]),
        "assistant_messages": _metric(now["assistant_messages"], before["assistant_messages"]),
        "active_users": _metric(active[0], active[1]),
        "new_users": _metric(new[0], new[1]),
        "messages_per_dialog": _metric(_per_dialog(now), _per_dialog(before)),
    }


def _error_rate(counts: Counts) -> float | None:
    if not counts["answers"]:
        return None
    return round((counts["failed"] + counts["interrupted"]) / counts["answers"], 4)


def performance(window: Window) -> dict[str, Any]:
    spans = [(window.start, window.end), (window.previous.start, window.previous.end)]
    with read_session() as session:
        figures = Figures(session)
        now, before = figures.totals(spans)
        ranked = figures.percentiles(spans, PERCENT_RANKS)
    latency, ttft = ranked[rollups.LATENCY], ranked[rollups.TTFT]

    def tokens(counts: Counts) -> int:
        return counts["prompt_tokens"] + counts["completion_tokens"]

    figures_out: dict[str, Any] = {
        "latency_p50_ms": _metric(latency[0][0], latency[1][0]),
        "latency_p95_ms": _metric(latency[0][1], latency[1][1]),
        "ttft_p50_ms": _metric(ttft[0][0], ttft[1][0]),
        "ttft_p95_ms": _metric(ttft[0][1], ttft[1][1]),
        "tokens": _metric(tokens(now), tokens(before)),
        "error_rate": _metric(_error_rate(now), _error_rate(before)),
    }
    for name in ("prompt_tokens", "completion_tokens", "answers", "failed", "interrupted"):
        figures_out[name] = _metric(now[name], before[name])
    figures_out["cancelled"] = _metric(now["cancelled"], before["cancelled"])
    return {"window": window_info(window), **figures_out}


def activity(window: Window) -> dict[str, Any]:
    bounds = window.bucket_starts()
    spans = list(pairwise(bounds))
    with read_session() as session:
        figures = Figures(session)
        counts = figures.series(bounds)
        active = figures.active_users(spans)
    return {
        "window": window_info(window),
        "series": [
            {
                "start": start.astimezone(window.zone),
                "user_messages": questions,
                "assistant_messages": answers,
                "active_users": users,
            }
            for start, (questions, answers), users in zip(bounds, counts, active, strict=False)
        ],
    }


def top_users(window: Window, limit: int) -> dict[str, Any]:
    with read_session() as session:
        users = Figures(session).top_users((window.start, window.end), limit)
    return {"window": window_info(window), "users": users}


def breakdown(window: Window) -> dict[str, Any]:
    with read_session() as session:
        (groups,) = Figures(session).counts([(window.start, window.end)], by=("channel", "role"))

    def rows(position: int, name: str, everyone: list[str]) -> list[dict[str, Any]]:
        folded = fold(groups, position)
        # Channels always show; a role only when something happened in it.
        seen = {key for key, counters in folded.items() if any(counters.values())}
        keys = everyone + sorted(seen - set(everyone))
        return [
            {
                name: key,
                "dialogs": folded.get(key, {}).get("dialogs", 0),
                "messages": folded.get(key, {}).get("user_messages", 0)
                + folded.get(key, {}).get("assistant_messages", 0),
            }
            for key in keys
        ]

    return {
        "window": window_info(window),
        "channels": rows(0, "channel", [channel.value for channel in Channel]),
        "roles": rows(1, "role", []),
    }
