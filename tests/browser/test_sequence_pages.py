"""Numbered invoices in a real browser (headless Chromium), at desktop and phone widths: a new
invoice gets the next number, which its page, the list and the edit form (read-only) show;
no serious or critical axe-core violation on those pages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from portalis.testing.browser import LiveServer, live_server, new_page, screenshot_dir

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

FOLDER = Path(__file__).parent.parent / "engine" / "portals" / "numbering"
WIDTHS = {"desktop": 1280, "phone": 375}


def serious_axe_violations(page: Page) -> list[str]:
    """The ids of the page's serious and critical axe-core violations."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [v["id"] for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    folder = tmp_path / "numbering"
    shutil.copytree(FOLDER, folder)
    with live_server(folder, directory=tmp_path / "live") as live:
        yield live


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_a_new_invoice_shows_its_number(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path, width: int
) -> None:
    shots = screenshot_dir(tmp_path)
    with new_page(portalis_browser, viewport={"width": width, "height": 800}) as page:
        server.login(page, "clara@numbering.test", "correct horse 42", next_path="/invoices/new")
        assert page.locator("input[name=number]").count() == 0
        page.fill("#b0-customer", "Initech")
        page.fill("#b0-amount", "250")
        with page.expect_navigation():
            page.click("form:has(#b0-customer) button[type=submit]")
        number = page.locator("main").inner_text()
        year = number.split("INV-", 1)[1][:4]
        assert f"INV-{year}-00003" in number  # after the two seeded invoices
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(shots / f"sequence-detail-{width}.png"), full_page=True)

        with page.expect_navigation():
            page.click("main a:has-text('Edit')")
        assert page.url.endswith("/edit") and page.locator("input[name=customer]").count() == 1
        assert page.locator("input[name=number]").count() == 0
        assert f"INV-{year}-00003" in page.locator("main").inner_text()
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(shots / f"sequence-edit-{width}.png"), full_page=True)

        page.goto(server.url("/invoices"))
        cells = page.locator("table tbody tr td:first-child").all_inner_texts()
        assert [c.strip() for c in cells] == [f"INV-{year}-0000{n}" for n in (3, 2, 1)]
        assert serious_axe_violations(page) == []
        page.screenshot(path=str(shots / f"sequence-list-{width}.png"), full_page=True)
    assert server.errors == []
