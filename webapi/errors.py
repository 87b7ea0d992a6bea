"""One JSON error shape for every failure; nothing internal ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import Flask, Response, jsonify
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `validation_error`.")
    message: str = Field(description="Human-readable explanation.")
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field problems, for validation errors."
    )


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorBody


class ApiError(Exception):
    """Raised by views to answer with an error in the common shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify(error=body)
    response.status_code = status
    return response


def validation_error_response(exc: ValidationError) -> Response:
    """flask-openapi3 calls this when a request fails its pydantic model."""
    details = [
        {"loc": [str(part) for part in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    return error_response(422, "validation_error", "The request is not valid.", details)


def _code_for(exc: HTTPException) -> str:
    name = (exc.name or "error").lower()
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException) -> Response:
        # abort(response) from validation already carries its body.
        if exc.response is not None and exc.response.mimetype == "application/json":
            return cast(Response, exc.response)
        response = error_response(exc.code or 500, _code_for(exc), exc.description or "")
        for header in ("Retry-After", "Allow"):
            if exc.response is not None and header in exc.response.headers:
                response.headers[header] = exc.response.headers[header]
        if exc.code == 405 and "Allow" not in response.headers:
            valid = getattr(exc, "valid_methods", None)
            if valid:
                response.headers["Allow"] = ", ".join(valid)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
