"""The entities and forms editors in a real browser (headless Chromium via Playwright): add
`contract_number` to tickets, see an expression checked as it is typed, drag the field into
the new-ticket form by its SortableJS handle and move it with the keyboard buttons — no
console error (a CSP violation would show there), no serious or critical axe-core
violation, screenshots of both editors at 1280 px."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyotp
import pytest
from builder_support import PASSWORD, add_account
from test_builder_browser import axe_violations

from portalis.engine import drafts
from portalis.testing.browser import live_server, new_page, screenshot_dir
from portalis.testing.web import app_state

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

pytestmark = pytest.mark.browser

EMAIL = "editor@example.test"


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
    page.get_by_role("heading", name="Recovery codes").wait_for()


def _console(message: ConsoleMessage, errors: list[str]) -> None:
    """Collect console errors but the two expected ones: the favicon probe (404) and the
    conflict page's own status (409)."""
    url = str(message.location.get("url"))
    if (
        message.type == "error"
        and not url.endswith("/favicon.ico")
        and "(CONFLICT)" not in message.text
    ):
        errors.append(f"{message.text} ({url})")


def _order(page: Page) -> list[str]:
    return [
        str(n)
        for n in page.locator("#form-fields li").evaluate_all("e => e.map(li => li.dataset.name)")
    ]


def test_add_a_field_and_place_it_in_a_form(portalis_browser: Browser, tmp_path: Path) -> None:
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

            page.goto(f"{root}/entities/ticket")
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
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-entity-editor-1280.png"), full_page=False)

            page.goto(f"{root}/forms/new_ticket/0")
            page.get_by_label("Field", exact=True).select_option("contract_number")
            page.get_by_role("button", name="Add to the form").click()
            page.wait_for_url(re.compile(r"saved=3"))
            assert _order(page)[-1] == "contract_number"
            handle = page.locator("#form-field-contract_number .handle")
            handle.drag_to(page.locator("#form-field-body .handle"))
            page.wait_for_url(re.compile(r"saved=4"))
            dragged = _order(page)
            assert dragged.index("contract_number") == 1, dragged
            page.get_by_role("button", name="Move contract_number up").click()
            page.wait_for_url(re.compile(r"saved=5"))
            assert _order(page)[:2] == ["contract_number", "subject"]
            page.goto(f"{root}/forms/new_ticket/0")  # from the top, without the anchor
            page.get_by_role("button", name="Move subject up").focus()
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-form-editor-1280.png"), full_page=True)

            # someone else saves meanwhile: this page's next move meets the conflict page
            head = drafts.get_draft(engine, draft).head
            files = drafts.revision_bundle(engine, draft).files
            text = files["pages/tickets.yaml"].replace(
                "roles: [customer]\n", "roles: [customer, agent]\n", 1
            )
            drafts.save(engine, draft, head, {"pages/tickets.yaml": text})
            page.get_by_role("button", name="Move due up").click()
            page.get_by_role("heading", name="Someone saved this draft first").wait_for()
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "builder-conflict-1280.png"), full_page=True)
            page.get_by_role("button", name="Apply my change on top of the latest revision").click()
            page.wait_for_url(re.compile(r"saved=7"))
            assert _order(page)[-3:] == ["due", "tags", "attachment"]
        new_form = drafts.revision_bundle(engine, draft).files["pages/tickets.yaml"]
        assert "fields: [contract_number, subject, body," in new_form
    assert errors == []
