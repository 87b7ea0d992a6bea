"""The console in a browser: sign-in and its redirect, the dashboard's figures against the API,
switching the period, a dialog's transcript, and a screenshot of each screen in light and dark,
at a desktop's and a phone's width. The chat screen: test_chat_screen.py."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ADMIN, DESKTOP, PHONE, Stack, assert_fits_the_screen, sign_in

TIMEOUT_MS = 20_000
# The transcript's sheet has slid in (no animation left) and lies within the screen.
SETTLED_AND_INSIDE = """() => {
    const sheet = document.querySelector("[role=dialog]");
    if (!sheet || sheet.getAnimations({ subtree: true }).length) return false;
    const box = sheet.getBoundingClientRect();
    return box.left >= 0 && box.right <= window.innerWidth + 0.5;
}"""


def kpi_value(page: Page, label: str) -> str:
    card = page.locator("h3", has_text=re.compile(f"^{re.escape(label)}$")).locator("..")
    return card.locator("p").first.inner_text()


def overview(page: Page, period: str) -> dict[str, dict[str, float | None]]:
    """The overview as the API gives it to this browser's session."""
    response = page.request.get(f"/api/v1/stats/overview?period={period}&tz={quote('UTC')}")
    assert response.ok, response.text()
    found: dict[str, dict[str, float | None]] = response.json()
    return found


def test_a_signed_out_visit_goes_to_sign_in_and_back(page: Page, stack: Stack) -> None:
    page.goto("/chat")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fchat$"), timeout=TIMEOUT_MS)

    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible(timeout=TIMEOUT_MS)

    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(stack.console_url + "/chat", timeout=TIMEOUT_MS)


def test_the_dashboard_shows_the_seeded_figures_and_follows_the_period(
    browser: Browser, stack: Stack
) -> None:
    context = browser.new_context(
        viewport=DESKTOP, base_url=stack.console_url, timezone_id="UTC", locale="en-US"
    )
    page = context.new_page()
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=TIMEOUT_MS)

    week = overview(page, "week")
    expect(page.get_by_text(f"{int(week['dialogs']['value'] or 0):,}").first).to_be_visible(
        timeout=TIMEOUT_MS
    )
    assert kpi_value(page, "Dialogs") == f"{int(week['dialogs']['value'] or 0):,}"
    assert kpi_value(page, "User messages") == f"{int(week['user_messages']['value'] or 0):,}"

    page.get_by_text("30 days", exact=True).click()
    month = overview(page, "month")
    assert (month["dialogs"]["value"] or 0) > (week["dialogs"]["value"] or 0)
    expect(
        page.locator("h3", has_text=re.compile("^Dialogs$")).locator("..").locator("p").first
    ).to_have_text(f"{int(month['dialogs']['value'] or 0):,}", timeout=TIMEOUT_MS)
    context.close()


def test_a_dialog_opens_with_its_transcript(page: Page, stack: Stack) -> None:
    sign_in(page)
    opener = page.get_by_role("button", name=re.compile(r"^Open dialog #\d+")).first
    expect(opener).to_be_visible(timeout=TIMEOUT_MS)
    dialog_id = re.findall(r"#(\d+)", opener.get_attribute("aria-label") or "")[0]

    opener.click()

    sheet = page.get_by_role("dialog")
    expect(sheet.get_by_text(f"Dialog #{dialog_id}")).to_be_visible(timeout=TIMEOUT_MS)
    transcript = page.request.get(f"/api/v1/stats/dialogs/{dialog_id}").json()
    first = transcript["messages"][0]["content"]
    expect(sheet.get_by_text(first[:40], exact=False).first).to_be_visible(timeout=TIMEOUT_MS)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_screenshots_of_each_screen(
    browser: Browser, stack: Stack, scheme: str, width: str
) -> None:
    """Sign-in, dashboard and a transcript, as artifacts (E2E_ARTIFACTS)."""
    viewport = DESKTOP if width == "desktop" else PHONE
    context = browser.new_context(
        viewport=viewport,
        base_url=stack.console_url,
        color_scheme=scheme,  # type: ignore[arg-type]
        timezone_id="UTC",
    )
    page = context.new_page()
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
    page.screenshot(path=stack.artifacts / f"sign-in-{scheme}-{width}.png", full_page=True)

    sign_in(page)
    opener = page.get_by_role("button", name=re.compile(r"^Open dialog #\d+")).first
    expect(opener).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("[aria-busy='true']")).to_have_count(0, timeout=TIMEOUT_MS)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    dark = sum(int(part) for part in re.findall(r"\d+", background)[:3]) < 3 * 128
    assert dark == (scheme == "dark"), f"{scheme} shows a background of {background}"
    page.screenshot(path=stack.artifacts / f"dashboard-{scheme}-{width}.png", full_page=True)

    assert_fits_the_screen(page)
    opener.click()
    expect(page.get_by_role("dialog")).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_function(SETTLED_AND_INSIDE, timeout=TIMEOUT_MS)  # slid in, all of it shown
    page.screenshot(path=stack.artifacts / f"transcript-{scheme}-{width}.png")
    assert (stack.artifacts / f"transcript-{scheme}-{width}.png").stat().st_size > 10_000
    context.close()


def test_a_csv_downloads_and_after_the_session_ends_leads_to_sign_in(
    page: Page, stack: Stack
) -> None:
    sign_in(page)
    csv = page.get_by_role("link", name=re.compile("^Download .*activity.* CSV$", re.IGNORECASE))
    expect(csv).to_be_visible(timeout=TIMEOUT_MS)
    with page.expect_download(timeout=TIMEOUT_MS) as downloading:
        csv.click()
    download = downloading.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    header = download.path().read_text().splitlines()[0]
    assert header == "start,user_messages,assistant_messages,active_users", header

    # The session ends elsewhere (signed out in another tab): no 401 saved as a CSV file.
    signed_out = page.request.post(
        "/api/v1/auth/logout", data={}, headers={"Origin": stack.console_url}
    )
    assert signed_out.ok, signed_out.text()
    csv.click()
    expect(page).to_have_url(re.compile(r"/login(\?|$)"), timeout=TIMEOUT_MS)
