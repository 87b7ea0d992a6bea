"""The bot's endpoints besides messages: profiles, roles, status, and the web owner's service."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.doubles.fake_llm import FakeLLM, Reply
from tests.support import ROOT, BotAPI
from webapi.domain.roles import parse_role
from webapi.extensions import db
from webapi.models import Dialog, User

TELEGRAM_ID = 77


def test_upsert_creates_then_updates_one_user(app: Flask, bot_api: BotAPI) -> None:
    created = bot_api.upsert(TELEGRAM_ID, username="ada", first_name="Ada", language_code="en")
    updated = bot_api.upsert(TELEGRAM_ID, username="ada_l", first_name="Ada", last_name="L")

    assert created.status_code == updated.status_code == 200
    body = updated.json()
    assert (body["username"], body["last_name"], body["language_code"]) == ("ada_l", "L", None)
    assert body["role"]["name"] == "consultant"
    assert body["first_seen_at"] == created.json()["first_seen_at"]
    assert body["last_seen_at"] >= created.json()["last_seen_at"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_telegram_ids_beyond_32_bits_are_stored(bot_api: BotAPI) -> None:
    big = 2**40 + 5
    assert bot_api.upsert(big, username="big").status_code == 200
    assert bot_api.http.get(f"/users/{big}").json()["telegram_id"] == big


@pytest.mark.parametrize(
    "profile",
    [{"username": "x" * 65}, {"first_name": "nul\x00byte"}, {"language_code": "en;drop"}],
)
def test_bad_profiles_are_refused_and_nothing_is_written(
    app: Flask, bot_api: BotAPI, profile: dict[str, str]
) -> None:
    response = bot_api.upsert(TELEGRAM_ID, **profile)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_roles_are_listed_with_the_default_marked(bot_api: BotAPI) -> None:
    roles = bot_api.http.get("/roles").json()["roles"]
    names = {role["name"] for role in roles}
    assert {"consultant", "english-tutor", "product-analyst", "editor"} <= names
    assert [role["name"] for role in roles if role["is_default"]] == ["consultant"]
    assert all(role["title"] and role["description"] for role in roles)


def test_choosing_a_role_starts_a_dialog_with_its_prompt(
    app: Flask, bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(TELEGRAM_ID)
    first = bot_api.send(TELEGRAM_ID, "Hello consultant")

    chosen = bot_api.http.put(f"/users/{TELEGRAM_ID}/role", json={"role": "english-tutor"})
    assert chosen.status_code == 200
    assert chosen.json()["role"]["name"] == "english-tutor"
    assert chosen.json()["dialog_id"] != first.final[1]["dialog_id"]
    shown = bot_api.http.get(f"/users/{TELEGRAM_ID}/role").json()
    assert shown == chosen.json()

    fake_llm.script(Reply("Hello learner"))
    bot_api.send(TELEGRAM_ID, "Hello tutor")
    tutor_prompt = parse_role(ROOT / "prompts" / "english-tutor.md").system_prompt
    assert fake_llm.requests[-1]["messages"] == [
        {"role": "system", "content": tutor_prompt},
        {"role": "user", "content": "Hello tutor"},
    ]
    with app.app_context():
        assert db.session.scalar(sa.select(User.role)) == "english-tutor"


def test_an_unknown_role_is_refused(bot_api: BotAPI) -> None:
    bot_api.upsert(TELEGRAM_ID)
    response = bot_api.http.put(f"/users/{TELEGRAM_ID}/role", json={"role": "pirate"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "role_not_found"
    assert bot_api.http.get(f"/users/{TELEGRAM_ID}/role").json()["role"]["name"] == "consultant"


def test_status_reports_model_reachability_context_and_today(
    bot_api: BotAPI, fake_llm: FakeLLM
) -> None:
    bot_api.upsert(TELEGRAM_ID)
    fake_llm.script(Reply("one two three"))
    done = bot_api.send(TELEGRAM_ID, "count to three").final[1]

    status = bot_api.status(TELEGRAM_ID).json()

    assert status["model"] == "test-model"
    assert status["llm_reachable"] is True
    assert status["role"]["name"] == "consultant"
    assert status["context"] == {
        "dialog_id": done["dialog_id"],
        "messages_used": 2,
        "max_messages": 20,
    }
    assert status["today"] == {
        "messages": 1,
        "prompt_tokens": done["usage"]["prompt_tokens"],
        "completion_tokens": 3,
    }


def test_status_of_an_unknown_user_is_404(bot_api: BotAPI) -> None:
    response = bot_api.status(123456)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "user_not_found"


def test_looking_at_status_and_role_opens_no_dialog(app: Flask, bot_api: BotAPI) -> None:
    bot_api.upsert(TELEGRAM_ID)

    status = bot_api.status(TELEGRAM_ID).json()
    role = bot_api.http.get(f"/users/{TELEGRAM_ID}/role").json()

    assert status["context"] == {"dialog_id": None, "messages_used": 0, "max_messages": 20}
    assert status["today"] == {"messages": 0, "prompt_tokens": 0, "completion_tokens": 0}
    assert role == {"role": status["role"], "dialog_id": None}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Dialog.id))) == 0
