"""The entities and forms editors in a real browser (headless Chromium via Playwright): add
`contract_number` to tickets, see an expression checked as it is typed, drag the field into
the new-ticket form by its SortableJS handle and move it with the keyboard buttons — no
console error (a CSP violation would show there), no serious or critical axe-core
violation, screenshots of both editors at 1280 px."""

from __future__ import annotations

import re

import pytest
from browser_support import StartUI, add_and_drag, form_order

from portalis.engine import drafts

pytestmark = pytest.mark.browser


def test_add_a_field_and_place_it_in_a_form(builder_ui: StartUI) -> None:
    from playwright.sync_api import expect

    ui = builder_ui()
    page, engine = ui.page, ui.engine
    draft, root = ui.open_draft("entities/ticket")
    page.get_by_label("Name", exact=True).fill("contract_number")
    page.get_by_role("button", name="Add field").click()
    page.wait_for_url(re.compile(r"saved=2#field-contract_number$"))
    section = page.locator("#field-contract_number")
    assert section.is_visible() and "Saved as revision 2." in page.content()
    typed = section.get_by_label("Shown when")
    typed.fill("record['nope'] == 1")
    problem = page.locator("#contract_number-visible_when-check")
    problem.get_by_text("which ticket does not have").wait_for()
    assert typed.get_attribute("aria-invalid") == "true"
    typed.fill("record['status'] == 'open'")
    expect(problem).to_have_text("")
    ui.assert_accessible()
    ui.shot("builder-entity-editor-1280.png", full_page=False)

    page.goto(f"{root}/forms/new_ticket/0")
    dragged = add_and_drag(page, "contract_number", "body", saved=3)
    assert dragged.index("contract_number") == 1, dragged
    page.get_by_role("button", name="Move contract_number up").click()
    page.wait_for_url(re.compile(r"saved=5"))
    assert form_order(page)[:2] == ["contract_number", "subject"]
    page.goto(f"{root}/forms/new_ticket/0")  # from the top, without the anchor
    page.get_by_role("button", name="Move subject up").focus()
    ui.assert_accessible()
    ui.shot("builder-form-editor-1280.png")

    # someone else saves meanwhile: this page's next move meets the conflict page
    head = drafts.get_draft(engine, draft).head
    files = drafts.revision_bundle(engine, draft).files
    text = files["pages/tickets.yaml"].replace(
        "roles: [customer]\n", "roles: [customer, agent]\n", 1
    )
    drafts.save(engine, draft, head, {"pages/tickets.yaml": text})
    page.get_by_role("button", name="Move due up").click()
    page.get_by_role("heading", name="Someone saved this draft first").wait_for()
    ui.assert_accessible()
    ui.shot("builder-conflict-1280.png")
    page.get_by_role("button", name="Apply my change on top of the latest revision").click()
    page.wait_for_url(re.compile(r"saved=7"))
    assert form_order(page)[-3:] == ["due", "tags", "attachment"]
    new_form = drafts.revision_bundle(engine, draft).files["pages/tickets.yaml"]
    assert "fields: [contract_number, subject, body," in new_form
    assert ui.errors == []
