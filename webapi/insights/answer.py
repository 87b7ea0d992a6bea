"""One Insights answer: the model plans a query, the guard checks it, the read-only connection
runs it, the model summarises the rows; streamed as events, each step as soon as it is done.

1. The model gets the schema (schema.py, for the active dialect), the answer shape (reply.py),
   the dialog's recent turns and the question, and answers with SQL and a chart suggestion,
   or with why the data cannot answer.
2. The guard checks the SQL (an unsafe query ends the answer: the model gets no second try at
   what the guard refused); it runs within the time limit. If the database refuses it, the
   model gets one retry with the database's words; a second refusal ends the answer.
3. The model writes a short summary from at most SUMMARY_ROWS rows and SUMMARY_CHARS
   characters of them (long values cut): no bulk of users' messages goes to the LLM.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from openai.types.chat import ChatCompletionMessageParam
from sqlalchemy.engine import Engine

from webapi.database import apart_from_streams
from webapi.domain.llm import Delta, Finished, LLMClient
from webapi.domain.outcomes import AnswerErrorCode
from webapi.insights import schema
from webapi.insights.guard import UnsafeQueryError, guard_sql
from webapi.insights.reply import SHAPE, Chart, Plan, ReplyShapeError, parse_plan
from webapi.insights.runner import QueryFailedError, QueryResult, QueryTimedOutError, run_query

SUMMARY_ROWS = 50
SUMMARY_CHARS = 8_000
SUMMARY_CELL_CHARS = 200
HISTORY_TURNS = 6  # the dialog's latest questions and answers the model sees

_PLANNER = """\
You answer questions about a Telegram assistant bot's own usage data by writing one SQL query
for {dialect_name}. Only SELECT; only the tables and columns below; no sample rows are given.
Follow-up questions refer to the earlier turns of this conversation.

{schema}

{shape}"""

_SUMMARISER = """\
You summarise the result of a SQL query for the person who asked the question, in two to four
plain sentences, in the language of the question. Say what the numbers show; do not invent
figures that are not in the rows; mention when the rows are cut short."""


@dataclass(frozen=True)
class SqlReady:
    """The query that runs (the guard's output)."""

    sql: str


@dataclass(frozen=True)
class RowsReady:
    result: QueryResult


@dataclass(frozen=True)
class ChartReady:
    chart: Chart


@dataclass(frozen=True)
class Answered:
    """The answer is whole: the summary's text and the figures of every LLM call."""

    sql: str
    result: QueryResult
    chart: Chart
    summary: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_ms: int | None  # to the first thing shown: the SQL
    latency_ms: int


class InsightsError(Exception):
    """The answer failed: a code of the published enumeration, a message for the user, and
    the last query tried (if any), to show and store."""

    def __init__(self, code: AnswerErrorCode, message: str, sql: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sql = sql


InsightsEvent = SqlReady | RowsReady | ChartReady | Delta | Answered


@dataclass
class _Tally:
    """Tokens over all of an answer's LLM calls."""

    model: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def add(self, finished: Finished) -> None:
        self.model = finished.model
        for name in ("prompt_tokens", "completion_tokens"):
            value = getattr(finished, name)
            if value is not None:
                setattr(self, name, (getattr(self, name) or 0) + value)


class InsightsAnswerer:
    def __init__(self, llm: LLMClient, engine: Engine) -> None:
        self.llm = llm
        self.engine = engine
        self.dialect = "postgres" if engine.dialect.name == "postgresql" else "sqlite"

    def answer(self, question: str, history: Sequence[tuple[str, str]]) -> Generator[InsightsEvent]:
        """Events for one question; `history`: the dialog's earlier (role, text) turns.
        Raises InsightsError (or the LLM's LLMError) when the answer fails."""
        started = time.monotonic()
        tally = _Tally()
        messages = self._planning(question, history)
        plan_text, plan = self._plan(messages, tally)
        sql, result, plan = self._query(plan, messages, plan_text, tally)
        ttft_ms = round((time.monotonic() - started) * 1000)
        yield SqlReady(sql)
        yield RowsReady(result)
        chart = plan.chart.fitted(result.columns)
        yield ChartReady(chart)
        summary = []
        for event in self.llm.stream_chat(self._summarising(question, sql, result)):
            if isinstance(event, Delta):
                summary.append(event.text)
                yield event
            else:
                tally.add(event)
        yield Answered(
            sql=sql,
            result=result,
            chart=chart,
            summary="".join(summary),
            model=tally.model or self.llm.model,
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            ttft_ms=ttft_ms,
            latency_ms=round((time.monotonic() - started) * 1000),
        )

    def _planning(
        self, question: str, history: Sequence[tuple[str, str]]
    ) -> list[ChatCompletionMessageParam]:
        system = _PLANNER.format(
            dialect_name="SQLite" if self.dialect == "sqlite" else "PostgreSQL",
            schema=schema.describe(self.dialect),
            shape=SHAPE,
        )
        messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": system}]
        for role, text in history[-HISTORY_TURNS:]:
            if role == "user":
                messages.append({"role": "user", "content": text})
            else:
                messages.append({"role": "assistant", "content": text})
        messages.append({"role": "user", "content": question})
        return messages

    def _plan(self, messages: list[ChatCompletionMessageParam], tally: _Tally) -> tuple[str, Plan]:
        text = self._complete(messages, tally)
        try:
            plan = parse_plan(text)
        except ReplyShapeError as exc:
            raise InsightsError(AnswerErrorCode.LLM_BAD_RESPONSE, str(exc)) from None
        if plan.unanswerable:
            raise InsightsError(
                AnswerErrorCode.INSIGHTS_UNANSWERABLE,
                f"I can't answer that from this data: {plan.unanswerable}",
            )
        return text, plan

    def _query(
        self,
        plan: Plan,
        messages: list[ChatCompletionMessageParam],
        plan_text: str,
        tally: _Tally,
    ) -> tuple[str, QueryResult, Plan]:
        """The guarded query, its rows and the plan they came from, with one retry when the
        database refuses the query."""
        for attempt in (1, 2):
            sql = self._guarded(plan)
            try:
                # A SQLite query steps in C: under gevent, in a thread apart (see long_read).
                return sql, apart_from_streams(self.engine, run_query, self.engine, sql), plan
            except QueryTimedOutError:
                raise InsightsError(
                    AnswerErrorCode.INSIGHTS_QUERY_TIMEOUT,
                    "The query took too long and was stopped; try a narrower question.",
                    sql,
                ) from None
            except QueryFailedError as exc:
                if attempt == 2:
                    raise InsightsError(
                        AnswerErrorCode.INSIGHTS_QUERY_FAILED,
                        f"The query failed twice; the database said: {exc}",
                        sql,
                    ) from None
                correction = f"The database refused that query: {exc}\nCorrect it; same JSON shape."
                retry: list[ChatCompletionMessageParam] = [
                    *messages,
                    {"role": "assistant", "content": plan_text},
                    {"role": "user", "content": correction},
                ]
                plan_text, plan = self._plan(retry, tally)
        raise AssertionError("unreachable")

    def _guarded(self, plan: Plan) -> str:
        try:
            return guard_sql(plan.sql or "", self.dialect)
        except UnsafeQueryError as exc:
            raise InsightsError(
                AnswerErrorCode.INSIGHTS_UNSAFE_QUERY,
                f"The query was refused and did not run: {exc}.",
                plan.sql,
            ) from None

    def _complete(self, messages: list[ChatCompletionMessageParam], tally: _Tally) -> str:
        parts = []
        for event in self.llm.stream_chat(messages):
            if isinstance(event, Delta):
                parts.append(event.text)
            else:
                tally.add(event)
        return "".join(parts)

    @staticmethod
    def _summarising(
        question: str, sql: str, result: QueryResult
    ) -> list[ChatCompletionMessageParam]:
        return [
            {"role": "system", "content": _SUMMARISER},
            {
                "role": "user",
                "content": f"Question: {question}\n\nQuery: {sql}\n\n{rows_excerpt(result)}",
            },
        ]


def rows_excerpt(result: QueryResult) -> str:
    """At most SUMMARY_ROWS rows and SUMMARY_CHARS characters of the result, as JSON lines,
    each value cut to SUMMARY_CELL_CHARS, and a word on what was left out."""
    lines = [json.dumps(result.columns, ensure_ascii=False)]
    size = len(lines[0])
    shown = 0
    for row in result.rows[:SUMMARY_ROWS]:
        values = [v[:SUMMARY_CELL_CHARS] if isinstance(v, str) else v for v in row]
        line = json.dumps(values, ensure_ascii=False, default=str)
        if size + len(line) > SUMMARY_CHARS:
            break
        lines.append(line)
        size += len(line) + 1
        shown += 1
    more = len(result.rows) - shown
    if more or result.truncated:
        also = "; the result itself was cut" if result.truncated else ""
        lines.append(f"({more} more rows not shown{also})")
    return "Rows (columns first):\n" + "\n".join(lines)
