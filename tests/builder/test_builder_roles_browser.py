"""The roles editor and the permission matrix in a real browser (headless Chromium via
Playwright): let customers read a new field through the matrix's cell form, see the side
panel say so, add a role — no console error (a CSP violation would show there), no serious
or critical axe-core violation, screenshots at 1280 px and of the matrix at 1024 px."""

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


def test_edit_a_cell_of_the_matrix_and_add_a_role(
    portalis_browser: Browser, tmp_path: Path
) -> None:
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

            page.goto(f"{root}/permissions")
            page.get_by_role("link", name="Edit customer on ticket").click()
            page.get_by_role("heading", name="What customer may do with ticket").wait_for()
            form = page.locator("#grant-form-0")
            form.get_by_label("priority").check()
            form.get_by_role("button", name="Save grant").click()
            page.wait_for_url(re.compile(r"saved=2"))
            panel = page.locator(".builder-role-words")
            assert "of their account, except assignee, priority" in panel.inner_text()
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-permission-cell-1280.png"), full_page=True)

            page.goto(f"{root}/permissions")
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-permissions-1280.png"), full_page=False)
            page.set_viewport_size({"width": 1024, "height": 800})
            wrap = page.locator(".builder-matrix-wrap")
            box = wrap.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 1024  # scrolls inside
            page.screenshot(path=str(shots / "builder-permissions-1024.png"), full_page=False)
            page.set_viewport_size({"width": 1280, "height": 900})

            page.goto(f"{root}/roles")
            page.get_by_label("Name", exact=True).fill("partner")
            page.get_by_role("button", name="Add role").click()
            page.wait_for_url(re.compile(r"saved=3#role-partner$"))
            assert page.locator("#role-partner").is_visible()
            page.goto(f"{root}/roles")
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-roles-1280.png"), full_page=False)
        grants = drafts.revision_bundle(engine, draft).files["entities/ticket.yaml"]
        assert "scope: account, fields: {except: [assignee, priority]}}" in grants
    assert errors == []
