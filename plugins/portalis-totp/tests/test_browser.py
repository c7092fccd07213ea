"""The enrolment page in a real Chromium: the QR code renders at 1280 and 375 px wide, and an
agent finishes the forced enrolment with a code from pyotp. Screenshots go to /tmp/shots."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyotp
from totp_support import PASSWORDS, definition

from portalis.testing.browser import (
    LiveServer,
    browser_unavailable,
    live_server,
    new_page,
    screenshot_dir,
)
from portalis.testing.pytest_plugin import require_service

if TYPE_CHECKING:  # Playwright may be missing: the test then skips (fails in CI)
    from playwright.sync_api import Browser, Page


def open_enrolment(live: LiveServer, page: Page, width: int, shots: Path) -> None:
    """Sign sam (agent) in and check the QR code of the forced enrolment fits the screen."""
    live.login(page, "sam@support.test", PASSWORDS["sam@support.test"])
    assert page.url.endswith("/profile/two-factor")
    qr = page.locator("svg.segno")
    qr.wait_for(state="visible")
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150 and box["x"] >= 0
    assert box["x"] + box["width"] <= width
    page.screenshot(path=str(shots / f"totp-enrol-{width}.png"), full_page=True)


def test_forced_enrolment_in_chromium(tmp_path: Path, portalis_browser: Browser) -> None:
    require_service(browser_unavailable())
    shots, b = screenshot_dir(tmp_path), portalis_browser
    with live_server(definition(tmp_path), directory=tmp_path / "live") as live:
        with new_page(b, viewport={"width": 1280, "height": 900}) as page:
            open_enrolment(live, page, 1280, shots)
        with new_page(b, viewport={"width": 375, "height": 800}) as page:
            open_enrolment(live, page, 375, shots)
            secret = page.locator(".totp-secret").inner_text().replace(" ", "")
            page.fill("input[name=code]", pyotp.TOTP(secret).now())
            page.click("form[action$='/profile/two-factor'] button[type=submit]")
            codes = page.locator(".totp-recovery-codes li")
            codes.first.wait_for(state="visible")
            assert codes.count() == 10
            page.screenshot(path=str(shots / "totp-codes-375.png"), full_page=True)
            page.click("form[action$='/profile/two-factor/continue'] button")
            page.wait_for_load_state()
            page.goto(live.url("/profile/two-factor"))
            assert "cannot be turned off" in page.content()
            page.screenshot(path=str(shots / "totp-status-375.png"), full_page=True)
        assert live.errors == []
