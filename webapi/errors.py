"""One JSON error shape for every failure, with codes from one published enumeration.

Nothing internal (exception text, SQL, stack traces) ever reaches a client.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any, cast

from flask import Flask, Response, jsonify
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import HTTPException

from webapi.database import DatabaseBusyError, QueryTimeoutError

log = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    """Stable codes of HTTP error bodies; clients branch on them (OpenAPI: `ErrorCode`)."""

    BAD_REQUEST = "bad_request"
    VALIDATION_ERROR = "validation_error"
    UNAUTHORIZED = "unauthorized"
    INVALID_CREDENTIALS = "invalid_credentials"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    USER_NOT_FOUND = "user_not_found"
    ROLE_NOT_FOUND = "role_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    ANSWER_IN_PROGRESS = "answer_in_progress"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    URI_TOO_LONG = "uri_too_long"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    HEADERS_TOO_LARGE = "headers_too_large"
    TOO_MANY_REQUESTS = "too_many_requests"
    INTERNAL_ERROR = "internal_error"
    DATABASE_BUSY = "database_busy"
    QUERY_TIMEOUT = "query_timeout"
    SHUTTING_DOWN = "shutting_down"


# The codes of errors raised by the HTTP layer itself (werkzeug), by status.
_STATUS_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    414: ErrorCode.URI_TOO_LONG,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.TOO_MANY_REQUESTS,
    431: ErrorCode.HEADERS_TOO_LARGE,
}


class ErrorBody(BaseModel):
    code: ErrorCode = Field(description="Stable machine-readable code.")
    message: str = Field(description="Human-readable explanation.")
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field problems, for validation errors."
    )


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorBody


class ApiError(Exception):
    """Raised by views and domain modules to answer with an error in the common shape."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, code: ErrorCode, message: str, details: list[dict[str, Any]] | None = None
) -> Response:
    body: dict[str, Any] = {"code": code.value, "message": message}
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
    return error_response(422, ErrorCode.VALIDATION_ERROR, "The request is not valid.", details)


def code_for_status(status: int) -> ErrorCode:
    if status in _STATUS_CODES:
        return _STATUS_CODES[status]
    return ErrorCode.BAD_REQUEST if status < 500 else ErrorCode.INTERNAL_ERROR


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException) -> Response:
        # abort(response) from validation already carries its body.
        if exc.response is not None and exc.response.mimetype == "application/json":
            return cast(Response, exc.response)
        status = exc.code or 500
        response = error_response(status, code_for_status(status), exc.description or "")
        for header in ("Retry-After", "Allow"):
            if exc.response is not None and header in exc.response.headers:
                response.headers[header] = exc.response.headers[header]
        if status == 405 and "Allow" not in response.headers:
            valid = getattr(exc, "valid_methods", None)
            if valid:
                response.headers["Allow"] = ", ".join(valid)
        return response

    @app.errorhandler(DatabaseBusyError)
    def handle_database_busy(exc: DatabaseBusyError) -> Response:
        log.warning("database busy: %s", exc)
        response = error_response(
            503, ErrorCode.DATABASE_BUSY, "The database is busy; try again in a moment."
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(QueryTimeoutError)
    def handle_query_timeout(exc: QueryTimeoutError) -> Response:
        log.warning("read cut at its time limit")
        return error_response(503, ErrorCode.QUERY_TIMEOUT, "The query took too long.")

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, ErrorCode.INTERNAL_ERROR, "Something went wrong on our side.")
