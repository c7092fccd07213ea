"""A business admin's whole journey through the builder in a real browser (headless Chromium
via Playwright), against the served app: fork the b2c blueprint into a new portal and
publish it, start a draft, add `contract_number` to tickets, drag it into the new-ticket
form, let customers change it in the permission matrix, preview the draft as Ben, publish;
Ben (in a browser of his own) files a ticket with a contract number on the live portal; the
admin views that ticket as Ben with the "why?" panel, rolls back to the first version, and
the field is gone for Ben again. Every builder page visited passes axe-core (no serious or
critical violation), no console error; screenshots at 1280 px."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from browser_support import BuilderUI, StartUI, add_and_drag

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SLUG = "acme-contracts"
#: Ben, a customer of Acme, from the blueprint's seed data (blueprints/b2c/seed/demo.yaml).
BEN = ("ben@acme.test", "correct horse 44")
CONTRACT = "CN-2026-0042"


def _ok(ui: BuilderUI, url: str, shot: str | None = None) -> None:
    """The builder page reached `url` (a pattern), passes axe-core, and is shot."""
    ui.page.wait_for_url(re.compile(url))
    ui.assert_accessible()
    if shot:
        ui.shot(shot)


def _open_editor(ui: BuilderUI, editor: str, folder: str, item: str) -> None:
    """From the draft's overview: the editor's list, then one of its items."""
    ui.page.get_by_role("link", name=editor).click()
    _ok(ui, rf"/{folder}/$")
    ui.page.get_by_role("link", name=item, exact=True).click()
    _ok(ui, rf"/{folder}/{item}$")


def _fork_and_publish(ui: BuilderUI) -> None:
    """New portal from the b2c blueprint, published unchanged (with its seed data) as
    version 1."""
    page = ui.page
    page.get_by_role("link", name="New portal").click()
    _ok(ui, r"/_builder/new$", "journey-00-new-portal-1280.png")
    form = page.locator("form:has(input[name=source][value=blueprint])")
    form.get_by_label("Blueprint").select_option("b2c")
    form.get_by_label("Portal slug").fill(SLUG)
    form.get_by_label("Name of the first draft").fill("Fork of b2c")
    form.get_by_role("button", name="Create draft").click()
    _ok(ui, rf"/_builder/p/{SLUG}/d/\d+/$")
    page.get_by_role("link", name="Plan and publish").click()
    _ok(ui, r"/plan$")
    page.get_by_label("Note for the version history").fill("b2c as it comes")
    page.get_by_label(re.compile("^Load the seed data")).check()  # Ben and his account
    ui.shot("journey-01-plan-new-portal-1280.png")
    page.get_by_role("button", name="Publish revision 1").click()
    _ok(ui, rf"/_builder/p/{SLUG}/$")
    assert "Live" in page.locator("tr[data-version='1']").inner_text()


def _start_draft(ui: BuilderUI) -> str:
    """A draft of the live version; its overview's URL."""
    page = ui.page
    card = page.get_by_role("region", name="New draft from the live version")
    card.get_by_label("Name").fill("Contract numbers")
    card.get_by_role("button", name="Start draft").click()
    _ok(ui, rf"/_builder/p/{SLUG}/d/\d+/$")
    return page.url


def _add_field(ui: BuilderUI, draft: str) -> None:
    """`contract_number` (text) on tickets, through the entities editor."""
    page = ui.page
    _open_editor(ui, "Entities and fields", "entities", "ticket")
    page.get_by_label("Name", exact=True).fill("contract_number")
    page.locator("#new-field-type").select_option("text")
    page.get_by_role("button", name="Add field").click()
    page.wait_for_url(re.compile(r"saved=2#field-contract_number$"))
    # labelled after its name in the default locale: "Contract number"
    assert page.locator("#contract_number-label-en").input_value() == "Contract number"
    page.goto(draft)


def _place_in_form(ui: BuilderUI, draft: str) -> None:
    """The new field into the new-ticket form, dragged to follow the subject."""
    page = ui.page
    _open_editor(ui, "Pages and blocks", "pages", "new_ticket")
    page.locator(".builder-block summary").first.click()
    page.get_by_role("link", name="Order the form's fields").click()
    _ok(ui, r"/forms/new_ticket/0$")
    # a real drag by the SortableJS handle, onto the second field's place
    order = add_and_drag(page, "contract_number", "body", saved=3)
    assert order[:3] == ["subject", "contract_number", "body"], order
    ui.shot("journey-02-form-editor-1280.png")
    page.goto(draft)


def _let_customers_change_it(ui: BuilderUI, draft: str) -> None:
    """Customers read and create every ticket field but the assignee already; the matrix
    lets them also correct the contract number on their own tickets."""
    page = ui.page
    page.get_by_role("link", name="Permissions").click()
    _ok(ui, r"/permissions$")
    page.get_by_role("link", name="Edit customer on ticket").click()
    page.get_by_role("heading", name="What customer may do with ticket").wait_for()
    # grant #1 (read, create) excepts the assignee only: the new field is not ticked there
    assert not page.locator("#grant-form-0").get_by_label("contract_number").is_checked()
    form = page.locator("#grant-form-1")  # grant #2: update, only the fields ticked
    form.get_by_label("contract_number").check()
    form.get_by_role("button", name="Save grant").click()
    page.wait_for_url(re.compile(r"saved=5"))
    ui.assert_accessible()
    customer = page.locator(".builder-role-summary[data-role='customer']").inner_text()
    assert "of their account, except assignee" in customer  # read and create: the field too
    assert "only attachment, body, contract_number, due" in customer, customer  # update
    page.get_by_label("Breadcrumb").get_by_role("link", name="Permissions").click()
    _ok(ui, r"/permissions$")
    cell = page.locator("td", has=page.get_by_role("link", name="Edit customer on ticket"))
    assert "contract_number" in cell.inner_text(), cell.inner_text()
    panel = page.locator(".builder-role-summary[data-role='customer']").inner_text()
    assert "only attachment, body, contract_number, due" in panel, panel
    ui.shot("journey-03-permissions-1280.png")
    page.goto(draft)


def _preview_as_ben(ui: BuilderUI, draft: str) -> None:
    """The draft's new-ticket form previewed as Ben shows the field."""
    page = ui.page
    ui.assert_accessible()
    ui.shot("builder-draft-1280.png")
    page.get_by_role("link", name="Preview").click()
    _ok(ui, r"/preview/$")
    page.get_by_label(re.compile("^Ben Ortiz")).check()
    page.get_by_role("button", name="Open the preview").click()
    page.wait_for_url(re.compile(rf"/preview/{SLUG}/$"))
    page.get_by_role("link", name="New ticket").first.click()
    page.wait_for_url(re.compile(rf"/preview/{SLUG}/tickets/new$"))
    assert "as Ben Ortiz" in page.locator("[data-overlay='preview']").inner_text()
    assert page.get_by_label("Contract number").is_visible()
    ui.assert_accessible()
    ui.shot("journey-04-preview-1280.png")
    page.goto(draft)


def _publish(ui: BuilderUI) -> None:
    page = ui.page
    page.get_by_role("link", name="Plan and publish").click()
    _ok(ui, r"/plan$")
    for box in page.locator("input[name=consent]").all():
        box.check()
    page.get_by_label("Note for the version history").fill("contract numbers on tickets")
    page.get_by_role("button", name=re.compile(r"^Publish revision \d+$")).click()
    _ok(ui, rf"/_builder/p/{SLUG}/$", "builder-portal-1280.png")
    assert "Live" in page.locator("tr[data-version='2']").inner_text()
    published = page.locator("tr[data-draft] [data-published]").all_inner_texts()
    assert published == ["revision 1 published as version 1", "revision 5 published as version 2"]


def _portal_sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/{SLUG}/login")
    form = page.locator("form:has(input[name=email])")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/{SLUG}/$"))


def _ben_files_a_ticket(ben: Page, ui: BuilderUI) -> str:
    """Ben files a ticket with a contract number; the ticket page's path."""
    _portal_sign_in(ben, ui.base_url, *BEN)
    ben.get_by_role("link", name="New ticket").first.click()
    ben.wait_for_url(re.compile(rf"/{SLUG}/tickets/new$"))
    ben.get_by_label("Subject").fill("Renewal of my contract")
    ben.get_by_label("Contract number").fill(CONTRACT)
    ben.locator("main form button[type=submit]").click()
    ben.wait_for_url(re.compile(rf"/{SLUG}/tickets/\d+(#.*)?$"))
    assert ben.get_by_text(CONTRACT).is_visible()
    ui.shot("journey-05-ben-ticket-1280.png", page=ben)
    return ben.url.removeprefix(f"{ui.base_url}/{SLUG}").split("#", 1)[0]


def _view_as_ben(ui: BuilderUI, ticket: str) -> None:
    """The live portal as Ben, read-only: the same ticket, and why its field shows."""
    page = ui.page
    page.get_by_role("link", name="View as a user").click()
    _ok(ui, r"/view-as$")
    ben = page.locator("#f-user option", has_text=BEN[0]).get_attribute("value")
    assert ben
    page.get_by_label("User").select_option(value=ben)
    page.get_by_role("button", name="View as this user").click()
    page.wait_for_url(re.compile(rf"/view-as/{SLUG}/$"))
    page.goto(f"{page.url.removesuffix('/')}{ticket}")
    banner = page.locator("[data-overlay='view-as']").inner_text()
    assert banner == f"Viewing as {BEN[0]} (read-only)", banner
    assert page.get_by_text(CONTRACT).is_visible()
    page.locator(".builder-why summary").click()
    why = page.locator(".builder-why-fields li[data-field='contract_number']").first
    assert why.inner_text().startswith("contract_number: visible by"), why.inner_text()
    ui.assert_accessible()
    ui.shot("journey-06-view-as-1280.png")
    page.get_by_role("button", name="Stop").click()
    page.wait_for_url(re.compile(r"/view-as$"))


def _roll_back(ui: BuilderUI) -> None:
    page = ui.page
    page.goto(f"{ui.base_url}/_builder/p/{SLUG}/")
    page.get_by_role("link", name="Roll back to version 1").click()
    _ok(ui, r"/v/1/rollback$")
    for box in page.locator("input[name=consent]").all():
        box.check()
    page.get_by_label("Yes, make version 1 live again").check()
    ui.shot("journey-07-rollback-1280.png")
    page.get_by_role("button", name="Roll back", exact=True).click()
    _ok(ui, rf"/_builder/p/{SLUG}/$")
    assert "Live" in page.locator("tr[data-version='1']").inner_text()


def test_fork_extend_publish_use_and_roll_back(builder_ui: StartUI) -> None:
    ui = builder_ui("admin@example.test", portals=("*",), rights=("edit", "publish"))
    _fork_and_publish(ui)
    draft = _start_draft(ui)
    _add_field(ui, draft)
    _place_in_form(ui, draft)
    _let_customers_change_it(ui, draft)
    _preview_as_ben(ui, draft)
    _publish(ui)
    with ui.other_page() as ben:
        ticket = _ben_files_a_ticket(ben, ui)
        _view_as_ben(ui, ticket)
        _roll_back(ui)
        ben.goto(f"{ui.base_url}/{SLUG}/tickets/new")
        assert ben.get_by_label("Subject").is_visible()
        assert ben.get_by_label("Contract number").count() == 0
        ben.goto(f"{ui.base_url}/{SLUG}{ticket}")
        assert ben.get_by_text("Renewal of my contract").first.is_visible()
        assert ben.get_by_text(CONTRACT).count() == 0
    assert ui.errors == []
