"""Server-Sent Events for streamed answers: the event payloads, their framing and their schema."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, stream_with_context
from pydantic import BaseModel, Field

from webapi.conversation import Completed, Event, Failed
from webapi.llm import Delta

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

    code: str = Field(description="Stable code, e.g. `llm_timeout` or `llm_rate_limited`.")
    message: str
    dialog_id: int
    user_message_id: int


EVENTS: dict[str, type[BaseModel]] = {"delta": DeltaEvent, "done": DoneEvent, "error": ErrorEvent}


def format_event(event: str, payload: BaseModel) -> str:
    return f"event: {event}\ndata: {payload.model_dump_json()}\n\n"


def event_stream(frames: Iterable[str]) -> Response:
    """A streaming response that keeps the request context alive while it is sent."""
    return Response(stream_with_context(iter(frames)), mimetype=SSE_MEDIA_TYPE, headers=SSE_HEADERS)


def exchange_frames(events: Iterable[Event]) -> Iterator[str]:
    """`delta` events while the answer streams, then exactly one `done` or `error` event."""
    for event in events:
        if isinstance(event, Delta):
            yield format_event("delta", DeltaEvent(text=event.text))
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
            yield format_event("done", done)
        elif isinstance(event, Failed):
            error = ErrorEvent(
                code=event.code,
                message=event.message,
                dialog_id=event.dialog_id,
                user_message_id=event.user_message_id,
            )
            yield format_event("error", error)


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """Replace local `$defs` references, so the schema stands alone inside the document."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(definitions[ref.removeprefix("#/$defs/")], definitions)
        return {key: _inline(value, definitions) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    return schema


def answer_event_schema() -> dict[str, Any]:
    """The JSON Schema of one event of an answer stream: its name and its JSON payload."""
    variants = []
    for name, model in EVENTS.items():
        payload = model.model_json_schema()
        variants.append(
            {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"const": name},
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": _inline(payload, payload.get("$defs", {})),
                    },
                },
            }
        )
    return {"oneOf": variants}


def sse_response_doc(description: str) -> dict[str, Any]:
    """An OpenAPI response for an answer stream (its event schema: see openapi_document)."""
    return {"description": description, "content": {SSE_MEDIA_TYPE: {"schema": {}}}}
