"""JSON bodies are parsed once, before any route, and refused when nested too deep.

Python's JSON parser recurses once per level: a body of a few kilobytes nested ~1,000 deep
raises RecursionError (a 500) in whatever parses it first, and a shallower one could still
recurse deeply in whatever walks it later. So the body is parsed here, where that is expected,
and what parsed is bounded in depth; Flask keeps the parsed body, so routes do not parse it again.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, request

from webapi.errors import ErrorCode, error_response

# Far deeper than any body this API takes (its deepest is an object of strings).
MAX_JSON_DEPTH = 64


def nested_deeper_than(value: object, limit: int) -> bool:
    """Whether lists and objects in `value` nest more than `limit` levels (no recursion)."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children: Iterable[object]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _too_deep() -> Response:
    message = f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels."
    details = [{"loc": [], "msg": message, "type": "json_too_deep"}]
    return error_response(422, ErrorCode.VALIDATION_ERROR, message, details)


def _check_json_body() -> Response | None:
    if request.url_rule is None or not request.is_json or not request.get_data(cache=True):
        return None  # unknown URLs answer 404; other bodies are the route model's business
    try:
        # silent: malformed JSON is left to the route's model (422 validation_error there).
        body = request.get_json(silent=True)
    except RecursionError:
        return _too_deep()
    if body is not None and nested_deeper_than(body, MAX_JSON_DEPTH):
        return _too_deep()
    return None


def init_app(app: Flask) -> None:
    app.before_request(_check_json_body)
