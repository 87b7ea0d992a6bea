"""Abuse: deeply nested JSON, cross-site console requests, sign-in guessing across workers."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask

from tests.doubles.fake_llm import FakeLLM
from tests.support import (
    BOT_TOKEN,
    flask_cli,
    gunicorn_server,
    make_settings,
    server_environment,
    wait_ready,
)
from webapi.api.security import BOT_BLUEPRINT
from webapi.domain.accounts import create_account
from webapi.settings import ConfigError

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
USERNAME = "ada"
PASSWORD = "correct horse battery staple"
TELEGRAM_ID = 7
BOT_HEADERS = {"Authorization": f"Bearer {BOT_TOKEN}"}
JSON = {"Content-Type": "application/json"}
FOREIGN_ORIGIN = "https://evil.example"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


@pytest.fixture
def account(app: Flask) -> None:
    with app.app_context():
        create_account(USERNAME, PASSWORD, is_admin=False)


@pytest.fixture
def http(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


@contextmanager
def signed_in(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=30) as client:
        response = client.post(LOGIN, json={"username": USERNAME, "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield client


def own_origin(live_url: str) -> str:
    return live_url  # http://127.0.0.1:PORT: the Host httpx sends, with its scheme


# --- deeply nested JSON ---------------------------------------------------------------------


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def wrapped(prefix: str) -> Callable[[str], str]:
    return lambda deep: prefix + deep + "}"


# Every JSON route, the open sign-in included: the body alone, or one field of it, nested deep.
DEEP_REQUESTS: list[tuple[str, str, Callable[[str], str]]] = [
    ("PUT", f"/api/v1/bot/users/{TELEGRAM_ID}", lambda deep: deep),
    ("PUT", f"/api/v1/bot/users/{TELEGRAM_ID}", wrapped('{"username": ')),
    ("POST", f"/api/v1/bot/users/{TELEGRAM_ID}/messages", wrapped('{"text": ')),
    ("POST", LOGIN, lambda deep: deep),
    ("POST", LOGIN, wrapped('{"username": "ada", "password": "x", "extra": ')),
]


def test_deeply_nested_json_is_refused_in_the_error_shape_and_logs_no_error(
    http: httpx.Client, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    assert http.put(f"/api/v1/bot/users/{TELEGRAM_ID}", json={}, headers=BOT_HEADERS).is_success
    caplog.set_level(logging.WARNING)

    # Deep enough for Python's parser to give up (1,000 levels and more), up to a body of ~1 MB.
    for deep in (nested_list(1_000), nested_object(5_000), nested_list(500_000)):
        for method, path, wrap in DEEP_REQUESTS:
            body = wrap(deep)
            assert len(body) < 1024 * 1024, "under the body limit: the nesting alone is refused"
            response = http.request(method, path, content=body, headers={**JSON, **BOT_HEADERS})

            error = assert_error(response, 422, "validation_error")
            assert error["details"], f"{method} {path}: the problem is named"

    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], "nothing is logged as an internal error"
    assert fake_llm.requests == [], "no question reached the LLM"


def test_json_deeper_than_the_bound_is_refused_even_where_the_parser_copes(
    http: httpx.Client, account: None
) -> None:
    """The bound does not depend on the interpreter's recursion limit: 65 levels are refused."""
    from webapi.api.json_guard import MAX_JSON_DEPTH

    def login_with_extra(depth: int) -> httpx.Response:
        body = f'{{"username": "{USERNAME}", "password": "wrong", "extra": {nested_list(depth)}}}'
        return http.post(LOGIN, content=body, headers=JSON)

    # The body object is one level, so `extra` may hold MAX_JSON_DEPTH - 1.
    assert_error(login_with_extra(MAX_JSON_DEPTH - 1), 401, "invalid_credentials")
    error = assert_error(login_with_extra(MAX_JSON_DEPTH), 422, "validation_error")
    assert str(MAX_JSON_DEPTH) in error["message"]


def test_ordinary_json_still_reaches_the_routes(http: httpx.Client, account: None) -> None:
    profile = http.put(
        f"/api/v1/bot/users/{TELEGRAM_ID}", json={"username": "ada"}, headers=BOT_HEADERS
    )
    assert profile.status_code == 200
    assert profile.json()["username"] == "ada"
    with http.stream(
        "POST",
        f"/api/v1/bot/users/{TELEGRAM_ID}/messages",
        json={"text": "[[{not json, just brackets}]]" * 100},
        headers=BOT_HEADERS,
    ) as answer:
        assert answer.status_code == 200
        assert "event: done" in answer.read().decode()


# --- cross-site requests to console routes --------------------------------------------------


def test_logout_from_a_foreign_origin_is_refused_and_the_session_lives(
    live_url: str, account: None
) -> None:
    with signed_in(live_url) as client:
        refused = client.post(LOGOUT, json={}, headers={"Origin": FOREIGN_ORIGIN})

        assert_error(refused, 403, "forbidden")
        assert client.get(ME).status_code == 200, "the session was not ended"


# What a page on another site can make a browser send without a CORS preflight, and more.
NOT_JSON: list[dict[str, Any]] = [
    {"content": "{}", "headers": {"Content-Type": "text/plain"}},
    {"data": {"a": "b"}},  # application/x-www-form-urlencoded
    {"files": {"a": b"b"}},  # multipart/form-data
    {},  # no body, no Content-Type
    {"content": "{}", "headers": {"Content-Type": "text/json"}},
]


def test_logout_that_is_not_json_is_refused_and_the_session_lives(
    live_url: str, account: None
) -> None:
    with signed_in(live_url) as client:
        for request_kwargs in NOT_JSON:
            refused = client.post(LOGOUT, **request_kwargs)

            assert_error(refused, 415, "unsupported_media_type")
            assert client.get(ME).status_code == 200, "the session was not ended"


def test_logout_as_json_without_origin_or_from_its_own_host_succeeds(
    live_url: str, account: None
) -> None:
    for headers in ({}, {"Origin": own_origin(live_url)}):
        with signed_in(live_url) as client:
            response = client.post(
                LOGOUT,
                json={},
                headers={"Content-Type": "application/json; charset=utf-8", **headers},
            )

            assert response.status_code == 200, response.text
            assert_error(client.get(ME), 401, "unauthorized")
    with signed_in(live_url) as client:
        empty = client.post(LOGOUT, headers=JSON)  # an empty body is fine, as JSON
        assert empty.status_code == 200, empty.text


NOT_ALLOWED_ORIGINS = [
    FOREIGN_ORIGIN,
    "null",  # sandboxed pages, some redirects
    "http://127.0.0.1",  # the same address on another port is another host
    "http://127.0.0.1.evil.example",
    "not an origin",
]


def test_sign_in_from_an_origin_that_is_not_allowed_is_refused(
    http: httpx.Client, account: None
) -> None:
    for origin in NOT_ALLOWED_ORIGINS:
        response = http.post(
            LOGIN, json={"username": USERNAME, "password": PASSWORD}, headers={"Origin": origin}
        )

        assert_error(response, 403, "forbidden")
        assert "set-cookie" not in response.headers, origin


def test_sign_in_that_is_not_json_is_refused(http: httpx.Client, account: None) -> None:
    as_form = http.post(LOGIN, data={"username": USERNAME, "password": PASSWORD})
    as_text = http.post(
        LOGIN,
        content=f'{{"username": "{USERNAME}", "password": "{PASSWORD}"}}',
        headers={"Content-Type": "text/plain"},
    )

    for refused in (as_form, as_text):
        assert_error(refused, 415, "unsupported_media_type")
        assert "set-cookie" not in refused.headers


def test_every_state_changing_console_route_is_guarded(
    app: Flask, live_url: str, account: None
) -> None:
    """Login, logout and any console route to come; the bot's routes (bearer token) are not."""
    adapter = app.url_map.bind("localhost")
    guarded = []
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & STATE_CHANGING
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(BOT_BLUEPRINT + "."):
            continue
        url = adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, 1))
        guarded += [(method, url) for method in methods]
    assert {("POST", LOGIN), ("POST", LOGOUT)} <= set(guarded)

    with signed_in(live_url) as client:
        for method, url in guarded:
            foreign = client.request(method, url, json={}, headers={"Origin": FOREIGN_ORIGIN})
            assert_error(foreign, 403, "forbidden")
            as_text = client.request(
                method, url, content="{}", headers={"Content-Type": "text/plain"}
            )
            assert_error(as_text, 415, "unsupported_media_type")
        assert client.get(ME).status_code == 200


def test_bot_routes_and_reads_take_any_origin(live_url: str, account: None) -> None:
    with signed_in(live_url) as client:
        assert client.get(ME, headers={"Origin": FOREIGN_ORIGIN}).status_code == 200
        profile = client.put(
            f"/api/v1/bot/users/{TELEGRAM_ID}",
            json={"username": "ada"},
            headers={"Origin": FOREIGN_ORIGIN, **BOT_HEADERS},
        )
        assert profile.status_code == 200, profile.text


@pytest.mark.parametrize(
    "settings_overrides",
    [{"CONSOLE_ORIGINS": "https://console.example.com, HTTP://LocalHost:3000"}],
)
def test_console_origins_names_the_allowed_origins(
    http: httpx.Client, live_url: str, account: None
) -> None:
    def sign_in_from(origin: str) -> int:
        credentials = {"username": USERNAME, "password": PASSWORD}
        return http.post(LOGIN, json=credentials, headers={"Origin": origin}).status_code

    assert sign_in_from("https://console.example.com") == 200
    assert sign_in_from("https://console.example.com:443") == 200, "the default port is implied"
    assert sign_in_from("http://localhost:3000") == 200
    assert sign_in_from("http://console.example.com") == 403, "another scheme, another origin"
    assert sign_in_from("https://console.example.com:8443") == 403
    assert sign_in_from(own_origin(live_url)) == 403, "the list replaces the default"
    assert sign_in_from(FOREIGN_ORIGIN) == 403


@pytest.mark.parametrize(
    "value",
    [
        "console.example.com",
        "https://console.example.com/app",
        "https://console.example.com?x=1",
        "ftp://console.example.com",
        "https://",
        "https://user@console.example.com",
        "https://console.example.com,,https://other.example.com",
        "https://console.example.com:99999",
    ],
)
def test_a_malformed_console_origin_stops_the_start_with_one_line(
    fake_llm: FakeLLM, sqlite_url: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings(sqlite_url, fake_llm.base_url, CONSOLE_ORIGINS=value)

    message = caught.value.line
    assert message.startswith("configuration error: CONSOLE_ORIGINS "), message
    assert "\n" not in message


def test_state_changing_console_routes_document_403_and_415(sqlite_app: Flask) -> None:
    document = sqlite_app.test_client().get("/api/v1/openapi.json").get_json()
    console_writes = [
        (path, method, operation)
        for path, item in document["paths"].items()
        if not path.startswith("/api/v1/bot/")
        for method, operation in item.items()
        if method.upper() in STATE_CHANGING
    ]
    assert len(console_writes) >= 2
    for path, method, operation in console_writes:
        assert {"403", "415"} <= set(operation["responses"]), f"{method} {path}"


# --- sign-in limits across gunicorn workers ---------------------------------------------------

ADMIN = ("admin", "first-admin-password")
ACCESS_LINE = re.compile(r"^<(?P<pid>\d+)> (?P<method>\S+) (?P<path>\S+) (?P<status>\d{3})$")


def _workers_that_served(log_path: Path, path: str) -> set[str]:
    lines = (ACCESS_LINE.match(line) for line in log_path.read_text().splitlines())
    return {line["pid"] for line in lines if line is not None and line["path"] == path}


def test_sign_in_limits_hold_across_gunicorn_workers(
    tmp_path: Path, fake_llm: FakeLLM, database_url: str
) -> None:
    env = server_environment(
        database_url,
        fake_llm.base_url,
        API_WORKERS="2",
        LOGIN_RATE_LIMIT="10 per minute",
        LOGIN_CLIENT_RATE_LIMIT="30 per minute",
        ADMIN_USERNAME=ADMIN[0],
        ADMIN_PASSWORD=ADMIN[1],
        # Each access log line names the worker that served it.
        GUNICORN_CMD_ARGS="--access-logformat '%(p)s %(m)s %(U)s %(s)s'",
    )
    assert flask_cli(env, "db", "upgrade").returncode == 0
    created = flask_cli({**env, "ADMIN_PASSWORD": "second-password"}, "create-admin", "grace")
    assert created.returncode == 0, created.stderr
    log_path = tmp_path / "api.log"

    def attempt(username: str, password: str) -> httpx.Response:
        # A new connection each time, so that attempts spread over the workers.
        return httpx.post(
            f"{url}{LOGIN}", json={"username": username, "password": password}, timeout=30
        )

    with gunicorn_server(env, log_path) as server:
        url = f"http://{env['API_BIND']}"
        wait_ready(url, server, log_path)
        with ThreadPoolExecutor(max_workers=20) as pool:
            guesses = list(pool.map(lambda _: attempt(ADMIN[0], "wrong-password"), range(20)))
        right_password = attempt(*ADMIN)
        other_name = attempt("grace", "second-password")
        more_names = [attempt(f"guess-{n}", "wrong-password").status_code for n in range(8)]
        over_the_client_ceiling = attempt("guess-last", "wrong-password")

    assert len(_workers_that_served(log_path, LOGIN)) == 2, "both workers took attempts"
    statuses = sorted(response.status_code for response in guesses)
    assert statuses == [401] * 10 + [429] * 10, "exactly the limit got through, in all"
    for refused in [response for response in guesses if response.status_code == 429]:
        assert_error(refused, 429, "too_many_requests")
        assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert_error(right_password, 429, "too_many_requests")
    assert "set-cookie" not in right_password.headers, "the right password waits too"
    assert other_name.status_code == 200, "another username from the same client is let in"
    # 20 + 1 + 1 + 8 = 30 attempts from this client: the looser ceiling, whatever the names.
    assert more_names == [401] * 8
    assert_error(over_the_client_ceiling, 429, "too_many_requests")


@pytest.mark.parametrize("settings_overrides", [{"LOGIN_RATE_LIMIT": "3 per 4 seconds"}])
def test_a_limited_sign_in_is_refused_whatever_the_password_until_its_window_ends(
    http: httpx.Client, account: None
) -> None:
    def sign_in(password: str) -> httpx.Response:
        return http.post(LOGIN, json={"username": USERNAME, "password": password})

    for _ in range(3):
        assert sign_in("wrong-password").status_code == 401
    refused = sign_in(PASSWORD)
    assert_error(refused, 429, "too_many_requests")
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= 4

    time.sleep(retry_after)

    assert sign_in(PASSWORD).status_code == 200, "the window has passed"
