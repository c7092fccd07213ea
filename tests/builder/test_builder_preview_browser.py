"""Draft preview and view-as in a real browser (headless Chromium via Playwright): the
preview of a draft as Ben (the b2c starter's customer) and the live portal viewed as Ben
with the "why?" panel open — no console error (a CSP violation would show there), no
serious or critical axe-core violation, screenshots at 1280 px."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyotp
import pytest
from builder_support import PASSWORD, add_account
from test_builder_browser import axe_violations

from portalis.engine.drafts import draft_from_live
from portalis.testing.browser import live_server, new_page, screenshot_dir
from portalis.testing.web import app_state

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

EMAIL = "publisher@example.test"


def _sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/_builder/login")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/_builder/login/code$"))
    secret = page.locator("[data-secret]").get_attribute("data-secret")
    assert secret
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(re.compile(r"/_builder/$"))


def test_preview_as_ben_and_view_as_ben_with_why(portalis_browser: Browser, tmp_path: Path) -> None:
    shots = screenshot_dir(tmp_path)
    errors: list[str] = []
    with live_server(directory=tmp_path / "live") as live:
        engine = app_state(live.app).engine
        add_account(engine, EMAIL, portals=(live.slug,), rights=("publish",))
        draft = draft_from_live(engine, live.slug, name="contract numbers")
        with new_page(portalis_browser, viewport={"width": 1280, "height": 800}) as page:
            page.on(
                "console",
                lambda m: (
                    errors.append(f"{m.text} ({m.location.get('url')})")
                    if m.type == "error" and not str(m.location.get("url")).endswith("/favicon.ico")
                    else None
                ),
            )
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, live.base_url)

            page.goto(f"{live.base_url}/_builder/p/{live.slug}/d/{draft.id}/preview/")
            assert axe_violations(page) == []
            page.get_by_label(re.compile("^Ben Ortiz")).check()
            page.get_by_role("button", name="Open the preview").click()
            page.wait_for_url(re.compile(rf"/preview/{live.slug}/$"))
            page.get_by_role("link", name="Tickets").first.click()
            page.wait_for_url(re.compile(rf"/preview/{live.slug}/tickets$"))
            banner = page.locator("[data-overlay='preview']")
            assert banner.inner_text() == f"Preview of draft {draft.id} revision 1 as Ben Ortiz"
            assert page.get_by_role("link", name="Cannot download my contract").is_visible()
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-preview-1280.png"), full_page=True)

            page.goto(f"{live.base_url}/_builder/p/{live.slug}/view-as")
            assert axe_violations(page) == []
            ben = page.locator("#f-user option", has_text="ben@acme.test").get_attribute("value")
            assert ben
            page.get_by_label("User").select_option(value=ben)
            page.get_by_role("button", name="View as this user").click()
            page.wait_for_url(re.compile(rf"/view-as/{live.slug}/$"))
            page.get_by_role("link", name="Tickets").first.click()
            page.locator(".builder-why summary").click()
            assert page.get_by_text(
                "hidden: field assignee excepted for customer"
            ).first.is_visible()
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-view-as-1280.png"), full_page=True)
            page.get_by_role("button", name="Stop").click()
            page.wait_for_url(re.compile(r"/view-as$"))
    assert errors == []
