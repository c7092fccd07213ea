"""The roles editor and the permission matrix in a real browser (headless Chromium via
Playwright): let customers read a new field through the matrix's cell form, see the side
panel say so, add a role — no console error (a CSP violation would show there), no serious
or critical axe-core violation, screenshots at 1280 px and of the matrix at 1024 px."""

from __future__ import annotations

import re

import pytest
from browser_support import StartUI

from portalis.engine import drafts

pytestmark = pytest.mark.browser


def test_edit_a_cell_of_the_matrix_and_add_a_role(builder_ui: StartUI) -> None:
    ui = builder_ui()
    page, engine = ui.page, ui.engine
    draft, root = ui.open_draft("permissions")
    page.get_by_role("link", name="Edit customer on ticket").click()
    page.get_by_role("heading", name="What customer may do with ticket").wait_for()
    form = page.locator("#grant-form-0")
    form.get_by_label("priority").check()
    form.get_by_role("button", name="Save grant").click()
    page.wait_for_url(re.compile(r"saved=2"))
    panel = page.locator(".builder-role-words")
    assert "of their account, except assignee, priority" in panel.inner_text()
    ui.assert_accessible()
    ui.shot("builder-permission-cell-1280.png")

    page.goto(f"{root}/permissions")
    ui.assert_accessible()
    ui.shot("builder-permissions-1280.png", full_page=False)
    page.set_viewport_size({"width": 1024, "height": 800})
    wrap = page.locator(".builder-matrix-wrap")
    box = wrap.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1024  # scrolls inside
    ui.shot("builder-permissions-1024.png", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{root}/roles")
    page.get_by_label("Name", exact=True).fill("partner")
    page.get_by_role("button", name="Add role").click()
    page.wait_for_url(re.compile(r"saved=3#role-partner$"))
    assert page.locator("#role-partner").is_visible()
    page.goto(f"{root}/roles")
    ui.assert_accessible()
    ui.shot("builder-roles-1280.png", full_page=False)
    grants = drafts.revision_bundle(engine, draft).files["entities/ticket.yaml"]
    assert "scope: account, fields: {except: [assignee, priority]}}" in grants
    assert ui.errors == []
