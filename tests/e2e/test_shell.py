"""The console's frame in a browser: the language switch, the theme toggle, and getting around
by keyboard alone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN, Stack, sign_in

TIMEOUT_MS = 20_000


def test_the_language_switch_renders_every_screen_in_russian_and_back(
    page: Page, stack: Stack
) -> None:
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Language: English").click()
    page.get_by_role("menuitemradio", name="Русский").click()
    expect(page.get_by_role("heading", name="Дашборд")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    # The choice stays (a cookie), on this screen and the next.
    page.get_by_role("link", name="Чат", exact=True).click()
    expect(page.get_by_role("button", name="Новый диалог").first).to_be_visible(timeout=TIMEOUT_MS)
    page.reload()
    expect(page.get_by_role("link", name="Дашборд", exact=True)).to_be_visible(timeout=TIMEOUT_MS)

    page.get_by_role("button", name="Язык: Русский").click()
    page.get_by_role("menuitemradio", name="English").click()
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_theme_toggle_switches_and_keeps_the_choice(page: Page, stack: Stack) -> None:
    sign_in(page)
    html = page.locator("html")
    for choice, scheme in (("Dark", "dark"), ("Light", "light")):
        page.get_by_role("button", name="Theme").click()
        page.get_by_role("menuitemradio", name=choice).click()
        expect(html).to_have_class(re.compile(rf"\b{scheme}\b"), timeout=TIMEOUT_MS)
        page.reload()
        expect(html).to_have_class(re.compile(rf"\b{scheme}\b"), timeout=TIMEOUT_MS)


def test_sign_in_and_the_header_work_by_keyboard_alone(page: Page, stack: Stack) -> None:
    page.goto("/login")
    username = page.get_by_label("Username")
    expect(username).to_be_focused(timeout=TIMEOUT_MS)
    page.keyboard.type(ADMIN[0])
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(ADMIN[1])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=TIMEOUT_MS)

    # The first Tab reaches the skip link, which moves the focus past the header.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    # Then the header's controls, in order, each with a name; Enter opens a menu.
    names = []
    for _ in range(8):
        page.keyboard.press("Tab")
        names.append(
            page.evaluate(
                "() => document.activeElement.getAttribute('aria-label')"
                " || document.activeElement.textContent.trim()"
            )
        )
    assert names[1:4] == ["Dashboard", "Chat", "Accounts"], names  # after the home link
    assert "Theme" in names, names
    assert "Language: English" in names, names
    assert any(name.startswith("Account: ") for name in names), names
    page.get_by_role("button", name="Theme").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitemradio", name="Dark")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("menu")).to_have_count(0)
    expect(page.get_by_role("button", name="Theme")).to_be_focused()
