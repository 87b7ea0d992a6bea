"""Insights' execution accuracy on the golden set, against a real LLM endpoint: `nox -s
insights_eval` (or `python -m tests.insights.eval`).

The endpoint is the one webapi would use, from the same environment variables: LLM_BASE_URL
(OpenRouter's by default), LLM_API_KEY, LLM_MODEL, LLM_TIMEOUT_S. seed-demo's fixed data
(support.DEMO) goes into a temporary SQLite database, or into the empty database that
--database-url names (a scratch PostgreSQL database, say). Each golden question is asked once,
with no history, through InsightsAnswerer: the schema prompt, the guard, the read-only run and
the one retry on a database error are all as in the console. The rows are then compared with
the expected ones (golden.mismatch); the summary is not scored, so it is not asked for.

Prints a line per question (why it failed, and the SQL, when it did) and the execution
accuracy; exits 0 whatever the accuracy, 2 when it cannot run (no API key, a bad setting). The
API key is never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.insights.golden import GOLDEN, GoldenItem, Rows, load_demo, mismatch
from tests.insights.support import DEMO
from tests.support import dispose_app, make_app, make_settings
from webapi.domain.llm import LLMClient, LLMError
from webapi.domain.outcomes import AnswerErrorCode
from webapi.insights.answer import InsightsAnswerer, InsightsError, RowsReady, SqlReady
from webapi.insights.runner import create_insights_engine
from webapi.settings import DEFAULT_MODEL, OPENROUTER_URL
from webapi.stats.demo import seed_demo_command

QUERY_TIMEOUT_S = 5.0  # INSIGHTS_TIMEOUT_S's default
SQL_SHOWN_CHARS = 400

# What each failed answer counts as.
REASONS = {
    AnswerErrorCode.INSIGHTS_UNSAFE_QUERY: "unsafe",
    AnswerErrorCode.INSIGHTS_QUERY_FAILED: "query error",
    AnswerErrorCode.INSIGHTS_QUERY_TIMEOUT: "timeout",
    AnswerErrorCode.INSIGHTS_UNANSWERABLE: "unanswerable",
    AnswerErrorCode.LLM_BAD_RESPONSE: "reply out of shape",
}


class CannotRunError(Exception):
    """The evaluation cannot start; the message says why, in one line."""


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str = field(repr=False)
    model: str
    timeout_s: float

    @property
    def host(self) -> str:
        """Where the endpoint is, without any credentials a URL might carry."""
        return urlsplit(self.base_url).hostname or "?"


def endpoint_from(environ: Mapping[str, str]) -> Endpoint:
    """The LLM endpoint the environment configures, read as webapi reads it (an empty value
    is an unset one)."""
    api_key = environ.get("LLM_API_KEY", "").strip()
    if not api_key:
        raise CannotRunError(
            "LLM_API_KEY is not set: export it (and LLM_BASE_URL, LLM_MODEL for an endpoint"
            " other than OpenRouter) to measure execution accuracy against a real model"
        )
    base_url = (environ.get("LLM_BASE_URL") or OPENROUTER_URL).rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise CannotRunError("LLM_BASE_URL must be an http(s) URL")
    try:
        timeout_s = float(environ.get("LLM_TIMEOUT_S") or 60)
    except ValueError:
        raise CannotRunError("LLM_TIMEOUT_S must be a number") from None
    if not 0 < timeout_s <= 600:
        raise CannotRunError("LLM_TIMEOUT_S must be greater than 0 and at most 600")
    return Endpoint(base_url, api_key, environ.get("LLM_MODEL") or DEFAULT_MODEL, timeout_s)


@dataclass(frozen=True)
class Outcome:
    item: GoldenItem
    failure: str | None  # None: the expected result
    sql: str | None  # what ran, or was refused

    @property
    def passed(self) -> bool:
        return self.failure is None


def ask(answerer: InsightsAnswerer, item: GoldenItem, expected: Rows) -> Outcome:
    """One golden question, answered as the console answers it, up to its rows."""
    sql = None
    events = answerer.answer(item.question, [])
    try:
        for event in events:
            if isinstance(event, SqlReady):
                sql = event.sql
            elif isinstance(event, RowsReady):
                wrong = mismatch(expected, event.result, item)
                return Outcome(item, None if wrong is None else f"wrong result: {wrong}", sql)
    except InsightsError as exc:
        return Outcome(item, f"{REASONS.get(exc.code, exc.code.value)}: {exc.message}", exc.sql)
    except LLMError as exc:
        return Outcome(item, f"LLM error ({exc.code.value}): {exc.message}", sql)
    finally:
        events.close()  # before the summary: it is not scored
    return Outcome(item, "the answer ended without rows", sql)


@contextmanager
def seeded(database_url: str | None, llm_base_url: str) -> Iterator[str]:
    """The URL of a database holding seed-demo's golden data: `database_url` (migrated and
    filled here; it must hold no dialogs), else a temporary SQLite file."""
    with tempfile.TemporaryDirectory(prefix="insights-eval-") as scratch:
        url = database_url or f"sqlite:///{Path(scratch) / 'aidd.db'}"
        # The app only migrates and seeds: its LLM client is never called.
        app = make_app(make_settings(url, llm_base_url))
        try:
            done = app.test_cli_runner().invoke(seed_demo_command, DEMO)
        finally:
            dispose_app(app)
        if done.exit_code != 0:
            raise CannotRunError(f"seed-demo failed: {done.output.strip()}")
        yield url


def evaluate(
    endpoint: Endpoint,
    items: Sequence[GoldenItem],
    database_url: str | None = None,
    query_timeout_s: float = QUERY_TIMEOUT_S,
) -> list[Outcome]:
    """Ask every item, printing each outcome as it comes."""
    with seeded(database_url, endpoint.base_url) as url:
        engine = create_insights_engine(url, query_timeout_s)
        llm = LLMClient(endpoint.base_url, endpoint.api_key, endpoint.model, endpoint.timeout_s)
        try:
            answerer = InsightsAnswerer(llm, engine)
            demo = load_demo(engine)
            print(
                f"Insights golden set: {len(items)} questions to {endpoint.model} at"
                f" {endpoint.host}, on {answerer.dialect}",
                flush=True,
            )
            outcomes = []
            for number, item in enumerate(items, 1):
                outcome = ask(answerer, item, item.expected(demo))
                print(_line(number, outcome), flush=True)
                outcomes.append(outcome)
            return outcomes
        finally:
            llm.close()
            engine.dispose()


def _line(number: int, outcome: Outcome) -> str:
    head = f"{number:2d}. {'pass' if outcome.passed else 'FAIL'}  {outcome.item.key}"
    if outcome.passed:
        return head
    sql = " ".join((outcome.sql or "(none)").split())
    if len(sql) > SQL_SHOWN_CHARS:
        sql = sql[:SQL_SHOWN_CHARS] + "..."
    return f"{head}: {outcome.failure}\n      sql: {sql}"


def accuracy(outcomes: Sequence[Outcome]) -> str:
    passed = sum(outcome.passed for outcome in outcomes)
    share = 100 * passed / len(outcomes) if outcomes else 0.0
    return f"{passed}/{len(outcomes)} ({share:.1f}%)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.insights.eval",
        description="Execution accuracy of Insights on the golden questions, against the LLM"
        " endpoint of LLM_BASE_URL, LLM_API_KEY and LLM_MODEL.",
    )
    parser.add_argument(
        "--database-url",
        help="an empty database to seed and query (e.g. a scratch PostgreSQL database);"
        " default: a temporary SQLite file",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[item.key for item in GOLDEN],
        metavar="KEY",
        help="ask only this question (repeatable); the keys are golden.GOLDEN's",
    )
    parser.add_argument(
        "--query-timeout",
        type=float,
        default=QUERY_TIMEOUT_S,
        help=f"seconds a query may run (default {QUERY_TIMEOUT_S:g}, as INSIGHTS_TIMEOUT_S)",
    )
    args = parser.parse_args(argv)
    items = [item for item in GOLDEN if not args.only or item.key in args.only]
    try:
        endpoint = endpoint_from(os.environ)
        outcomes = evaluate(endpoint, items, args.database_url, args.query_timeout)
    except CannotRunError as exc:
        print(f"insights_eval: {exc}", file=sys.stderr)
        return 2
    print(f"execution accuracy: {accuracy(outcomes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
