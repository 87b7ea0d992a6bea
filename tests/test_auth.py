"""Console sign-in: session cookie, credentials, validation, rate limit, the first admin."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.security import check_password_hash

from tests.doubles.fake_llm import FakeLLM
from tests.support import BOT_TOKEN, ROOT, flask_cli, make_settings, started_app
from webapi import create_app
from webapi.api.security import SESSION_COOKIE_NAME
from webapi.domain.accounts import create_account
from webapi.extensions import db
from webapi.models import Account, ConsoleSession, utcnow
from webapi.settings import ConfigError, Settings

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
USERNAME = "ada"
PASSWORD = "correct horse battery staple"
OTHER_CLIENT = {"REMOTE_ADDR": "127.0.0.2"}


@pytest.fixture
def account(app: Flask) -> int:
    with app.app_context():
        created = create_account(USERNAME, PASSWORD, is_admin=False)
        return int(created.id)


def login(client: FlaskClient, username: str, password: str, **kwargs: Any) -> Any:
    return client.post(LOGIN, json={"username": username, "password": password}, **kwargs)


def accounts(app: Flask) -> dict[str, Account]:
    with app.app_context():
        found = db.session.scalars(sa.select(Account).order_by(Account.id)).all()
        db.session.expunge_all()
        return {account.username: account for account in found}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def assert_hashed(account: Account, password: str) -> None:
    assert account.password_hash != password
    assert password not in account.password_hash
    assert account.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert check_password_hash(account.password_hash, password)


@contextmanager
def started(database_url: str, fake_llm: FakeLLM, **overrides: Any) -> Iterator[Flask]:
    """Another start of the API on the same database (as a container restart would be)."""
    with started_app(database_url, fake_llm.base_url, **overrides) as app:
        yield app


# --- session cookie -------------------------------------------------------------------------


def test_login_sets_an_http_only_lax_cookie_and_me_answers(
    app: Flask, client: FlaskClient, account: int
) -> None:
    response = login(client, USERNAME, PASSWORD)

    assert response.status_code == 200
    assert response.get_json() == {"id": account, "username": USERNAME, "is_admin": False}
    (set_cookie,) = [
        header
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith(f"{SESSION_COOKIE_NAME}=")
    ]
    attributes = {part.strip().split("=")[0].lower(): part for part in set_cookie.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].strip() == "SameSite=Lax"
    cookie = client.get_cookie(SESSION_COOKIE_NAME)
    assert cookie is not None
    assert cookie.http_only is True
    assert cookie.same_site == "Lax"
    assert PASSWORD not in cookie.decoded_value

    me = client.get(ME)
    assert me.status_code == 200
    assert me.get_json() == {"id": account, "username": USERNAME, "is_admin": False}
    assert accounts(app)[USERNAME].last_login_at is not None


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: FlaskClient, account: int
) -> None:
    wrong_password = login(client, USERNAME, PASSWORD + "!")
    unknown_user = login(client, "nobody", PASSWORD)

    first = assert_error(wrong_password, 401, "invalid_credentials")
    second = assert_error(unknown_user, 401, "invalid_credentials")
    assert first == second, "the answer does not tell which part was wrong"
    assert client.get_cookie(SESSION_COOKIE_NAME) is None
    assert_error(client.get(ME), 401, "unauthorized")


def test_logout_ends_the_session(client: FlaskClient, account: int) -> None:
    assert login(client, USERNAME, PASSWORD).status_code == 200
    assert client.get(ME).status_code == 200

    response = client.post(LOGOUT, json={})

    assert response.status_code == 200
    assert response.get_json() == {"status": "signed_out"}
    assert_error(client.get(ME), 401, "unauthorized")
    assert_error(client.post(LOGOUT, json={}), 401, "unauthorized")


def test_a_session_of_a_deleted_account_is_refused(
    app: Flask, client: FlaskClient, account: int
) -> None:
    assert login(client, USERNAME, PASSWORD).status_code == 200
    with app.app_context():
        db.session.execute(sa.delete(Account).where(Account.id == account))
        db.session.commit()

    assert_error(client.get(ME), 401, "unauthorized")


def test_a_forged_cookie_is_refused(client: FlaskClient, account: int) -> None:
    client.set_cookie(SESSION_COOKIE_NAME, "eyJhY2NvdW50X2lkIjoxfQ.forged.signature")

    assert_error(client.get(ME), 401, "unauthorized")


# --- validation -----------------------------------------------------------------------------

INVALID_BODIES = [
    pytest.param({"json": {"username": USERNAME}}, ["password"], id="missing-password"),
    pytest.param({"json": {}}, ["username"], id="missing-both"),
    pytest.param({"json": {"username": 1, "password": ["x"]}}, ["username"], id="wrong-types"),
    pytest.param(
        {"json": {"username": "", "password": PASSWORD}}, ["username"], id="empty-username"
    ),
    pytest.param(
        {"json": {"username": USERNAME, "password": ""}}, ["password"], id="empty-password"
    ),
    pytest.param({"json": [USERNAME, PASSWORD]}, [], id="json-array"),
    pytest.param(
        {"data": '{"username": "ada",', "content_type": "application/json"}, [], id="bad-json"
    ),
]


@pytest.mark.parametrize(("request_kwargs", "loc"), INVALID_BODIES)
def test_login_body_is_validated(
    client: FlaskClient, account: int, request_kwargs: dict[str, Any], loc: list[str]
) -> None:
    response = client.post(LOGIN, **request_kwargs)

    error = assert_error(response, 422, "validation_error")
    details = error["details"]
    assert isinstance(details, list)
    assert details
    for detail in details:
        assert {"loc", "msg", "type"} <= set(detail)
    assert loc in [detail["loc"] for detail in details]
    assert client.get_cookie(SESSION_COOKIE_NAME) is None


# --- rate limit -----------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"LOGIN_RATE_LIMIT": "3 per minute"}])
def test_sign_in_attempts_are_rate_limited_per_client(client: FlaskClient, account: int) -> None:
    for _ in range(3):
        assert login(client, USERNAME, "wrong password").status_code == 401

    blocked = login(client, USERNAME, PASSWORD)  # even the right password waits now

    assert_error(blocked, 429, "too_many_requests")
    retry_after = blocked.headers.get("Retry-After")
    assert retry_after is not None
    assert 0 < int(retry_after) <= 60
    assert client.get_cookie(SESSION_COOKIE_NAME) is None

    other = login(client, USERNAME, PASSWORD, environ_base=OTHER_CLIENT)
    assert other.status_code == 200, "another client address has its own budget"


# --- the first admin from the environment -----------------------------------------------------


def test_first_admin_is_created_at_start_up_when_no_account_exists(
    app: Flask, database_url: str, fake_llm: FakeLLM
) -> None:
    assert accounts(app) == {}

    with started(
        database_url, fake_llm, ADMIN_USERNAME="root", ADMIN_PASSWORD="first-admin-pw"
    ) as second:
        response = login(second.test_client(), "root", "first-admin-pw")

    assert response.status_code == 200
    assert response.get_json()["is_admin"] is True
    (root,) = accounts(app).values()
    assert (root.username, root.is_admin) == ("root", True)
    assert_hashed(root, "first-admin-pw")
    assert login(app.test_client(), "root", "first-admin-pw").status_code == 200


def test_first_admin_waits_for_the_migrations(database_url: str, fake_llm: FakeLLM) -> None:
    """`flask db upgrade` starts the app on an empty database: the admin comes at the next start."""
    admin = {"ADMIN_USERNAME": "root", "ADMIN_PASSWORD": "first-admin-pw"}
    with started(database_url, fake_llm, **admin) as first:
        with first.app_context():
            assert not sa.inspect(db.engine).has_table("accounts")
            upgrade()
        assert accounts(first) == {}

    with started(database_url, fake_llm, **admin) as second:
        assert list(accounts(second)) == ["root"]
        assert login(second.test_client(), "root", "first-admin-pw").status_code == 200


def test_first_admin_never_overwrites_an_existing_account(
    app: Flask, database_url: str, fake_llm: FakeLLM, account: int
) -> None:
    for name in (USERNAME, "root"):
        with started(
            database_url, fake_llm, ADMIN_USERNAME=name, ADMIN_PASSWORD="another-password"
        ):
            pass

    found = accounts(app)
    assert list(found) == [USERNAME]
    assert found[USERNAME].is_admin is False
    assert_hashed(found[USERNAME], PASSWORD)
    client = app.test_client()
    assert_error(login(client, USERNAME, "another-password"), 401, "invalid_credentials")
    assert_error(login(client, "root", "another-password"), 401, "invalid_credentials")
    assert login(client, USERNAME, PASSWORD).status_code == 200


def test_too_short_admin_password_stops_the_start_and_writes_nothing(
    app: Flask, database_url: str, fake_llm: FakeLLM
) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(
            # The failed app is never handed back to be disposed: pool no connection.
            {"SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": sa.pool.NullPool}},
            settings=make_settings(
                database_url, fake_llm.base_url, ADMIN_USERNAME="root", ADMIN_PASSWORD="pw-7chr"
            ),
        )

    message = str(caught.value.code)
    assert message.startswith("configuration error: ")
    assert "ADMIN_PASSWORD" in message
    assert "8 characters" in message
    assert "\n" not in message
    assert "pw-7chr" not in message
    assert accounts(app) == {}


# --- flask create-admin ---------------------------------------------------------------------


def test_create_admin_takes_the_password_from_the_environment(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "env-password-123")

    result = app.test_cli_runner().invoke(args=["create-admin", "boss"])

    assert result.exit_code == 0, (result.output, repr(result.exception))
    assert "boss" in result.output
    assert "env-password-123" not in result.output
    (boss,) = accounts(app).values()
    assert (boss.username, boss.is_admin) == ("boss", True)
    assert_hashed(boss, "env-password-123")
    response = login(app.test_client(), "boss", "env-password-123")
    assert response.status_code == 200
    assert response.get_json()["is_admin"] is True


def test_create_admin_asks_for_the_password(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)

    result = app.test_cli_runner().invoke(
        args=["create-admin", "boss"], input="pw12345678\npw12345678\n"
    )

    assert result.exit_code == 0, (result.output, repr(result.exception))
    assert "Password" in result.output
    assert "pw12345678" not in result.output, "the password is not echoed"
    assert_hashed(accounts(app)["boss"], "pw12345678")
    assert login(app.test_client(), "boss", "pw12345678").status_code == 200


def test_create_admin_refuses_an_existing_name(
    app: Flask, monkeypatch: pytest.MonkeyPatch, account: int
) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "another-password")

    result = app.test_cli_runner().invoke(args=["create-admin", USERNAME])

    assert result.exit_code != 0
    assert f"an account named '{USERNAME}' exists already" in result.output, (
        result.output,
        repr(result.exception),
    )
    found = accounts(app)
    assert list(found) == [USERNAME]
    assert found[USERNAME].is_admin is False
    assert_hashed(found[USERNAME], PASSWORD)


@pytest.mark.parametrize("use_env", [True, False], ids=["env", "prompt"])
def test_create_admin_refuses_a_short_password(
    app: Flask, monkeypatch: pytest.MonkeyPatch, use_env: bool
) -> None:
    if use_env:
        monkeypatch.setenv("ADMIN_PASSWORD", "short")
    else:
        monkeypatch.delenv("ADMIN_PASSWORD", raising=False)

    result = app.test_cli_runner().invoke(args=["create-admin", "boss"], input="short\nshort\n")

    assert result.exit_code != 0
    assert "at least 8 characters" in result.output, (result.output, repr(result.exception))
    assert accounts(app) == {}


# --- the real command line (SQLite only: one process start each) -----------------------------


def cli_environment(database_url: str, fake_llm: FakeLLM, **values: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in Settings.model_fields and not key.startswith("FLASK_")
    }
    env.update(
        FLASK_SKIP_DOTENV="1",  # a developer's .env must not interfere
        DATABASE_URL=database_url,
        BOT_API_TOKEN=BOT_TOKEN,
        SECRET_KEY="test-secret-key-0123456789",
        LLM_BASE_URL=fake_llm.base_url,
        PROMPTS_DIR=str(ROOT / "prompts"),
        **values,
    )
    return env


def test_flask_create_admin_prompts_for_the_password(
    sqlite_app: Flask, sqlite_url: str, fake_llm: FakeLLM
) -> None:
    result = flask_cli(
        cli_environment(sqlite_url, fake_llm),
        "create-admin",
        "boss",
        stdin="pw12345678\npw12345678\n",
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert login(sqlite_app.test_client(), "boss", "pw12345678").status_code == 200


def test_flask_create_admin_takes_admin_password_from_the_environment(
    sqlite_app: Flask, sqlite_url: str, fake_llm: FakeLLM
) -> None:
    """DESIGN: `create-admin` takes the password from ADMIN_PASSWORD or asks for it."""
    result = flask_cli(
        cli_environment(sqlite_url, fake_llm, ADMIN_PASSWORD="env-password-123"),
        "create-admin",
        "boss",
    )

    assert result.returncode == 0, result.stderr
    assert "env-password-123" not in result.stdout + result.stderr
    assert login(sqlite_app.test_client(), "boss", "env-password-123").status_code == 200


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(SESSION_COOKIE_NAME)
    assert cookie is not None
    return cookie.value


def _client_with(app: Flask, cookie: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE_NAME, cookie)
    return client


def test_a_copied_cookie_is_dead_after_logout(app: Flask, account: int) -> None:
    client = app.test_client()
    assert login(client, USERNAME, PASSWORD).status_code == 200
    copy = _client_with(app, _cookie(client))
    assert copy.get("/api/v1/auth/me").status_code == 200

    assert client.post(LOGOUT, json={}).status_code == 200

    assert copy.get("/api/v1/auth/me").status_code == 401


def test_logout_ends_only_its_own_session(app: Flask, account: int) -> None:
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, USERNAME, PASSWORD)
    login(phone, USERNAME, PASSWORD)

    assert laptop.post(LOGOUT, json={}).status_code == 200

    assert laptop.get("/api/v1/auth/me").status_code == 401
    assert phone.get("/api/v1/auth/me").status_code == 200


def test_an_expired_session_is_refused(app: Flask, account: int) -> None:
    client = app.test_client()
    login(client, USERNAME, PASSWORD)
    with app.app_context():
        db.session.execute(
            sa.update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    assert client.get("/api/v1/auth/me").status_code == 401


def test_only_a_hash_of_the_session_token_is_stored(app: Flask, account: int) -> None:
    client = app.test_client()
    login(client, USERNAME, PASSWORD)
    cookie = _cookie(client)
    with app.app_context():
        (stored,) = db.session.scalars(sa.select(ConsoleSession.token_hash)).all()
    token = app.session_interface.get_signing_serializer(app).loads(cookie)["sid"]  # type: ignore[attr-defined]
    assert token not in stored
    assert len(stored) == 64
