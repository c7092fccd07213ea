"""The builder's sign-in and start page in a real browser (headless Chromium via Playwright):
password, enrolment of the authenticator app from the QR page's key, recovery codes, the
start page and a portal's page — no console error (a CSP violation would show there), no
serious or critical axe-core violation, screenshots at 1280 px."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from browser_support import StartUI
from builder_support import PASSWORD

from portalis.testing.authenticator import code_at

pytestmark = pytest.mark.browser

EMAIL = "builder@example.test"


def test_sign_in_and_start_page(builder_ui: StartUI) -> None:
    ui = builder_ui(EMAIL, portals=("*",), signed_in=False, viewport={"width": 1280, "height": 800})
    page, live = ui.page, ui.live
    page.goto(f"{live.base_url}/_builder/")
    assert page.url.endswith("/_builder/login")
    ui.assert_accessible()
    ui.shot("builder-login-1280.png")

    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/_builder/login/code$"))
    assert page.locator(".builder-qr svg").is_visible()
    ui.assert_accessible()
    ui.shot("builder-enrol-1280.png")
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
    ui.assert_accessible()
    ui.shot("builder-start-1280.png")

    row.get_by_role("link", name=live.slug).click()
    page.wait_for_url(re.compile(rf"/_builder/p/{live.slug}/$"))
    assert page.locator("tr[data-version='1']").is_visible()
    ui.assert_accessible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/_builder/login$"))
    assert ui.errors == []
