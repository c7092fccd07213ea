"""The workflows editor in a real browser (headless Chromium via Playwright): a transition's
`when` checked as it is typed, a transition edited in its form and the diagram redrawn from
the saved YAML — no console error (a CSP violation would show there), no serious or
critical axe-core violation, a screenshot at 1280 px."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from builder_support import add_account
from test_builder_browser import axe_violations
from test_builder_editors_browser import EMAIL, _console, _sign_in

from portalis.engine import drafts
from portalis.engine.definition.yamledit import BundleEdit
from portalis.testing.browser import live_server, new_page, screenshot_dir
from portalis.testing.web import app_state

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_edit_a_transition_and_see_the_diagram_follow(
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

            page.goto(f"{root}/workflows/")
            assert axe_violations(page) == []
            page.get_by_role("link", name="ticket_flow").click()
            diagram = page.get_by_role("img", name="Diagram of workflow ticket_flow")
            expect(diagram).to_be_visible()
            expect(diagram.locator("text", has_text="Start work")).to_have_count(1)
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-workflows-1280.png"), full_page=False)

            section = page.locator("#transition-reopen")
            typed = section.get_by_label("Only when")
            typed.fill("record['nope'] == 1")
            section.get_by_text("which ticket does not have").wait_for()
            assert typed.get_attribute("aria-invalid") == "true"
            typed.fill("days_since(record['updated_at']) <= 14")
            expect(page.locator("#t3-when-check")).to_have_text("")

            start = page.locator("#transition-start")
            start.get_by_label("EN", exact=True).fill("Begin")
            start.get_by_label("To", exact=True).select_option("resolved")
            start.get_by_role("button", name="Save transition start").click()
            page.wait_for_url(re.compile(r"saved=2#transition-start$"))
            expect(diagram.locator("text", has_text="Begin")).to_have_count(1)
            expect(diagram.locator("text", has_text="Start work")).to_have_count(0)
            row = page.locator('tr[data-transition="start"]')
            expect(row).to_contain_text("resolved")
            assert axe_violations(page) == []
    assert errors == []


def test_rename_a_state_and_publish_with_the_plan_bound_to_consent(
    portalis_browser: Browser, tmp_path: Path
) -> None:
    """The rename's plan step on the plan page, and the refusal when another version was
    published between showing the plan and publishing it."""
    from playwright.sync_api import expect

    shots = screenshot_dir(tmp_path)
    errors: list[str] = []
    with live_server(directory=tmp_path / "live") as live:
        state = app_state(live.app)
        engine = state.engine
        add_account(engine, EMAIL, portals=(live.slug,), rights=("edit", "publish"))
        draft = drafts.draft_from_live(engine, live.slug, name="rename").id
        other = drafts.draft_from_live(engine, live.slug, name="other").id
        root = f"{live.base_url}/_builder/p/{live.slug}/d/{draft}"
        with new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as page:
            page.on("console", lambda m: _console(m, errors))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, live.base_url)
            page.goto(f"{root}/workflows/ticket_flow")
            page.get_by_label("New name of open", exact=True).fill("submitted")
            page.get_by_label("New name of open", exact=True).press("Enter")
            page.wait_for_url(re.compile(r"saved=2#states$"))

            page.goto(f"{root}/plan")
            step = page.locator(".builder-steps li", has_text="rename state open -> submitted")
            expect(step).to_contain_text("of ticket.status (")
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-plan-rename-1280.png"), full_page=True)

            # meanwhile another version is published: the plan shown is no longer the plan
            field = {"type": "string", "label": "Contract"}
            made = BundleEdit(drafts.revision_bundle(engine, other))
            made = made.set("entities.ticket.fields.contract_number", field).result()
            drafts.save(engine, other, 1, {p: made.files[p] for p in made.changed})
            drafts.publish(engine, state.checker, other, 2)
            page.get_by_role("button", name="Publish revision 2").click()
            expect(page.locator("#plan-error")).to_contain_text("The plan changed")
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-plan-changed-1280.png"), full_page=True)
    assert errors == []
