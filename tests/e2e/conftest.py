"""The console end to end: webapi (gunicorn, demo data, the fake LLM) and the console's
production build (Next.js standalone server) started here as local processes on 127.0.0.1,
driven by headless Chromium (Debian's package, through Playwright: no browser download).

`nox -s web` builds the console first; screenshots go to E2E_ARTIFACTS (default
frontend/test-results/e2e).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.doubles.fake_llm import FakeLLM
from tests.support import (
    ROOT,
    background_process,
    flask_cli,
    free_port,
    migrated_and_served,
    server_environment,
)

FRONTEND = ROOT / "frontend"
STANDALONE = FRONTEND / ".next" / "standalone"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = ("admin", "admin-password-1")
DEMO = ["--users", "120", "--messages", "6000", "--days", "40", "--seed", "5"]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 360, "height": 780}  # the narrowest phones in common use


@dataclass
class Stack:
    console_url: str
    api_url: str
    llm: FakeLLM
    artifacts: Path


def _wait_listening(url: str, server: object, log: Path) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=1, follow_redirects=False)
            return
        except httpx.TransportError:
            if getattr(server, "poll")() is not None:  # noqa: B009 (Popen)
                break
            import time

            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, fake_llm_server: FakeLLM) -> Iterator[Stack]:
    server_js = STANDALONE / "server.js"
    if not server_js.is_file():
        pytest.fail(
            "the console is not built: run `npm run build` in frontend/ (nox -s web does)",
            pytrace=False,
        )
    scratch = tmp_path_factory.mktemp("e2e")
    artifacts = Path(os.environ.get("E2E_ARTIFACTS", FRONTEND / "test-results" / "e2e"))
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    env = server_environment(
        f"sqlite:///{scratch / 'aidd.db'}",
        fake_llm_server.base_url,
        ADMIN_USERNAME=ADMIN[0],
        ADMIN_PASSWORD=ADMIN[1],
        APP_ENV="production",
        # Every test signs in afresh, more often than the production limit allows.
        LOGIN_RATE_LIMIT="1000 per minute",
        LOGIN_CLIENT_RATE_LIMIT="1000 per minute",
    )
    with migrated_and_served(env, scratch / "api.log") as (api_url, _):
        seeded = flask_cli(env, "seed-demo", *DEMO)
        assert seeded.returncode == 0, seeded.stderr
        port = free_port()
        console_env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/"),
            "NODE_ENV": "production",
            "NEXT_TELEMETRY_DISABLED": "1",
            "HOSTNAME": "127.0.0.1",
            "PORT": str(port),
            "API_URL": api_url,
        }
        log = scratch / "console.log"
        with background_process(["node", str(server_js)], console_env, log) as console:
            url = f"http://127.0.0.1:{port}"
            _wait_listening(url + "/login", console, log)
            yield Stack(url, api_url, fake_llm_server, artifacts)


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
