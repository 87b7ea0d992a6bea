"""The console's chat in a browser: an Assistant answer streamed, an Insights answer (SQL, rows,
chart, summary), a dialog reopened from the side list after a reload, an answer stopped midway
and the next question answered, and screenshots in light and dark, at a desktop's and a phone's
width.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.doubles.fake_llm import Reply, Stall
from tests.e2e.conftest import DESKTOP, PHONE, Stack, assert_fits_the_screen, sign_in

TIMEOUT_MS = 20_000
PLAN = {
    "sql": "SELECT channel, COUNT(*) AS dialogs FROM dialogs GROUP BY channel ORDER BY channel",
    "chart": {"kind": "bar", "x": "channel", "y": ["dialogs"]},
}


@pytest.fixture(autouse=True)
def quiet_llm(stack: Stack) -> Iterator[None]:
    stack.llm.reset()
    yield
    stack.llm.reset()


def open_chat(page: Page) -> None:
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=TIMEOUT_MS)
    page.goto("/chat")
    expect(page.get_by_role("heading", name="New dialog")).to_be_visible(timeout=TIMEOUT_MS)


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    expect(box).to_be_enabled(timeout=TIMEOUT_MS)
    box.fill(question)
    box.press("Enter")


def ask_insights(page: Page, question: str, summary: str) -> None:
    page.get_by_role("radio", name="Insights").click()
    expect(page.get_by_text("How many dialogs were there per channel?")).to_be_visible()
    ask(page, question)


def expect_insights_answer(page: Page, summary: str) -> None:
    answer = page.get_by_test_id("answer").last
    expect(answer.get_by_test_id("sql-block")).to_contain_text(
        "GROUP BY channel", timeout=TIMEOUT_MS
    )
    expect(answer.get_by_role("button", name="Copy the SQL")).to_be_visible()
    table = answer.get_by_role("table")
    expect(table.get_by_role("columnheader", name="channel")).to_be_visible()
    expect(table.get_by_role("columnheader", name="dialogs")).to_be_visible()
    expect(table.get_by_role("cell", name="telegram")).to_be_visible()
    expect(answer.get_by_role("img", name="Chart of dialogs by channel")).to_be_visible()
    expect(answer.locator(".recharts-bar-rectangle").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(answer).to_contain_text(summary, timeout=TIMEOUT_MS)
    expect(answer).to_have_attribute("aria-busy", "false", timeout=TIMEOUT_MS)


def test_an_assistant_answer_streams_in(page: Page, stack: Stack) -> None:
    open_chat(page)
    expect(page.get_by_text("What can you help me with?")).to_be_visible()
    stack.llm.script(
        Reply(
            "Hello from the **fake** model, [docs](https://example.com).",
            chunk_size=4,
            delay_between_chunks_s=0.05,
        )
    )
    ask(page, "Say hello")

    expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=TIMEOUT_MS)
    answer = page.get_by_test_id("answer").last
    expect(answer).to_contain_text("Hello from the fake model", timeout=TIMEOUT_MS)
    expect(answer.locator("strong")).to_have_text("fake")
    link = answer.get_by_role("link", name="docs")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noreferrer noopener")
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"/chat\?dialog=\d+$"))
    expect(page.get_by_role("heading", name="Say hello")).to_be_visible(timeout=TIMEOUT_MS)


def test_an_insights_answer_shows_sql_rows_chart_and_summary_and_reopens(
    page: Page, stack: Stack
) -> None:
    open_chat(page)
    summary = "Telegram carries most of the dialogs."
    stack.llm.script(Reply(json.dumps(PLAN)), Reply(summary))
    ask_insights(page, "How many dialogs per channel?", summary)
    expect_insights_answer(page, summary)
    expect(page).to_have_url(re.compile(r"/chat\?dialog=\d+$"), timeout=TIMEOUT_MS)
    dialog_url = page.url

    # Elsewhere, then back through the side list after a reload.
    page.get_by_role("button", name="New dialog").first.click()
    expect(page).to_have_url(re.compile(r"/chat$"), timeout=TIMEOUT_MS)
    page.reload()
    listed = page.get_by_role("complementary").get_by_role(
        "button", name=re.compile(r"^How many dialogs per channel\?")
    )
    expect(listed.first).to_be_visible(timeout=TIMEOUT_MS)
    expect(listed.first).to_contain_text("Insights")
    expect(listed.first).to_contain_text("2 messages")
    listed.first.click()
    expect(page).to_have_url(dialog_url, timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("question")).to_have_text(["How many dialogs per channel?"])
    expect_insights_answer(page, summary)

    page.reload()
    expect_insights_answer(page, summary)


def test_an_answer_stopped_midway_and_the_next_question_answered(page: Page, stack: Stack) -> None:
    open_chat(page)
    stack.llm.script(
        Stall(after_chunks=3, seconds=8, text="One two three four five six seven eight nine ten"),
        Reply("The next answer arrived."),
    )
    ask(page, "Count slowly")
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible(timeout=TIMEOUT_MS)
    answer = page.get_by_test_id("answer").last
    expect(answer).to_contain_text("One", timeout=TIMEOUT_MS)
    stop.click()

    expect(answer.get_by_text("Stopped.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(answer).not_to_contain_text("ten")
    expect(page.get_by_role("button", name="Send")).to_be_visible()

    ask(page, "And now?")
    expect(page.get_by_test_id("answer").last).to_contain_text(
        "The next answer arrived.", timeout=TIMEOUT_MS
    )
    expect(page.get_by_test_id("answer").first.get_by_text("Stopped.")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_screenshots_of_the_chat(browser: Browser, stack: Stack, scheme: str, width: str) -> None:
    """An empty dialog, an Insights answer and the phone's dialog list, as artifacts."""
    context = browser.new_context(
        viewport=DESKTOP if width == "desktop" else PHONE,
        base_url=stack.console_url,
        color_scheme=scheme,  # type: ignore[arg-type]
        timezone_id="UTC",
    )
    page = context.new_page()
    open_chat(page)
    expect(page.get_by_label("Role")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(".animate-pulse")).to_have_count(0, timeout=TIMEOUT_MS)
    page.screenshot(path=stack.artifacts / f"chat-new-{scheme}-{width}.png", full_page=True)

    summary = "Telegram carries **most** of the dialogs; the web has the rest."
    stack.llm.script(Reply(json.dumps(PLAN)), Reply(summary))
    ask_insights(page, "How many dialogs per channel?", summary)
    expect_insights_answer(page, "Telegram carries most of the dialogs")
    assert_fits_the_screen(page)
    # The composer stays at the bottom of the screen: the screen as the reader sees it.
    page.screenshot(path=stack.artifacts / f"chat-insights-{scheme}-{width}.png")

    if width == "phone":
        page.get_by_role("button", name="Show dialogs").click()
        sheet = page.get_by_role("dialog")
        expect(sheet.get_by_role("button", name="New dialog")).to_be_visible(timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => !document.querySelector('[role=dialog]').getAnimations({subtree: true}).length"
        )
        page.screenshot(path=stack.artifacts / f"chat-list-{scheme}-{width}.png")
    context.close()
