"""The whole stack, reached only where this machine reaches it (Compose: published ports; local
processes: 127.0.0.1): health, a Telegram user's conversation end to end into the dashboard's
figures, the console's browser tests, restarts, a crash mid-answer, and the bot riding out an
api outage. The same tests in both modes: the handle (stack_handle.py) says how each is done."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

from tests.doubles.fake_llm import Stall
from tests.integration.stack_handle import (
    API_RETRY_S,
    INTEGRITY_CHECK,
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
    for name in (*STACK_SERVICES, "fake-llm", "fake-telegram"):
        states = stack.states(name)
        assert states, f"no {name}"
        for state in states:
            assert state.state == "running", state
            assert state.health == "healthy", state
    exit_code, output = stack.migration()
    assert exit_code == 0, output
    assert "is at revision" in output


def test_services_run_as_non_root(stack: Stack) -> None:
    for service in STACK_SERVICES:
        assert stack.user_id(service) != 0, service


def test_only_the_console_is_reachable_and_only_on_loopback(stack: Stack) -> None:
    console = urlsplit(stack.console_url)
    assert stack.host_addresses("frontend") == [f"127.0.0.1:{console.port}"]
    assert stack.host_addresses("bot") == []
    # Compose: not published at all; local processes: on its loopback bind, for the console.
    assert stack.host_addresses("api") == stack.api_addresses


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
    stack.restart(*STACK_SERVICES)

    assert overview(stack)["user_messages"]["value"] == before["user_messages"]["value"]
    assert dialog_of(stack, user)["message_count"] == 2
    # Where the data lives (what the postgres stack's test finds none of).
    assert stack.sqlite_databases(1) == ["aidd.db"]
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
    assert stack.api_python("-c", INTEGRITY_CHECK).strip() == "ok"

    stack.llm.reset()
    ask_in_telegram(stack, user, "Does it work again?")


def test_the_bot_answers_what_was_sent_while_the_api_was_down(stack: Stack) -> None:
    users = [710_011, 710_012, 710_013]
    bot = stack.main_pid("bot")
    stack.stop("api")
    try:
        for user in users:
            stack.telegram.send_text(user, f"Sent while the api is down ({user})")
        time.sleep(5)  # the bot has taken them and is retrying
    finally:
        stack.start("api")
    stack.wait_healthy("api")

    for user in users:
        text = f"Sent while the api is down ({user})"
        wait_for_answer(stack, user, text, timeout=API_RETRY_S + 30)
    time.sleep(3)  # a duplicate would arrive now
    for user in users:
        text = f"Sent while the api is down ({user})"
        assert answers_to(stack.telegram, user, text) == 1, user
        assert dialog_of(stack, user)["message_count"] == 2
    # The bot rode it out: the same process all along (a restart is a new one), healthy.
    assert stack.main_pid("bot") == bot
    stack.wait_healthy("bot", timeout=10)
