"""A consultant of two customers switches account in the header, in a real browser (headless
Chromium) at phone and desktop widths: the switcher is a labelled form operated with the
keyboard alone, the other account's tickets appear and the first account's are gone; no
serious or critical axe-core violation on the pages."""

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
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1280, "phone": 375}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(BLUEPRINTS / "b2c", directory=tmp_path_factory.mktemp("live")) as live:
        yield live


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_two_account_user_switches_and_sees_the_other_accounts_tickets(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path, width: int
) -> None:
    shots = screenshot_dir(tmp_path)
    with new_page(portalis_browser, viewport={"width": width, "height": 800}) as page:
        server.login(page, "lena@acme.test", "correct horse 46", next_path="/tickets")
        main = page.locator("main").inner_text()
        assert "Invoice 2026-114 is wrong" in main and "Change of delivery address" not in main
        switcher = page.get_by_label("Account")
        assert switcher.input_value() == switcher.locator("option", has_text="Acme").get_attribute(
            "value"
        )
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / f"account-switch-acme-{width}.png"), full_page=True)

        # keyboard only: focus the select, pick Globex, tab to the button and press Enter
        switcher.focus()
        page.keyboard.press("ArrowDown")
        assert switcher.locator("option:checked").inner_text() == "Globex Ltd"
        page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Globex Ltd" in page.locator(".notice").inner_text()
        page.goto(server.url("/tickets"))
        main = page.locator("main").inner_text()
        assert "Change of delivery address" in main and "Invoice 2026-114 is wrong" not in main
        assert page.get_by_label("Account").locator("option:checked").inner_text() == "Globex Ltd"
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / f"account-switch-globex-{width}.png"), full_page=True)
    assert server.errors == []
