"""The help centre's search box in a real browser (headless Chromium), at phone and desktop
widths, for an anonymous visitor: typing a question finds the articles by stem, best first,
with the matched words highlighted, and a hit opens the article; no serious or critical
axe-core violation on the home page with its hits."""

from __future__ import annotations

import shutil
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

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

FOLDER = Path(__file__).parent.parent / "engine" / "portals" / "helpdesk"
WIDTHS = {"desktop": 1280, "phone": 375}
ARTICLES = """\
records:
  article:
    - {key: a1, title: Password reset, body: "Forgot it? Use the link on the sign-in page to reset your password; the link works for an hour."}
    - {key: a2, title: Invoices and refunds, body: "Refunds follow within 14 days. Resetting passwords is explained in its own article."}
    - {key: a3, title: Shipping times, body: "Parcels leave our warehouse within two working days."}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    folder = tmp_path / "helpdesk"
    shutil.copytree(FOLDER, folder)
    with (folder / "seed.yaml").open("a", encoding="utf-8") as seed:
        seed.write(ARTICLES)
    with live_server(folder, directory=tmp_path / "live") as live:
        yield live


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_anonymous_visitor_searches_the_help_centre(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path, width: int
) -> None:
    shots = screenshot_dir(tmp_path)
    with new_page(portalis_browser, viewport={"width": width, "height": 800}) as page:
        page.goto(server.url("/"))
        page.get_by_role("searchbox", name="Search the help centre").fill("resetting passwords")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        titles = page.locator(".search-hit-title a").all_inner_texts()
        assert titles == ["Password reset", "Invoices and refunds"]
        assert page.locator(".search-hit-snippet mark").count() >= 2
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / f"search-hits-{width}.png"), full_page=True)
        with page.expect_navigation():
            page.click(".search-hit-title a >> nth=0")
        assert "/articles/" in page.url and "Password reset" in page.locator("main").inner_text()
    assert server.errors == []
