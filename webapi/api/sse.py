"""Server-Sent Events for streamed answers: the event payloads, their framing and their schema."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from flask import Response, stream_with_context
from pydantic import BaseModel, Field

from webapi.api.coalesce import Heartbeat, coalesced
from webapi.domain.conversation import Completed, Event, Failed
from webapi.domain.llm import Delta
from webapi.domain.outcomes import AnswerErrorCode
from webapi.insights.answer import ChartReady, RowsReady, SqlReady

SSE_MEDIA_TYPE = "text/event-stream"
SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # Tell nginx-like proxies not to buffer the stream.
    "X-Accel-Buffering": "no",
}


class DeltaEvent(BaseModel):
    """`event: delta` — the next piece of the answer's text."""

    text: str


class Usage(BaseModel):
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


class Timings(BaseModel):
    ttft_ms: int | None = Field(description="Time to the first token.")
    latency_ms: int = Field(description="Time to the whole answer.")


class DoneEvent(BaseModel):
    """`event: done` — the answer is complete and stored."""

    dialog_id: int
    user_message_id: int
    assistant_message_id: int
    model: str
    usage: Usage
    timings: Timings


class ErrorEvent(BaseModel):
    """`event: error` — the answer failed; the question is stored, marked failed."""

    code: AnswerErrorCode = Field(description="Why the answer did not arrive.")
    message: str
    dialog_id: int
    user_message_id: int
    sql: str | None = Field(
        default=None, description="Insights: the last query tried, if one was written."
    )


class SqlEvent(BaseModel):
    """`event: sql` (Insights) — the query that runs, as the guard passed it (LIMIT applied)."""

    sql: str


class RowsEvent(BaseModel):
    """`event: rows` (Insights) — the query's result."""

    columns: list[str]
    rows: list[list[Any]] = Field(
        description="JSON values: numbers, text (long values cut), booleans, null."
    )
    truncated: bool = Field(description="The query returned more rows than were kept.")


class ChartEvent(BaseModel):
    """`event: chart` (Insights) — a declarative chart suggestion over the rows' columns."""

    kind: Literal["line", "bar", "none"]
    x: str | None = Field(description="The category or time column.")
    y: list[str] = Field(description="The columns of the numbers drawn.")


EVENTS: dict[str, type[BaseModel]] = {
    "delta": DeltaEvent,
    "sql": SqlEvent,
    "rows": RowsEvent,
    "chart": ChartEvent,
    "done": DoneEvent,
    "error": ErrorEvent,
}
# What the bot's streams carry; the console's Insights answers add sql, rows and chart.
ANSWER_EVENTS = ("delta", "done", "error")


def _frame(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


def _delta_frame(text: str) -> str:
    # The hot path (one per piece of text): plain json rather than a model per delta.
    return _frame("delta", json.dumps({"text": text}, ensure_ascii=False))


def answer_frames(events: Iterable[Event | Heartbeat]) -> Iterator[str]:
    """`delta` events while the answer streams (an Insights answer's `sql`, `rows` and `chart`
    before), then exactly one `done` or `error` event."""
    for event in events:
        if isinstance(event, Delta):
            yield _delta_frame(event.text)
        elif isinstance(event, Completed):
            finished = event.finished
            prompt, completion = finished.prompt_tokens, finished.completion_tokens
            total = prompt + completion if prompt is not None and completion is not None else None
            done = DoneEvent(
                dialog_id=event.dialog_id,
                user_message_id=event.user_message_id,
                assistant_message_id=event.assistant_message_id,
                model=finished.model,
                usage=Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total),
                timings=Timings(ttft_ms=finished.ttft_ms, latency_ms=finished.latency_ms),
            )
            yield _frame("done", done.model_dump_json())
        elif isinstance(event, Failed):
            error = ErrorEvent(
                code=event.code,
                message=event.message,
                dialog_id=event.dialog_id,
                user_message_id=event.user_message_id,
                sql=event.sql,
            )
            yield _frame("error", error.model_dump_json(exclude_none=event.sql is None))
        elif isinstance(event, SqlReady):
            yield _frame("sql", SqlEvent(sql=event.sql).model_dump_json())
        elif isinstance(event, RowsReady):
            found = event.result
            rows = RowsEvent(columns=found.columns, rows=found.rows, truncated=found.truncated)
            yield _frame("rows", rows.model_dump_json())
        elif isinstance(event, ChartReady):
            chart = ChartEvent(kind=event.chart.kind, x=event.chart.x, y=event.chart.y)
            yield _frame("chart", chart.model_dump_json())
        elif isinstance(event, Heartbeat):
            yield ": still working\n\n"  # an SSE comment: clients skip it


def answer_stream(events: Iterable[Event]) -> Response:
    """A streaming response that keeps the request context alive while it is sent."""
    frames = stream_with_context(answer_frames(coalesced(iter(events))))
    return Response(frames, mimetype=SSE_MEDIA_TYPE, headers=SSE_HEADERS)


def event_component_schemas() -> dict[str, Any]:
    """Each event's payload (and what it refers to) as OpenAPI component schemas."""
    components: dict[str, Any] = {}
    for model in EVENTS.values():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    return components


def answer_event_schema(names: Sequence[str] = ANSWER_EVENTS) -> dict[str, Any]:
    """The JSON Schema of one event of an answer stream (the events `names`): its name and
    its JSON payload."""
    variants = [
        {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"const": name},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": f"#/components/schemas/{model.__name__}"},
                },
            },
        }
        for name, model in EVENTS.items()
        if name in names
    ]
    return {"oneOf": variants}


# Each kind of answer stream: a named component (see openapi_document) of the events it carries.
STREAMS: dict[str, tuple[str, ...]] = {
    "AnswerStreamEvent": ANSWER_EVENTS,
    "ConsoleStreamEvent": tuple(EVENTS),
}


def stream_component_schemas() -> dict[str, Any]:
    return {name: answer_event_schema(events) for name, events in STREAMS.items()}


def sse_response_doc(description: str, stream: str = "AnswerStreamEvent") -> dict[str, Any]:
    """An OpenAPI response for an answer stream whose events are the component `stream`."""
    schema = {"$ref": f"#/components/schemas/{stream}"}
    return {"description": description, "content": {SSE_MEDIA_TYPE: {"schema": schema}}}
