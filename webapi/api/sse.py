"""Server-Sent Events for streamed answers: the event payloads, their framing and their schema."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, stream_with_context
from pydantic import BaseModel, Field

from webapi.api.coalesce import coalesced
from webapi.domain.conversation import Completed, Event, Failed
from webapi.domain.llm import Delta
from webapi.domain.outcomes import AnswerErrorCode

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


EVENTS: dict[str, type[BaseModel]] = {"delta": DeltaEvent, "done": DoneEvent, "error": ErrorEvent}


def _frame(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


def _delta_frame(text: str) -> str:
    # The hot path (one per piece of text): plain json rather than a model per delta.
    return _frame("delta", json.dumps({"text": text}, ensure_ascii=False))


def answer_frames(events: Iterable[Event]) -> Iterator[str]:
    """`delta` events while the answer streams, then exactly one `done` or `error` event."""
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
            )
            yield _frame("error", error.model_dump_json())


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


def answer_event_schema() -> dict[str, Any]:
    """The JSON Schema of one event of an answer stream: its name and its JSON payload."""
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
    ]
    return {"oneOf": variants}


def sse_response_doc(description: str) -> dict[str, Any]:
    """An OpenAPI response for an answer stream (its event schema: see openapi_document)."""
    return {"description": description, "content": {SSE_MEDIA_TYPE: {"schema": {}}}}
