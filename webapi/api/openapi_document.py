"""GET /api/v1/openapi.json: flask-openapi3's document, finished where the library falls short."""

from __future__ import annotations

from typing import Any, TypeVar

from flask_openapi3.openapi import OpenAPI

from webapi.api.sse import event_component_schemas, stream_component_schemas

ModelT = TypeVar("ModelT", bound=type)

# Request models that also accept a request without a body (see finish_document).
_OPTIONAL_BODIES: set[str] = set()


def optional_body(model: ModelT) -> ModelT:
    """Class decorator: the model's operations do not require a request body."""
    _OPTIONAL_BODIES.add(model.__name__)
    return model


def register_document_route(app: OpenAPI) -> None:
    @app.get(
        "/api/v1/openapi.json",
        tags=[],
        responses={200: {"description": "This OpenAPI document."}},
        operation_id="openapi_document",
    )
    def openapi_document() -> dict[str, Any]:
        """The OpenAPI document of every route."""
        return finish_document(app.api_doc)


def finish_document(document: dict[str, Any]) -> dict[str, Any]:
    """Fix what flask-openapi3 cannot express (idempotent: the document is cached).

    - It adds a 422 to every operation, shaped as a list; operations that validate input
      document their real 422 (ErrorResponse) themselves, so the added ones go.
    - Streamed answers are Server-Sent Events whose `data` is JSON: each event's payload is a
      named component (DeltaEvent, DoneEvent, ErrorEvent, the Insights events and the
      AnswerErrorCode enumeration); each kind of stream is a named union of the events it
      carries (AnswerStreamEvent, ConsoleStreamEvent), so that generated clients get types.
    - It requires every request body; those of models marked `optional_body` are not.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(event_component_schemas())
    schemas.update(stream_component_schemas())
    for path_item in document["paths"].values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            added_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
            if added_422.get("schema", {}).get("type") == "array":
                del responses["422"]
            body = operation.get("requestBody", {})
            ref = body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
            if ref is not None and ref.rsplit("/", 1)[-1] in _OPTIONAL_BODIES:
                body["required"] = False
    return document
