"""The console end to end: webapi (gunicorn, demo data, the fake LLM) and the console's
production build (Next.js standalone server) started here as local processes on 127.0.0.1,
driven by headless Chromium (Debian's package, through Playwright: no browser download).

`nox -s web` builds the console first; screenshots go to E2E_ARTIFACTS (default
frontend/test-results/e2e). With E2E_CONSOLE_URL and E2E_LLM_URL set, the same tests drive a
stack started elsewhere instead (the stack tests point them at Compose).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.console_stack import (
    ADMIN,
    CHROMIUM,
    CHROMIUM_FLAGS,
    FRONTEND,
    NOT_BUILT,
    SERVER_JS,
    console_stack,
)
from tests.doubles.fake_llm import FakeLLM, FakeLLMControl

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 360, "height": 780}  # the narrowest phones in common use


@dataclass
class Stack:
    console_url: str
    api_url: str  # "" for a stack started elsewhere: the tests go through the console
    llm: FakeLLM | FakeLLMControl
    artifacts: Path


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    artifacts = Path(os.environ.get("E2E_ARTIFACTS", FRONTEND / "test-results" / "e2e"))
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    if external := os.environ.get("E2E_CONSOLE_URL"):
        # A stack started elsewhere (the stack tests, tests/integration: Compose) with the
        # same demo data and admin; its fake LLM is driven through its control API.
        yield Stack(external, "", FakeLLMControl(os.environ["E2E_LLM_URL"]), artifacts)
        return
    if not SERVER_JS.is_file():
        pytest.fail(NOT_BUILT, pytrace=False)
    fake_llm_server: FakeLLM = request.getfixturevalue("fake_llm_server")
    scratch = tmp_path_factory.mktemp("e2e")
    with console_stack(scratch, fake_llm_server.base_url) as started:
        yield Stack(started.console_url, started.api_url, fake_llm_server, artifacts)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, base_url=stack.console_url)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, credentials: tuple[str, str] = ADMIN) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(credentials[0])
    page.get_by_label("Password").fill(credentials[1])
    page.get_by_role("button", name="Sign in").click()


# Elements that reach past the screen's right edge (none, on a page that fits), described
# for the failure message: tag, classes and text.
_OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= window.innerWidth) return [];
    return [...document.querySelectorAll("body *")]
        .filter((node) => node.getBoundingClientRect().right > width + 0.5)
        .filter((node) => !node.closest("[data-radix-popper-content-wrapper]"))
        .slice(0, 8)
        .map((node) => `<${node.tagName.toLowerCase()} class="${node.className}">`
            + ` ${(node.textContent || "").trim().slice(0, 40)}`
            + ` right=${Math.round(node.getBoundingClientRect().right)}`);
}"""


def assert_fits_the_screen(page: Page) -> None:
    """The page is no wider than the viewport (a phone scrolls down, never sideways)."""
    overflowing = page.evaluate(_OVERFLOWING)
    assert not overflowing, "wider than the screen:\n" + "\n".join(overflowing)
