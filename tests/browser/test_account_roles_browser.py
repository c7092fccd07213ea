"""An account administrator changes a user's role on the account's user page, in a real
browser (headless Chromium) at phone and desktop widths, and is refused — with the reason
next to the field, nothing changed — when she would demote the account's last administrator
(herself); no serious or critical axe-core violation on the pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from portalis.testing.browser import (
    LiveServer,
    axe_violations,
    live_server,
    new_page,
    screenshot_dir,
)
from portalis.testing.portals import BLUEPRINTS

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1280, "phone": 375}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(BLUEPRINTS / "b2c", directory=tmp_path_factory.mktemp("live")) as live:
        yield live


def _change(page: Page, name: str, role: str) -> None:
    """Pick `role` in `name`'s row with the keyboard and submit the row's form."""
    picker = page.get_by_label(f"Role of {name}")
    picker.select_option(label=role)
    with page.expect_navigation():
        picker.locator("xpath=ancestor::form").get_by_role("button", name="Change role").click()


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_account_admin_changes_a_role_and_cannot_remove_the_last_admin(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path, width: int
) -> None:
    shots = screenshot_dir(tmp_path)
    with new_page(portalis_browser, viewport={"width": width, "height": 900}) as page:
        server.login(page, "anna@acme.test", "correct horse 42", next_path="/account/users?lang=en")
        page.goto(server.url("/account/users?lang=en"))
        # the last administrator demoting herself: refused, the reason at her row's field
        _change(page, "Anna Berg", "Customer")
        error = page.get_by_role("alert").filter(has_text="without anyone who can manage")
        assert error.is_visible()
        assert page.get_by_label("Role of Anna Berg").get_attribute("aria-invalid") == "true"
        assert page.get_by_label("Role of Anna Berg").locator("option:checked").inner_text() == (
            "Account administrator"
        )
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / f"account-roles-refused-{width}.png"), full_page=True)

        # ben becomes an administrator: the notice says so and his row shows the new role
        _change(page, "Ben Ortiz", "Account administrator")
        assert (
            "Ben Ortiz now has the role Account administrator."
            in page.locator(".notice").inner_text()
        )
        picker = page.get_by_label("Role of Ben Ortiz")
        assert picker.locator("option:checked").inner_text() == "Account administrator"
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / f"account-roles-changed-{width}.png"), full_page=True)
        _change(page, "Ben Ortiz", "Customer")  # as it was, for the next width
        assert picker.locator("option:checked").inner_text() == "Customer"
    assert server.errors == []
