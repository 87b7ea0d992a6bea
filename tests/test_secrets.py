"""Secrets never reach the logs, even at DEBUG and even when things fail."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from tests.doubles.fake_llm import FakeLLM, Status
from tests.support import BOT_TOKEN, BotAPI
from webapi.domain.accounts import create_account

LLM_KEY = "test-llm-key"  # what conftest.make_settings configures
SECRET_KEY = "test-secret-key-0123456789"
ADMIN_PASSWORD = "admin-password-that-is-secret"


def test_no_secret_is_logged(
    app: Flask,
    bot_api: BotAPI,
    fake_llm: FakeLLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        create_account("admin", ADMIN_PASSWORD, is_admin=True)
    client = app.test_client()

    bot_api.upsert(11, username="ada")
    bot_api.send(11, "hello")
    fake_llm.script(Status(401), Status(500), Status(500), Status(500))
    bot_api.send(11, "a rejected call")
    bot_api.send(11, "a failing call")
    client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong-password"})
    client.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    client.get("/api/v1/auth/me")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert len(caplog.records) > 10, "the scenario did log"
    for secret in (BOT_TOKEN, LLM_KEY, SECRET_KEY, ADMIN_PASSWORD, "wrong-password"):
        assert secret not in logged
