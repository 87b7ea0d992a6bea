"""Deny by default: every route needs a console session or the bot token unless it is public."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.doubles.fake_llm import FakeLLM
from tests.support import BOT_TOKEN
from webapi.api.security import BOT_BLUEPRINT, PUBLIC_ENDPOINTS
from webapi.domain.accounts import create_account
from webapi.extensions import db

TELEGRAM_ID = 1
USERNAME = "ada"
PASSWORD = "correct horse battery staple"
BOT_HEADERS = {"Authorization": f"Bearer {BOT_TOKEN}"}
PUBLIC_PATHS = {
    "/api/v1/health",
    "/api/v1/health/ready",
    "/api/v1/openapi.json",
    "/api/v1/auth/login",
}

# Valid bodies, so that a refusal is about credentials and never about validation.
BODIES: dict[str, dict[str, Any]] = {
    "bot.upsert_user": {"username": "mallory", "first_name": "Mallory", "language_code": "en"},
    "bot.send_message": {"text": "Hello there!"},
    "bot.set_role": {"role": "editor"},
    # The current password must be right; the same again keeps the next sign-in working.
    "auth.change_password": {"current_password": PASSWORD, "new_password": PASSWORD},
}


@dataclass(frozen=True)
class Call:
    endpoint: str
    method: str
    url: str
    body: Any

    @property
    def for_bot(self) -> bool:
        return self.endpoint.partition(".")[0] == BOT_BLUEPRINT

    def send(self, client: FlaskClient, headers: dict[str, str] | None = None) -> Any:
        # Writes go as JSON, as console writes must: `{}` where the route takes no body.
        body = {} if self.body is None and self.method != "GET" else self.body
        response = client.open(self.url, method=self.method, json=body, headers=headers)
        response.get_data()  # drain a streamed answer
        response.close()
        return response

    def __str__(self) -> str:
        return f"{self.method} {self.url} ({self.endpoint})"


def _example(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A minimal value that satisfies a JSON schema from the OpenAPI document."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            options = [option for option in schema[combinator] if option.get("type") != "null"]
            return _example(doc, options[0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        required = set(schema.get("required", []))
        properties = schema.get("properties", {}).items()
        return {name: _example(doc, sub) for name, sub in properties if name in required}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return "x" * max(1, schema.get("minLength", 1))


def _body(app: Flask, rule: Any, method: str) -> Any:
    if rule.endpoint in BODIES:
        return BODIES[rule.endpoint]
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
    operation = app.api_doc["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return None if schema is None else _example(app.api_doc, schema)


def guarded_calls(app: Flask) -> list[Call]:
    """One plausible, valid request for every method of every route that is not public."""
    adapter = app.url_map.bind("localhost")
    calls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            url = adapter.build(
                rule.endpoint, dict.fromkeys(rule.arguments, TELEGRAM_ID), method=method
            )
            calls.append(Call(rule.endpoint, method, url, _body(app, rule, method)))
    return calls


def row_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables
        }


def sign_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": USERNAME, "password": PASSWORD})
    assert response.status_code == 200
    return client


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


@pytest.fixture
def seeded(app: Flask, fake_llm: FakeLLM) -> dict[str, int]:
    """An account, a Telegram user with id 1 and one exchange: something to protect."""
    with app.app_context():
        create_account(USERNAME, PASSWORD, is_admin=True)
    client = app.test_client()
    assert (
        client.put(
            f"/api/v1/bot/users/{TELEGRAM_ID}", json={"username": "ada"}, headers=BOT_HEADERS
        ).status_code
        == 200
    )
    sent = client.post(
        f"/api/v1/bot/users/{TELEGRAM_ID}/messages", json={"text": "hi"}, headers=BOT_HEADERS
    )
    assert "event: done" in sent.get_data(as_text=True)
    fake_llm.reset()
    counts = row_counts(app)
    assert all(counts[name] > 0 for name in ("users", "accounts", "dialogs", "messages")), counts
    return counts


def test_every_guarded_route_refuses_anonymous_requests(
    app: Flask, client: FlaskClient, seeded: dict[str, int], fake_llm: FakeLLM
) -> None:
    calls = guarded_calls(app)
    assert {"auth.me", "auth.logout", "bot.upsert_user", "bot.send_message"} <= {
        call.endpoint for call in calls
    }

    for call in calls:
        response = call.send(client)
        assert response.status_code == 401, f"{call} answered {response.status_code}"
        assert_error(response, 401, "unauthorized")

    assert row_counts(app) == seeded, "a refused request writes nothing"
    assert fake_llm.requests == [], "a refused request never reaches the LLM"


def test_the_same_requests_pass_with_the_right_credentials(
    app: Flask, seeded: dict[str, int]
) -> None:
    """The control for the test above: those bodies are valid, only credentials were missing."""
    for call in guarded_calls(app):
        if call.for_bot:
            response = call.send(app.test_client(), headers=BOT_HEADERS)
        else:
            response = call.send(sign_in(app))
        assert response.status_code not in (401, 403, 405, 422), f"{call}: {response.get_data()!r}"
        assert response.status_code < 500, f"{call}: {response.get_data()!r}"


def test_the_bot_token_opens_no_console_route(app: Flask, seeded: dict[str, int]) -> None:
    client = app.test_client()
    assert_error(client.get("/api/v1/auth/me", headers=BOT_HEADERS), 401, "unauthorized")

    for call in guarded_calls(app):
        if not call.for_bot:
            response = call.send(client, headers=BOT_HEADERS)
            assert response.status_code == 401, f"{call} answered {response.status_code}"

    assert row_counts(app) == seeded


def test_a_console_session_opens_no_bot_route(app: Flask, seeded: dict[str, int]) -> None:
    client = sign_in(app)
    assert client.get("/api/v1/auth/me").status_code == 200
    signed_in = row_counts(app)  # signing in recorded the session

    for call in guarded_calls(app):
        if call.for_bot:
            response = call.send(client)
            assert response.status_code == 401, f"{call} answered {response.status_code}"
            assert_error(response, 401, "unauthorized")

    assert row_counts(app) == signed_in


WRONG_AUTHORIZATION = [
    "Bearer wrong-token-0123456789",
    f"Bearer {BOT_TOKEN}x",
    f"Bearer {BOT_TOKEN[:-1]}",
    "Bearer ",
    "Bearer",
    f"Basic {BOT_TOKEN}",
    f"Token {BOT_TOKEN}",
    BOT_TOKEN,
]


def test_a_wrong_bearer_token_is_refused(
    app: Flask, client: FlaskClient, seeded: dict[str, int]
) -> None:
    url = f"/api/v1/bot/users/{TELEGRAM_ID}"
    for authorization in WRONG_AUTHORIZATION:
        headers = {"Authorization": authorization}
        assert_error(
            client.put(url, json={"username": "mallory"}, headers=headers), 401, "unauthorized"
        )
        assert_error(client.get(url, headers=headers), 401, "unauthorized")

    assert row_counts(app) == seeded
    profile = client.get(url, headers={"Authorization": f"bearer {BOT_TOKEN}"})
    assert profile.status_code == 200, "the scheme name is case-insensitive"
    assert profile.get_json()["username"] == "ada"


def test_public_routes_answer_without_credentials(app: Flask, client: FlaskClient) -> None:
    rules = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    assert set(rules) >= PUBLIC_ENDPOINTS, "every public endpoint name is a real route"
    assert {rules[name] for name in PUBLIC_ENDPOINTS} == PUBLIC_PATHS, "DESIGN: nothing else"

    live = client.get("/api/v1/health")
    assert (live.status_code, live.get_json()) == (200, {"status": "ok"})
    ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ready"
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert document.get_json()["openapi"].startswith("3.")
    assert "/api/v1/auth/me" in document.get_json()["paths"]


@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/api/v1/nope"), ("POST", "/api/v1/bot/nope"), ("GET", "/nope"), ("GET", "/")],
)
def test_an_unknown_url_answers_404_in_the_error_shape(
    client: FlaskClient, method: str, url: str
) -> None:
    assert_error(client.open(url, method=method), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("DELETE", "/api/v1/health", "GET"),
        ("GET", "/api/v1/auth/login", "POST"),
        ("PATCH", f"/api/v1/bot/users/{TELEGRAM_ID}", "PUT"),
    ],
)
def test_a_wrong_method_answers_405_in_the_error_shape(
    client: FlaskClient, method: str, url: str, allowed: str
) -> None:
    response = client.open(url, method=method)

    assert_error(response, 405, "method_not_allowed")
    assert allowed in response.headers["Allow"]


def _drop_table(app: Flask, table: str) -> None:
    with app.app_context():
        cascade = " CASCADE" if db.engine.dialect.name == "postgresql" else ""
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE {table}{cascade}"))


LEAKS = (
    "Traceback",
    "users",
    "accounts",
    "sqlite",
    "psycopg",
    "SELECT",
    "INSERT",
    "relation",
    "table",
)


def assert_no_leak(response: Any) -> None:
    assert_error(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    for leak in LEAKS:
        assert leak.lower() not in text.lower(), f"{leak!r} leaked: {text}"


def test_an_internal_error_in_a_bot_route_does_not_leak(app: Flask, client: FlaskClient) -> None:
    _drop_table(app, "users")

    response = client.put(
        f"/api/v1/bot/users/{TELEGRAM_ID}", json={"username": "ada"}, headers=BOT_HEADERS
    )

    assert_no_leak(response)


def test_an_internal_error_in_the_session_check_does_not_leak(
    app: Flask, seeded: dict[str, int]
) -> None:
    client = sign_in(app)
    _drop_table(app, "messages")
    _drop_table(app, "dialogs")
    _drop_table(app, "accounts")

    assert_no_leak(client.get("/api/v1/auth/me"))
