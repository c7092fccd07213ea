"""Live fields (`stored: sql`) in a real browser (headless Chromium): the invoice list shows
the overdue flag and days late, its yes/no filter narrows the list to overdue invoices by
keyboard, the metric counts them; no serious or critical axe-core violation. Screenshots at
1280 and 375 px go to `screenshot_dir` (PORTALIS_SCREENSHOTS to look at them)."""

from __future__ import annotations

import datetime as dt
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
    screenshots,
)
from portalis.testing.portals import actor_for

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

FOLDER = Path(__file__).resolve().parents[1] / "engine" / "portals" / "live_fields"
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(FOLDER, directory=tmp_path / "live") as live:
        engine = live.app.extensions["portalis"].engine
        store = live.compiled.store(engine)
        clara = actor_for(engine, live.compiled, "clara@billing.test")
        for number, status, days in (("INV-7", "issued", -7), ("INV-2", "issued", 2)):
            due = TODAY + dt.timedelta(days=days)
            values = {"number": number, "status": status, "due": due, "net": "80.00"}
            store.insert(clara, "invoice", {**values, "rate": "0.190", "fee": "0"})
        yield live


def test_filter_invoices_by_a_live_overdue_flag(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    with new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as page:
        server.login(page, "clara@billing.test", "correct horse 42", next_path="/invoices")
        assert page.get_by_role("cell", name="INV-2").is_visible()
        assert axe_violations(page) == []
        screenshots(page, shots, "live-fields-list")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_label("Overdue", exact=True).select_option(label="Yes")
        page.get_by_role("button", name="Apply").focus()  # keyboard: Enter on Apply
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "overdue=" in page.url
        assert page.get_by_role("cell", name="INV-7").is_visible()
        assert page.get_by_role("cell", name="INV-2").count() == 0
        assert axe_violations(page) == []
        screenshots(page, shots, "live-fields-filtered")
