"""The workflows editor in a real browser (headless Chromium via Playwright): a transition's
`when` checked as it is typed, a transition edited in its form and the diagram redrawn from
the saved YAML — no console error (a CSP violation would show there), no serious or
critical axe-core violation, a screenshot at 1280 px; a state renamed and its plan step shown,
and a publish refused when the plan changed after it was shown."""

from __future__ import annotations

import re

import pytest
from browser_support import StartUI

from portalis.engine import drafts
from portalis.engine.definition.yamledit import BundleEdit
from portalis.testing.web import app_state

pytestmark = pytest.mark.browser


def test_edit_a_transition_and_see_the_diagram_follow(builder_ui: StartUI) -> None:
    from playwright.sync_api import expect

    ui = builder_ui()
    page = ui.page
    ui.open_draft("workflows/")
    ui.assert_accessible()
    page.get_by_role("link", name="ticket_flow").click()
    diagram = page.get_by_role("img", name="Diagram of workflow ticket_flow")
    expect(diagram).to_be_visible()
    expect(diagram.locator("text", has_text="Start work")).to_have_count(1)
    ui.assert_accessible()
    ui.shot("builder-workflows-1280.png", full_page=False)

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
    ui.assert_accessible()
    assert ui.errors == []


def test_rename_a_state_and_publish_with_the_plan_bound_to_consent(builder_ui: StartUI) -> None:
    """The rename's plan step on the plan page, and the refusal when another version was
    published between showing the plan and publishing it."""
    from playwright.sync_api import expect

    ui = builder_ui(rights=("edit", "publish"))
    page = ui.page
    other = ui.draft("other")
    draft, root = ui.open_draft("workflows/ticket_flow", "rename")
    page.get_by_label("New name of open", exact=True).fill("submitted")
    page.get_by_label("New name of open", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"saved=2#states$"))

    page.goto(f"{root}/plan")
    step = page.locator(".builder-steps li", has_text="rename state open -> submitted")
    expect(step).to_contain_text("of ticket.status (")
    ui.assert_accessible()
    ui.shot("builder-plan-rename-1280.png")

    # meanwhile another version is published: the plan shown is no longer the plan
    engine, checker = ui.engine, app_state(ui.live.app).checker
    field = {"type": "string", "label": "Contract"}
    made = BundleEdit(drafts.revision_bundle(engine, other))
    made = made.set("entities.ticket.fields.contract_number", field).result()
    drafts.save(engine, other, 1, {p: made.files[p] for p in made.changed})
    drafts.publish(engine, checker, other, 2)
    page.get_by_role("button", name="Publish revision 2").click()
    expect(page.locator("#plan-error")).to_contain_text("The plan changed")
    ui.assert_accessible()
    ui.shot("builder-plan-changed-1280.png")
    assert ui.errors == []
