"""A draft's life in a real browser (headless Chromium via Playwright): the portal page with
its drafts, a draft's overview listing a problem linked to its editor, the diff of two
revisions, the plan with a destructive step that needs consent, publishing, and the new
portal page — no console error, no serious or critical axe-core violation, screenshots at
1280 px."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from browser_support import StartUI

from portalis.engine import drafts
from portalis.engine.definition.yamledit import BundleEdit, YamlText
from portalis.engine.deploy.versions import live_versions

pytestmark = pytest.mark.browser


def _save(engine: sa.Engine, draft: drafts.DraftInfo, edit: BundleEdit, message: str) -> None:
    result = edit.result()
    changes: dict[str, str | None] = {p: result.files[p] for p in result.changed}
    drafts.save(engine, draft.id, draft.head, changes, message=message)


def _arrange(engine: sa.Engine, slug: str) -> tuple[int, int]:
    """A draft with a typo in a field type, and one that drops ticket.amount."""
    typo = drafts.draft_from_live(engine, slug, name="Typo in subject")
    edit = BundleEdit(drafts.revision_bundle(engine, typo.id))
    _save(engine, typo, edit.set("entities.ticket.fields.subject.type", "strnig"), "subject type")
    drop = drafts.draft_from_live(engine, slug, name="Drop the amount")
    edit = BundleEdit(drafts.revision_bundle(engine, drop.id)).delete(
        "entities.ticket.fields.amount"
    )
    edit.set("pages.new_ticket.blocks.0.form.fields", ["subject", "body", "priority", "due"])
    seed = edit.result().files["seed/demo.yaml"]
    edit.set_file(
        "seed/demo.yaml", YamlText(seed, "seed").delete(("records", "ticket", 0, "amount"))
    )
    _save(engine, drop, edit, "amounts are kept in the ERP")
    return typo.id, drop.id


def test_draft_overview_plan_and_publish(builder_ui: StartUI) -> None:
    ui = builder_ui("publisher@example.test", portals=("*",), rights=("publish",))
    page, engine, live = ui.page, ui.engine, ui.live
    typo, drop = _arrange(engine, live.slug)
    page.get_by_role("link", name=live.slug).click()
    page.wait_for_url(re.compile(rf"/_builder/p/{live.slug}/$"))
    assert page.locator(f"tr[data-draft='{typo}'] .badge-urgent").inner_text() == "1 error"
    ui.assert_accessible()
    ui.shot("lifecycle-portal-1280.png")

    page.get_by_role("link", name="Typo in subject").click()
    problem = page.locator(".builder-problem").first
    assert "entities/ticket.yaml:8" in problem.inner_text()
    link = problem.get_by_role("link", name=re.compile("Open in the editor"))
    assert link.get_attribute("href", timeout=1000) == (
        f"/_builder/p/{live.slug}/d/{typo}/entities/ticket#field-subject"
    )
    ui.assert_accessible()
    ui.shot("lifecycle-draft-1280.png")

    page.get_by_role("button", name="Show changes").click()
    page.wait_for_url(re.compile(r"/diff\?a=1&b=2$"))
    assert "strnig" in page.locator("ins.diff-add").first.inner_text()
    ui.assert_accessible()
    ui.shot("builder-diff-1280.png")

    page.goto(f"{live.base_url}/_builder/p/{live.slug}/d/{drop}/plan")
    consent = page.get_by_label(re.compile(r"drop field ticket\.amount: 1 value\b"))
    assert consent.is_visible()
    ui.assert_accessible()
    ui.shot("builder-plan-1280.png")
    page.get_by_label("Note for the version history").fill("amounts live in the ERP")
    for box in page.locator("input[name=consent]").all():
        box.focus()
        page.keyboard.press("Space")  # keyboard operable
    page.get_by_role("button", name="Publish revision 2").click()
    page.wait_for_url(re.compile(rf"/_builder/p/{live.slug}/$"))
    assert "amounts live in the ERP" in page.locator("tr[data-version='2']").inner_text()
    assert live_versions(engine)[live.slug] == 2

    # usable at 1024 px: nothing wider than the window
    page.set_viewport_size({"width": 1024, "height": 800})
    for path in (f"p/{live.slug}/", f"p/{live.slug}/d/{typo}/", f"p/{live.slug}/v/diff"):
        page.goto(f"{live.base_url}/_builder/{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024, path
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live.base_url}/_builder/new")
    ui.assert_accessible()
    ui.shot("builder-new-portal-1280.png")
    assert ui.errors == []
