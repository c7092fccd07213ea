"""Bulk actions in a real browser (headless Chromium, the b2c blueprint): an agent ticks two
tickets, "select all" checks and clears the page, the action bar starts work on both — one is
done, the other refused with the reason — and the list and the result page have no serious or
critical axe-core violation at 1280 and 375 px. Screenshots go to `screenshot_dir`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from portalis.testing.browser import (
    LiveServer,
    axe_violations,
    new_page,
    screenshot_dir,
    screenshots,
)

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_an_agent_starts_two_tickets_at_once(
    starter_server: LiveServer, portalis_browser: Browser, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    for width, height in ((1280, 900), (375, 812)):
        with new_page(portalis_browser, viewport={"width": width, "height": height}) as page:
            starter_server.login(page, "sam@support.test", "correct horse 43", next_path="/tickets")
            select_all = page.get_by_role("checkbox", name="Select all on this page")
            assert axe_violations(page) == []
            if width == 1280:
                # the script shows "select all": it checks and clears every row of the page
                assert select_all.is_visible()
                select_all.check()
                assert page.get_by_text("4 selected").is_visible()
                select_all.uncheck()
            page.get_by_role("checkbox", name="Select Invoice 2026-114 is wrong").check()
            page.get_by_role("checkbox", name="Select Outage in the order portal").check()
            if width == 1280:
                assert page.get_by_text("2 selected").is_visible()
                screenshots(page, shots, "bulk-list")
            page.get_by_label("With the selected rows").select_option(label="Start work")
            apply = page.get_by_role("button", name="Apply to selected")
            apply.focus()  # keyboard-usable: Enter on the focused button posts the form
            with page.expect_navigation():
                page.keyboard.press("Enter")
            summary = page.locator(".bulk-summary")
            if width == 1280:
                assert summary.inner_text().startswith("1 row done, 1 row refused")
                refused = page.locator("[data-bulk-refused]").inner_text()
                assert "Outage in the order portal" in refused
                assert "current state" in refused
                screenshots(page, shots, "bulk-result")
            else:  # the first round started the invoice ticket: now both are refused
                assert summary.inner_text().startswith("0 rows done, 2 rows refused")
            assert axe_violations(page) == []
            page.get_by_role("link", name="Back to the list").click()
            assert "/tickets" in page.url
