"""The whole stack in containers, through published ports only: health, a Telegram user's
conversation end to end into the dashboard's figures, the console's browser tests, restarts,
a crash mid-answer, and the bot riding out an api outage."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.doubles.fake_llm import Stall
from tests.integration.compose_stack import (
    API_RETRY_S,
    Stack,
    answers_to,
    ask_in_telegram,
    dialog_of,
    overview,
    wait_for_answer,
)
from tests.support import ROOT

STACK_SERVICES = ("api", "bot", "frontend")


def test_every_service_is_healthy_and_migrations_ran_once(stack: Stack) -> None:
    services = {s["Service"]: s for s in stack.services()}
    for name in (*STACK_SERVICES, "fake-llm", "fake-telegram"):
        assert services[name]["State"] == "running", services[name]
        assert services[name]["Health"] == "healthy", services[name]
    assert services["migrate"]["State"] == "exited"
    assert services["migrate"]["ExitCode"] == 0
    assert "is at revision" in stack.run("logs", "--no-log-prefix", "migrate")


def test_services_run_as_non_root_and_only_the_console_is_published(stack: Stack) -> None:
    for service in STACK_SERVICES:
        assert stack.run("exec", "-T", service, "id", "-u").strip() != "0", service
    published = {
        s["Service"]: [p for p in s.get("Publishers") or [] if p.get("PublishedPort")]
        for s in stack.services()
    }
    assert [p["URL"] for p in published["frontend"]] == ["127.0.0.1"]
    assert published["api"] == []
    assert published["bot"] == []


def test_a_telegram_conversation_end_to_end_shows_in_the_dashboard(stack: Stack) -> None:
    before = overview(stack)
    user = 710_001
    ask_in_telegram(stack, user, "Hello through the whole stack")
    ask_in_telegram(stack, user, "And a second question")

    after = overview(stack)
    assert after["user_messages"]["value"] == before["user_messages"]["value"] + 2
    assert after["assistant_messages"]["value"] == before["assistant_messages"]["value"] + 2
    assert after["active_users"]["value"] == before["active_users"]["value"] + 1
    dialog = dialog_of(stack, user)
    assert dialog["channel"] == "telegram"
    assert dialog["message_count"] == 4
    assert dialog["latest_message"]["preview"].startswith("Echo: And a second question")


def test_the_console_browser_tests_pass_against_the_stack(stack: Stack) -> None:
    """The console issue's browser tests (sign-in, dashboard, period, transcript, both chat
    modes), pointed at the stack's published console and fake LLM instead of local processes."""
    env = {
        **os.environ,
        "E2E_CONSOLE_URL": stack.console_url,
        "E2E_LLM_URL": stack.llm.url,
        "E2E_ARTIFACTS": str(ROOT / "frontend" / "test-results" / "integration"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/e2e/test_console.py",
            "tests/e2e/test_chat_screen.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]


def test_data_survives_a_restart_of_the_whole_stack(stack: Stack) -> None:
    user = 710_002
    ask_in_telegram(stack, user, "Remember me across a restart")
    before = overview(stack)

    # The product's services; the fake Telegram keeps running, as Telegram would (restarted,
    # it would hand out message ids again, which webapi rightly takes for redeliveries).
    stack.run("restart", *STACK_SERVICES, timeout=600)
    for service in STACK_SERVICES:
        stack.wait_healthy(service)

    assert overview(stack)["user_messages"]["value"] == before["user_messages"]["value"]
    assert dialog_of(stack, user)["message_count"] == 2
    ask_in_telegram(stack, user, "Still here after the restart")
    assert dialog_of(stack, user)["message_count"] == 4


def test_a_crash_of_the_api_mid_answer_leaves_nothing_pending(stack: Stack) -> None:
    user = 710_003
    # The answer starts streaming, then stalls: the api is killed while it is in flight.
    stack.llm.script(Stall(after_chunks=2, seconds=120, text="Half an answer, then silence"))
    stack.telegram.send_text(user, "This answer will be cut off")
    deadline = time.monotonic() + 60
    while not any("This answer will be cut off" in str(r["messages"]) for r in stack.llm.requests):
        assert time.monotonic() < deadline, "the question never reached the LLM"
        time.sleep(0.2)
    time.sleep(1)  # some of the answer is streamed and stored as pending

    stack.kill_hard("api")
    stack.wait_healthy("api")

    # The question is settled as interrupted, not left pending; the data is intact.
    deadline = time.monotonic() + 90
    while (latest := dialog_of(stack, user)["latest_message"])["status"] == "pending":
        assert time.monotonic() < deadline, latest
        time.sleep(1)
    assert latest["error_code"] == "interrupted", latest
    integrity = stack.run(
        "exec",
        "-T",
        "api",
        "python",
        "-c",
        "import sqlite3; print(sqlite3.connect('data/aidd.db').execute("
        "'PRAGMA integrity_check').fetchone()[0])",
    )
    assert integrity.strip() == "ok"

    stack.llm.reset()
    ask_in_telegram(stack, user, "Does it work again?")


def test_the_bot_answers_what_was_sent_while_the_api_was_down(stack: Stack) -> None:
    users = [710_011, 710_012, 710_013]
    stack.run("stop", "api")
    try:
        for user in users:
            stack.telegram.send_text(user, f"Sent while the api is down ({user})")
        time.sleep(5)  # the bot has taken them and is retrying
    finally:
        stack.run("start", "api")
    stack.wait_healthy("api")

    for user in users:
        text = f"Sent while the api is down ({user})"
        wait_for_answer(stack, user, text, timeout=API_RETRY_S + 30)
    time.sleep(3)  # a duplicate would arrive now
    for user in users:
        text = f"Sent while the api is down ({user})"
        assert answers_to(stack.telegram, user, text) == 1, user
        assert dialog_of(stack, user)["message_count"] == 2
    # The bot rode it out: never restarted, healthy.
    restarts = subprocess.run(  # noqa: S603
        ["docker", "inspect", "--format", "{{.RestartCount}}", stack.container_id("bot")],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert restarts == "0"
    stack.wait_healthy("bot", timeout=10)
