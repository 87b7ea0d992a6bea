"""The OpenAPI document covers every route, and the API honours it (schemathesis)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

import webapi.api
from tests.doubles.fake_llm import FakeLLM, Reply
from tests.support import BOT_TOKEN
from webapi.domain.accounts import create_account
from webapi.domain.outcomes import AnswerErrorCode
from webapi.errors import ErrorCode

ADMIN = ("schema-admin", "schema-password-1")


def test_every_route_is_documented(sqlite_app: Flask) -> None:
    document = sqlite_app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    routed = {
        (rule.rule.replace("<int:", "{").replace(">", "}"), method)
        for rule in sqlite_app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    assert routed == documented
    assert document["openapi"].startswith("3.1")


def test_api_honours_its_openapi_document(sqlite_app: Flask, fake_llm: FakeLLM) -> None:
    """No 5xx, no undocumented status, no body outside its schema, for generated requests."""
    fake_llm.script(*[Reply("A short answer.")] * 1000)
    with sqlite_app.app_context():
        create_account(*ADMIN, is_admin=True)
    signed_in = sqlite_app.test_client().post(
        "/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
    )
    credentials = {
        "Authorization": f"Bearer {BOT_TOKEN}",
        "Cookie": signed_in.headers["Set-Cookie"].split(";", 1)[0],
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", sqlite_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def honours_document(case: Any) -> None:
            case.call_and_validate(headers=credentials)

        honours_document()


def test_codes_and_stream_events_are_published_as_named_schemas(sqlite_app: Flask) -> None:
    """Generated clients (the console's types, the bot) get enumerations and typed events."""
    document = sqlite_app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    assert schemas["AnswerErrorCode"]["enum"] == [code.value for code in AnswerErrorCode]
    assert {"cancelled", "interrupted", "answer_in_progress"} <= set(
        schemas["AnswerErrorCode"]["enum"]
    )
    assert schemas["ErrorCode"]["enum"] == [code.value for code in ErrorCode]
    code_ref = schemas["ErrorEvent"]["properties"]["code"]["$ref"]
    assert code_ref == "#/components/schemas/AnswerErrorCode"
    assert schemas["ErrorBody"]["properties"]["code"]["$ref"] == "#/components/schemas/ErrorCode"

    def payloads(path: str) -> dict[str, Any]:
        responses = document["paths"][path]["post"]["responses"]
        ref = responses["200"]["content"]["text/event-stream"]["schema"]["$ref"]
        stream = schemas[ref.rsplit("/", 1)[-1]]
        return {
            variant["properties"]["event"]["const"]: variant["properties"]["data"]["contentSchema"]
            for variant in stream["oneOf"]
        }

    answer_events = (("delta", "DeltaEvent"), ("done", "DoneEvent"), ("error", "ErrorEvent"))
    assert payloads("/api/v1/bot/users/{telegram_id}/messages") == {
        name: {"$ref": f"#/components/schemas/{model}"} for name, model in answer_events
    }
    insights_events = (("sql", "SqlEvent"), ("rows", "RowsEvent"), ("chart", "ChartEvent"))
    assert payloads("/api/v1/chat/dialogs/{dialog_id}/messages") == {
        name: {"$ref": f"#/components/schemas/{model}"}
        for name, model in (*answer_events, *insights_events)
    }
    assert {"DeltaEvent", "DoneEvent", "ErrorEvent", "Usage", "Timings"} <= set(schemas)


def test_no_two_api_models_share_a_name() -> None:
    """The document files each model under its class name: two of one name would silently
    overwrite each other there (and in the console's generated types)."""
    seen: dict[str, type[BaseModel]] = {}
    for found in pkgutil.walk_packages(webapi.api.__path__, "webapi.api."):
        module = importlib.import_module(found.name)
        for model in vars(module).values():
            if (
                inspect.isclass(model)
                and issubclass(model, BaseModel)
                and model.__module__ == module.__name__
            ):
                first = seen.setdefault(model.__name__, model)
                assert first is model, f"{first.__module__} and {module.__name__}: {model.__name__}"
    assert {"MessageIn", "ChatMessageIn", "AccountOut", "ManagedAccountOut"} <= set(seen)
