"""Console accounts over HTTP, on both databases: an admin lists, creates, disables and enables
accounts and resets their passwords; every account changes its own; a non-admin gets 403 and
changes nothing; what is refused is said clearly and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from webapi.domain.accounts import create_account

ACCOUNTS = "/api/v1/accounts"
ADMIN = ("admin", "admin-password-1")
ANALYST = ("analyst", "analyst-password-1")


def signed_in(app: Flask, credentials: tuple[str, str]) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/login", json={"username": credentials[0], "password": credentials[1]}
    )
    assert response.status_code == 200, response.get_json()
    return client


def error_code(response: Any) -> str:
    code: str = response.get_json()["error"]["code"]
    return code


@pytest.fixture
def ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            "admin": create_account(*ADMIN, is_admin=True).id,
            "analyst": create_account(*ANALYST, is_admin=False).id,
        }


@pytest.fixture
def admin(app: Flask, ids: dict[str, int]) -> FlaskClient:
    return signed_in(app, ADMIN)


@pytest.fixture
def analyst(app: Flask, ids: dict[str, int]) -> FlaskClient:
    return signed_in(app, ANALYST)


def listed(admin: FlaskClient) -> dict[str, dict[str, Any]]:
    response = admin.get(ACCOUNTS)
    assert response.status_code == 200
    return {account["username"]: account for account in response.get_json()["accounts"]}


def test_an_admin_lists_and_creates_accounts(app: Flask, admin: FlaskClient) -> None:
    before = listed(admin)
    assert set(before) == {"admin", "analyst"}
    assert before["admin"]["is_admin"] is True
    assert before["admin"]["last_login_at"] is not None
    assert before["analyst"] == {**before["analyst"], "is_admin": False, "disabled": False}

    created = admin.post(ACCOUNTS, json={"username": "owner2", "password": "owner2-password"})

    assert created.status_code == 201
    assert created.get_json()["username"] == "owner2"
    assert created.get_json()["is_admin"] is False
    assert set(listed(admin)) == {"admin", "analyst", "owner2"}
    signed_in(app, ("owner2", "owner2-password"))


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"username": "analyst", "password": "another-password"}, 409, "conflict"),
        ({"username": "short", "password": "seven77"}, 422, "validation_error"),
        ({"username": " padded", "password": "long-enough-1"}, 422, "validation_error"),
        ({"username": "", "password": "long-enough-1"}, 422, "validation_error"),
        ({"username": "x" * 65, "password": "long-enough-1"}, 422, "validation_error"),
        ({"username": "nopassword"}, 422, "validation_error"),
    ],
)
def test_a_bad_new_account_is_refused_and_nothing_is_written(
    admin: FlaskClient, body: dict[str, Any], status: int, code: str
) -> None:
    response = admin.post(ACCOUNTS, json=body)
    assert (response.status_code, error_code(response)) == (status, code)
    assert set(listed(admin)) == {"admin", "analyst"}


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(
    app: Flask, admin: FlaskClient, analyst: FlaskClient, ids: dict[str, int]
) -> None:
    assert analyst.get("/api/v1/auth/me").status_code == 200

    disabled = admin.patch(f"{ACCOUNTS}/{ids['analyst']}", json={"disabled": True})

    assert disabled.status_code == 200
    assert disabled.get_json()["disabled"] is True
    assert analyst.get("/api/v1/auth/me").status_code == 401
    refused = app.test_client().post(
        "/api/v1/auth/login", json={"username": ANALYST[0], "password": ANALYST[1]}
    )
    assert (refused.status_code, error_code(refused)) == (401, "invalid_credentials")

    enabled = admin.patch(f"{ACCOUNTS}/{ids['analyst']}", json={"disabled": False})
    assert enabled.get_json()["disabled"] is False
    signed_in(app, ANALYST)


def test_an_admin_cannot_disable_their_own_account(
    app: Flask, admin: FlaskClient, ids: dict[str, int]
) -> None:
    refused = admin.patch(f"{ACCOUNTS}/{ids['admin']}", json={"disabled": True})
    assert (refused.status_code, error_code(refused)) == (409, "conflict")
    assert listed(admin)["admin"]["disabled"] is False


def test_a_password_reset_ends_the_accounts_sessions(
    app: Flask, admin: FlaskClient, analyst: FlaskClient, ids: dict[str, int]
) -> None:
    reset = admin.post(f"{ACCOUNTS}/{ids['analyst']}/password", json={"password": "new-pass-123"})

    assert reset.status_code == 200
    assert analyst.get("/api/v1/auth/me").status_code == 401
    signed_in(app, ("analyst", "new-pass-123"))
    old = app.test_client().post(
        "/api/v1/auth/login", json={"username": ANALYST[0], "password": ANALYST[1]}
    )
    assert old.status_code == 401
    too_short = admin.post(f"{ACCOUNTS}/{ids['analyst']}/password", json={"password": "short"})
    assert (too_short.status_code, error_code(too_short)) == (422, "validation_error")


def test_unknown_accounts_are_404(admin: FlaskClient) -> None:
    for response in (
        admin.patch(f"{ACCOUNTS}/999999", json={"disabled": True}),
        admin.post(f"{ACCOUNTS}/999999/password", json={"password": "long-enough-1"}),
    ):
        assert (response.status_code, error_code(response)) == (404, "not_found")


def test_a_non_admin_sees_and_changes_none_of_it(
    admin: FlaskClient, analyst: FlaskClient, ids: dict[str, int]
) -> None:
    for response in (
        analyst.get(ACCOUNTS),
        analyst.post(ACCOUNTS, json={"username": "mine", "password": "long-enough-1"}),
        analyst.patch(f"{ACCOUNTS}/{ids['admin']}", json={"disabled": True}),
        analyst.post(f"{ACCOUNTS}/{ids['admin']}/password", json={"password": "taken-over-1"}),
    ):
        assert (response.status_code, error_code(response)) == (403, "forbidden")
    assert set(listed(admin)) == {"admin", "analyst"}
    assert listed(admin)["admin"]["disabled"] is False
    assert admin.get("/api/v1/auth/me").status_code == 200


def test_every_account_changes_its_own_password(app: Flask, ids: dict[str, int]) -> None:
    here, elsewhere = signed_in(app, ANALYST), signed_in(app, ANALYST)

    wrong = here.put(
        "/api/v1/auth/password",
        json={"current_password": "not-it-at-all", "new_password": "brand-new-pass"},
    )
    assert (wrong.status_code, error_code(wrong)) == (403, "invalid_credentials")
    short = here.put(
        "/api/v1/auth/password", json={"current_password": ANALYST[1], "new_password": "short"}
    )
    assert (short.status_code, error_code(short)) == (422, "validation_error")

    changed = here.put(
        "/api/v1/auth/password",
        json={"current_password": ANALYST[1], "new_password": "brand-new-pass"},
    )

    assert changed.status_code == 200
    assert here.get("/api/v1/auth/me").status_code == 200  # this session goes on
    assert elsewhere.get("/api/v1/auth/me").status_code == 401  # the others end
    signed_in(app, ("analyst", "brand-new-pass"))


def test_account_routes_need_a_session(client: FlaskClient) -> None:
    assert client.get(ACCOUNTS).status_code == 401
    assert client.put("/api/v1/auth/password", json={}).status_code == 401
