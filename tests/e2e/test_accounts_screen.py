"""Console accounts in a browser: an admin creates an account, resets its password and disables
it; the account changes its own password; a member sees no Accounts screen; screenshots in
light and dark, at a desktop's and a phone's width."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, Stack, assert_fits_the_screen, sign_in

TIMEOUT_MS = 20_000


def fresh_name() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def open_accounts(page: Page) -> None:
    sign_in(page)
    page.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("account-row").first).to_be_visible(timeout=TIMEOUT_MS)


def create_account(page: Page, username: str, password: str) -> None:
    page.get_by_role("button", name="New account").click()
    dialog = page.get_by_role("dialog", name="New account")
    dialog.get_by_label("Name").fill(username)
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Create account").click()


def row_of(page: Page, username: str):
    # By the name cell: a row's text holds its role too ("Admin"), which other names may match.
    return page.get_by_test_id("account-row").filter(has=page.locator(f'td[title="{username}"]'))


def account_action(page: Page, username: str, action: str) -> None:
    page.get_by_role("button", name=f"Actions for {username}", exact=True).click()
    page.get_by_role("menuitem", name=action).click()


def change_own_password(page: Page, current: str, new: str, again: str | None = None) -> None:
    page.get_by_role("button", name=re.compile(r"^Account: ")).click()
    page.get_by_role("menuitem", name="Change password").click()
    dialog = page.get_by_role("dialog", name="Change password")
    dialog.get_by_label("Current password").fill(current)
    dialog.get_by_label("New password", exact=True).fill(new)
    dialog.get_by_label("New password again").fill(again if again is not None else new)
    dialog.get_by_role("button", name="Change password").click()


def test_an_admin_creates_resets_and_disables_an_account(browser: Browser, stack: Stack) -> None:
    admin = browser.new_context(viewport=DESKTOP, base_url=stack.console_url).new_page()
    open_accounts(admin)
    expect(row_of(admin, "admin")).to_contain_text("(you)")

    name = fresh_name()
    create_account(admin, name, "first-password-1")
    expect(admin.get_by_role("status").filter(has_text=f"Account {name} created.")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(row_of(admin, name)).to_contain_text("Member")
    expect(row_of(admin, name)).to_contain_text("Active")

    # The same name again: said in the dialog, nothing else changes.
    create_account(admin, name, "first-password-1")
    dialog = admin.get_by_role("dialog", name="New account")
    expect(dialog.get_by_role("alert")).to_have_text("That name is taken.", timeout=TIMEOUT_MS)
    dialog.get_by_role("button", name="Cancel").click()
    expect(row_of(admin, name)).to_have_count(1)

    account_action(admin, name, "Reset password")
    dialog = admin.get_by_role("dialog", name=f"Reset the password of {name}")
    dialog.get_by_label("New password").fill("second-password-2")
    dialog.get_by_role("button", name="Reset password").click()
    expect(admin.get_by_role("status").filter(has_text="was reset")).to_be_visible(
        timeout=TIMEOUT_MS
    )

    member = browser.new_context(viewport=DESKTOP, base_url=stack.console_url).new_page()
    sign_in(member, (name, "second-password-2"))
    expect(member.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=TIMEOUT_MS)

    account_action(admin, name, "Disable")
    dialog = admin.get_by_role("dialog", name=f"Disable {name}?")
    dialog.get_by_role("button", name="Disable account").click()
    expect(row_of(admin, name)).to_contain_text("Disabled", timeout=TIMEOUT_MS)
    # Its session ended with it: the member's next page is the sign-in, which refuses it.
    member.reload()
    expect(member).to_have_url(re.compile(r"/login(\?|$)"), timeout=TIMEOUT_MS)
    sign_in(member, (name, "second-password-2"))
    expect(member.get_by_text("Wrong username or password.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(member).to_have_url(re.compile("/login"))

    account_action(admin, name, "Enable")
    expect(row_of(admin, name)).to_contain_text("Active", timeout=TIMEOUT_MS)
    # An admin cannot disable themselves: the menu does not offer it.
    admin.get_by_role("button", name="Actions for admin", exact=True).click()
    expect(admin.get_by_role("menuitem", name="Reset password")).to_be_visible()
    expect(admin.get_by_role("menuitem", name="Disable")).to_have_count(0)
    admin.context.close()
    member.context.close()


def test_a_member_changes_their_password_and_sees_no_accounts(
    browser: Browser, page: Page, stack: Stack
) -> None:
    name = fresh_name()
    open_accounts(page)
    create_account(page, name, "member-password-1")
    expect(row_of(page, name)).to_be_visible(timeout=TIMEOUT_MS)

    member = browser.new_context(viewport=DESKTOP, base_url=stack.console_url).new_page()
    sign_in(member, (name, "member-password-1"))
    expect(member.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=TIMEOUT_MS)
    expect(member.get_by_role("link", name="Accounts")).to_have_count(0)
    member.goto("/accounts")
    expect(member.get_by_role("heading", name="Page not found")).to_be_visible(timeout=TIMEOUT_MS)
    member.goto("/")

    change_own_password(member, "member-password-1", "member-password-2", "member-password-3")
    dialog = member.get_by_role("dialog", name="Change password")
    expect(dialog.get_by_role("alert")).to_have_text("The new passwords do not match.")
    dialog.get_by_label("Current password").fill("not-my-password")
    dialog.get_by_label("New password again").fill("member-password-2")
    dialog.get_by_role("button", name="Change password").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "The current password is wrong.", timeout=TIMEOUT_MS
    )
    dialog.get_by_label("Current password").fill("member-password-1")
    dialog.get_by_role("button", name="Change password").click()
    expect(dialog.get_by_role("status")).to_have_text("Password changed.", timeout=TIMEOUT_MS)
    dialog.get_by_role("button", name="Close").first.click()
    expect(dialog).to_have_count(0)

    # This session stays; a new one needs the new password.
    member.reload()
    expect(member.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=TIMEOUT_MS)
    fresh = browser.new_context(viewport=DESKTOP, base_url=stack.console_url).new_page()
    sign_in(fresh, (name, "member-password-1"))
    expect(fresh.get_by_text("Wrong username or password.")).to_be_visible(timeout=TIMEOUT_MS)
    sign_in(fresh, (name, "member-password-2"))
    expect(fresh.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=TIMEOUT_MS)
    member.context.close()
    fresh.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_screenshots_of_the_accounts_screen(
    browser: Browser, stack: Stack, scheme: str, width: str
) -> None:
    context = browser.new_context(
        viewport=DESKTOP if width == "desktop" else PHONE,
        base_url=stack.console_url,
        color_scheme=scheme,  # type: ignore[arg-type]
        timezone_id="UTC",
    )
    page = context.new_page()
    open_accounts(page)
    assert_fits_the_screen(page)
    page.screenshot(path=stack.artifacts / f"accounts-{scheme}-{width}.png", full_page=True)
    page.get_by_role("button", name="New account").click()
    expect(page.get_by_role("dialog", name="New account")).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => !document.querySelector('[role=dialog]').getAnimations({subtree: true}).length"
    )
    page.screenshot(path=stack.artifacts / f"new-account-{scheme}-{width}.png")
    context.close()
