"""Draft preview and view-as in a real browser (headless Chromium via Playwright): the
preview of a draft as Ben (the b2c starter's customer) and the live portal viewed as Ben
with the "why?" panel open — no console error (a CSP violation would show there), no
serious or critical axe-core violation, screenshots at 1280 px."""

from __future__ import annotations

import re

import pytest
from browser_support import StartUI

pytestmark = pytest.mark.browser


def test_preview_as_ben_and_view_as_ben_with_why(builder_ui: StartUI) -> None:
    ui = builder_ui("publisher@example.test", rights=("publish",))
    page, live = ui.page, ui.live
    draft = ui.draft("contract numbers")
    page.goto(f"{live.base_url}/_builder/p/{live.slug}/d/{draft}/preview/")
    ui.assert_accessible()
    page.get_by_label(re.compile("^Ben Ortiz")).check()
    page.get_by_role("button", name="Open the preview").click()
    page.wait_for_url(re.compile(rf"/preview/{live.slug}/$"))
    page.get_by_role("link", name="Tickets").first.click()
    page.wait_for_url(re.compile(rf"/preview/{live.slug}/tickets$"))
    banner = page.locator("[data-overlay='preview']")
    assert banner.inner_text() == f"Preview of draft {draft} revision 1 as Ben Ortiz"
    assert page.get_by_role("link", name="Cannot download my contract").is_visible()
    ui.assert_accessible()
    ui.shot("builder-preview-1280.png")

    page.goto(f"{live.base_url}/_builder/p/{live.slug}/view-as")
    ui.assert_accessible()
    ben = page.locator("#f-user option", has_text="ben@acme.test").get_attribute("value")
    assert ben
    page.get_by_label("User").select_option(value=ben)
    page.get_by_role("button", name="View as this user").click()
    page.wait_for_url(re.compile(rf"/view-as/{live.slug}/$"))
    page.get_by_role("link", name="Tickets").first.click()
    page.locator(".builder-why summary").click()
    assert page.get_by_text("hidden: field assignee excepted for customer").first.is_visible()
    ui.assert_accessible()
    ui.shot("builder-view-as-1280.png")
    page.get_by_role("button", name="Stop").click()
    page.wait_for_url(re.compile(r"/view-as$"))
    assert ui.errors == []
