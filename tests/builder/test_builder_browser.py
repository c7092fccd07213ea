"""The builder's sign-in and start page in a real browser (headless Chromium via Playwright):
password, enrolment of the authenticator app from the QR page's key, recovery codes, the
start page and a portal's page — no console error (a CSP violation would show there), no
serious or critical axe-core violation, screenshots at 1280 px."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyotp
import pytest
from builder_support import PASSWORD, add_account

from portalis.testing.authenticator import code_at
from portalis.testing.browser import live_server, new_page, screenshot_dir
from portalis.testing.web import app_state

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

    from portalis.testing.browser import LiveServer

pytestmark = pytest.mark.browser

EMAIL = "builder@example.test"


def axe_violations(page: Page) -> list[str]:
    """The serious and critical axe-core violations of the page (rule and first target)."""
    from axe_playwright_python.sync_playwright import Axe

    results: dict[str, Any] = Axe().run(page).response
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target'] if v['nodes'] else ''}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_sign_in_and_start_page(portalis_browser: Browser, tmp_path: Path) -> None:
    with live_server(directory=tmp_path / "live") as live:
        add_account(app_state(live.app).engine, EMAIL)
        errors = _journey(portalis_browser, live, screenshot_dir(tmp_path))
    assert errors == []


def _journey(browser: Browser, live: LiveServer, shots: Path) -> list[str]:
    """Sign in, enrol, open the start page and the portal's page, sign out; the console's
    errors."""
    errors: list[str] = []
    with new_page(browser, viewport={"width": 1280, "height": 800}) as page:
        # the layout declares no icon, so Chromium probes /favicon.ico (404): not an error here
        page.on(
            "console",
            lambda m: (
                errors.append(f"{m.text} ({m.location.get('url')})")
                if m.type == "error" and not str(m.location.get("url")).endswith("/favicon.ico")
                else None
            ),
        )
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live.base_url}/_builder/")
        assert page.url.endswith("/_builder/login")
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / "builder-login-1280.png"), full_page=True)

        page.get_by_label("E-mail address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/_builder/login/code$"))
        assert page.locator(".builder-qr svg").is_visible()
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / "builder-enrol-1280.png"), full_page=True)
        secret = page.locator("[data-secret]").get_attribute("data-secret")
        assert secret
        code = pyotp.TOTP(secret).now()
        # the tests' own authenticator (RFC 6238 written out) agrees with pyotp
        assert code in {code_at(secret, int(time.time() // 30) + d) for d in (-1, 0, 1)}
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Verify").click()
        page.get_by_role("heading", name="Recovery codes").wait_for()
        assert page.locator(".builder-codes li").count() == 10
        page.get_by_role("link", name="Continue").click()

        page.wait_for_url(re.compile(r"/_builder/$"))
        row = page.locator(f"tr[data-portal='{live.slug}']")
        assert row.is_visible() and "Live" in row.inner_text()
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / "builder-start-1280.png"), full_page=True)

        row.get_by_role("link", name=live.slug).click()
        page.wait_for_url(re.compile(rf"/_builder/p/{live.slug}/$"))
        assert page.locator("tr[data-version='1']").is_visible()
        assert axe_violations(page) == []

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(re.compile(r"/_builder/login$"))
    return errors
