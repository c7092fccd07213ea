"""The pages, navigation and theme editors in a real browser (headless Chromium via
Playwright): add a block, move a navigation entry, see the theme preview follow a typed
colour (custom properties set through the CSSOM, so the CSP stays strict) with the contrast
warning — no console error, no serious or critical axe-core violation, screenshots at
1280 px."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from builder_support import add_account
from test_builder_browser import axe_violations
from test_builder_editors_browser import EMAIL, _console, _sign_in

from portalis.engine import drafts
from portalis.testing.browser import live_server, new_page, screenshot_dir
from portalis.testing.web import app_state

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_pages_navigation_and_theme_in_the_browser(
    portalis_browser: Browser, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    shots = screenshot_dir(tmp_path)
    errors: list[str] = []
    with live_server(directory=tmp_path / "live") as live:
        engine = app_state(live.app).engine
        add_account(engine, EMAIL, portals=(live.slug,), rights=("edit",))
        draft = drafts.draft_from_live(engine, live.slug, name="work").id
        root = f"{live.base_url}/_builder/p/{live.slug}/d/{draft}"
        with new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as page:
            page.on("console", lambda m: _console(m, errors))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, live.base_url)

            page.goto(f"{root}/pages/ticket")
            page.get_by_label("Block type").select_option("markdown")
            page.get_by_role("button", name="Add block").click()
            page.wait_for_url(re.compile(r"saved=2#blocks-end$"))
            assert page.locator(".builder-block").count() == 4
            page.locator("#block-0 summary").click()
            expect(page.locator("#sf-b0-entity")).to_have_value("ticket")
            assert axe_violations(page) == []
            page.goto(f"{root}/pages/ticket")
            page.screenshot(path=str(shots / "builder-pages-editor-1280.png"), full_page=False)

            page.goto(f"{root}/navigation")
            page.get_by_role("button", name="Move tickets up").click()
            page.wait_for_url(re.compile(r"saved=3#nav-tickets$"))
            names = page.locator("#form-fields li").evaluate_all("e => e.map(l => l.dataset.name)")
            assert names[:2] == ["tickets", "home"]
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-navigation-editor-1280.png"))

            page.goto(f"{root}/theme")
            preview = page.locator("#theme-preview")
            primary = "e => getComputedStyle(e).getPropertyValue('--p-primary').trim()"
            assert preview.evaluate(primary) == "#0b5fff"
            # checked with the portal's theme: a low-contrast colour typed next is the
            # user's choice, which the editor's own warning reports
            assert axe_violations(page) == []
            page.get_by_label("Primary color", exact=True).fill("#88bbff")
            assert preview.evaluate(primary) == "#88bbff"
            expect(page.locator("#contrast-warnings")).to_contain_text("WCAG AA needs 4.5:1")
            assert page.locator("#sf-theme-primary_color-picker").input_value() == "#88bbff"
            page.screenshot(path=str(shots / "builder-theme-editor-1280.png"), full_page=True)
            page.get_by_role("button", name="Save theme").click()
            page.wait_for_url(re.compile(r"saved=4$"))
            assert preview.evaluate(primary) == "#88bbff"  # the saved theme, without script
    assert errors == []
