"""The calls calendar of the b2c blueprint in a real browser at 375 and 1280 px: the week view,
book a slot by its accessible name, see it marked as yours with its calendar file, cancel it —
no serious or critical axe-core violation and no console error (a CSP refusal would be one).
Screenshots: `screenshot_dir`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from portalis.testing.browser import (
    axe_violations,
    live_server,
    new_page,
    screenshot_dir,
)
from portalis.testing.portals import BLUEPRINTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

#: The week of the blueprint's seeded call slots.
WEEK = "/calls?week=2027-01-11"


def test_book_see_it_marked_and_cancel_at_375_and_1280(
    portalis_browser: Browser, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    with live_server(BLUEPRINTS / "b2c", directory=tmp_path / "live") as live:
        for width in (375, 1280):
            with new_page(
                portalis_browser, viewport={"width": width, "height": 900}, locale="en-GB"
            ) as page:
                errors: list[str] = []
                page.on("console", lambda m, seen=errors: seen.append(m.text)
                        if m.type == "error" and "favicon" not in str(m.location) else None)  # fmt: skip
                live.login(page, "ben@acme.test", "correct horse 44")
                page.goto(live.url(WEEK))
                assert page.get_by_text("Times in Europe/Berlin").is_visible()
                assert axe_violations(page) == []
                page.screenshot(path=str(shots / f"calendar-week-{width}.png"), full_page=True)
                book = page.get_by_role(
                    "button", name="Book Monday 11 January 10:00–10:30, 2 places left"
                )
                book.focus()
                with page.expect_navigation():
                    page.keyboard.press("Enter")  # keyboard operable
                assert page.get_by_text("Booked by you").is_visible()
                assert page.get_by_role("link", name="Add all your bookings").is_visible()
                assert page.locator('a[href$=".ics"]').count() >= 2  # the feed and the booking
                assert axe_violations(page) == []
                page.screenshot(path=str(shots / f"calendar-booked-{width}.png"), full_page=True)
                with page.expect_navigation():
                    page.get_by_role("button", name="Cancel: Billing questions").click()
                assert page.get_by_text("Booking cancelled.").is_visible()
                assert page.get_by_text("Booked by you").count() == 0
                assert errors == []
