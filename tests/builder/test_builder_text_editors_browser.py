"""The translations and files editors in a real browser (headless Chromium via Playwright):
fill a missing translation in the grid; open a file at a problem's `#L<line>` anchor in
CodeMirror 6 (vendored, under the builder's CSP without nonces: its styles go into the
editor's shadow root as constructed style sheets), edit and save it — no console error (a
CSP violation would show there), no serious or critical axe-core violation, screenshots of
both editors at 1280 px."""

from __future__ import annotations

import re

import pytest
from browser_support import StartUI

from portalis.engine import drafts

pytestmark = pytest.mark.browser

FILE = "entities/ticket.yaml"


def test_translate_a_label_and_edit_a_file(builder_ui: StartUI) -> None:
    ui = builder_ui()
    page, engine = ui.page, ui.engine
    draft = ui.draft()
    text = drafts.revision_bundle(engine, draft).files["pages/tickets.yaml"]
    plain = text.replace(
        "    title: {en: Tickets, de: Tickets, fr: Tickets, es: Tickets}\n",
        "    title: Tickets\n",
        1,
    )
    broken = (
        drafts.revision_bundle(engine, draft)
        .files[FILE]
        .replace("max_length: 200", "max_length: many", 1)
    )
    drafts.save(engine, draft, 1, {"pages/tickets.yaml": plain, FILE: broken})
    root = ui.draft_url(draft)

    page.goto(f"{root}/translations?area=pages")
    assert page.locator(".badge-missing").count() == 3
    cell = page.locator('input[name="cell:pages.tickets.title|de"]')
    cell.fill("Vorgänge")
    cell.focus()
    ui.assert_accessible()
    ui.shot("builder-translations-1280.png", full_page=False)
    page.set_viewport_size({"width": 1024, "height": 800})  # usable: no sideways scroll
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Save translations").click()
    page.wait_for_url(re.compile(r"saved=3"))
    saved = drafts.revision_bundle(engine, draft).files["pages/tickets.yaml"]
    assert "    title: {en: Tickets, de: Vorgänge}\n" in saved

    # without the enhancement: the textarea, and the anchor marks line 10's number
    # in the gutter, level with the textarea's tenth line
    page.route(
        "**/files_editor.js",
        lambda route: route.fulfill(body="", content_type="text/javascript"),
    )
    page.goto(f"{root}/files/{FILE}#L10")
    assert page.locator("#file-text").is_visible()
    assert page.locator("#L10").evaluate("li => li.matches(':target')")
    top = page.locator("#L10").bounding_box()
    area = page.locator("#file-text").bounding_box()
    assert top and area
    line_height = top["height"]
    assert abs(top["y"] - (area["y"] + 9 * line_height)) < line_height / 2 + 8
    ui.shot("files-without-js.png", full_page=False)
    page.unroute("**/files_editor.js")

    page.goto(f"{root}/files/{FILE}#L10")
    page.reload()  # the same URL again: the document, not only the hash
    content = page.locator(".cm-content")
    content.wait_for()
    sheets = page.locator("#file-editor").evaluate("h => h.shadowRoot.adoptedStyleSheets.length")
    assert sheets > 0
    assert "max_length: many" in page.locator(".cm-activeLine").inner_text()
    assert page.locator(".cm-lint-marker-error").count() >= 1
    page.locator(".cm-activeLine").click()
    page.keyboard.press("End")
    for _ in range(len("many")):
        page.keyboard.press("Backspace")
    page.keyboard.type("120")
    ui.assert_accessible()
    ui.shot("builder-files-1280.png", full_page=False)
    page.set_viewport_size({"width": 1024, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.get_by_role("button", name="Save the file").click()
    page.wait_for_url(re.compile(r"saved=\d"))
    assert "saved=4" in page.url, page.url
    assert "max_length: 120\n" in drafts.revision_bundle(engine, draft).files[FILE]
    assert page.locator("#file-problems").count() == 0
    assert ui.errors == []
