"""The pages editor through the Flask client (SQLite and PostgreSQL): each operation on the
starter blueprint's draft changes exactly its lines; block options are a form generated from
the block section's schema — a plugin's block included, with no builder code for it."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path

import portalis_payments_sandbox
import pytest
from builder_support import BuilderBrowser, audit_actions
from editor_support import base_of, form_values, new_draft, signed_in, text_diff

from portalis.api import DefinitionSection, hookimpl
from portalis.engine import drafts
from portalis.engine.data.db import create_engine
from portalis.runtime import default_plugins
from portalis.runtime.app import create_app
from portalis.runtime.settings import Settings
from portalis.testing.portals import BLUEPRINTS, deploy_dir, migrate_db, plugin_checker
from portalis.testing.web import WebPortal

LIST = """\
      - list:
          entity: ticket
          columns: [subject, status, updated_at]
          filters: [status]
          search: [subject]
          link: ticket
          bulk:
            - transition: close
            - export"""
MARKDOWN = "      - markdown: {en: '## Welcome', de: '## Willkommen'}"


def _url(web: WebPortal, draft: int, rel: str) -> str:
    return f"/_builder/p/{web.slug}/d/{draft}/{rel}"


def _saved(browser: BuilderBrowser, url: str, base: int, **values: object) -> int:
    done = browser.post(url, base_revision=str(base), **values)
    assert done.status_code == 303, done.text
    return int(done.headers["Location"].split("saved=")[1].split("#")[0])


def test_each_page_operation_changes_only_its_lines(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    pages, faq = _url(web, draft, "pages/"), _url(web, draft, "pages/faq")
    steps = [
        # a new page goes into the first file of pages (in the order the portal includes them)
        (pages, {"action": "add", "name": "faq", "route": "/faq", "title": "FAQ"},
         {"pages/bookings.yaml": ["@@ -18,0 +19,3 @@", "+  faq:", "+    route: /faq", "+    title: {en: FAQ}"]}),
        (faq, {"action": "add", "type": "markdown"},
         {"pages/bookings.yaml": ["@@ -21,0 +22,2 @@", "+    blocks:", "+" + MARKDOWN]}),
        (faq, {"action": "add", "type": "list"},
         {"pages/bookings.yaml": ["@@ -23,0 +24,9 @@", *("+" + line for line in LIST.splitlines())]}),
        (faq, {"action": "up", "type": "list", "block": "1"},
         {"pages/bookings.yaml": ["@@ -23 +22,0 @@", "-" + MARKDOWN, "@@ -32,0 +32 @@", "+" + MARKDOWN]}),
        (faq, {"action": "remove", "type": "markdown", "block": "1"},
         {"pages/bookings.yaml": ["@@ -32 +31,0 @@", "-" + MARKDOWN]}),
        (_url(web, draft, "pages/tickets"),
         {"action": "settings", "route": "/all-tickets", "title.en": "All tickets", "title.de": "Tickets",
          "title.fr": "Tickets", "title.es": "Tickets", "roles": ["customer", "agent"]},
         {"pages/tickets.yaml": ["@@ -3,2 +3,2 @@", "-    route: /tickets",
                                 "-    title: {en: Tickets, de: Tickets, fr: Tickets, es: Tickets}",
                                 "+    route: /all-tickets",
                                 "+    title: {en: All tickets, de: Tickets, fr: Tickets, es: Tickets}"]}),
        (_url(web, draft, "pages/dashboard"), {"action": "add", "type": "metrics"},
         {"pages/tickets.yaml": ["@@ -60,0 +61,2 @@", "+      - metrics:",
                                 "+          - {label: Open tickets, entity: ticket, group_by: status, chart: bar}"]}),
        (pages, {"action": "remove", "name": "dashboard"},
         {"pages/tickets.yaml": ["@@ -52,11 +51,0 @@", *(f"-{line}" for line in _dashboard_lines()),
                                 "-      - metrics:",
                                 "-          - {label: Open tickets, entity: ticket, group_by: status, chart: bar}"],
          "portal.yaml": ["@@ -43 +43 @@",
                          "-navigation: [home, help, tickets, new_ticket, invoices, bookings, new_article, dashboard]",
                          "+navigation: [home, help, tickets, new_ticket, invoices, bookings, new_article]"]}),
    ]  # fmt: skip
    base = 1
    for url, values, diff in steps:
        number = _saved(browser, url, base, **values)
        assert text_diff(web, draft, base, number) == diff, values
        base = number
    assert audit_actions(web.engine, web.slug).count("builder_edit") == len(steps)


def _dashboard_lines() -> list[str]:
    text = (BLUEPRINTS / "b2c" / "pages" / "tickets.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    return lines[lines.index("  dashboard:") :]


def test_block_options_are_saved_from_the_generated_form(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "pages/tickets")
    page = browser.get(url)
    assert 'id="sf-b0-page_size"' in page.text and 'id="sf-b0-columns"' in page.text
    values = form_values(page.text, "class", "builder-block-options")
    assert values["b0.entity"] == "ticket" and values["b0.page_size"] == "25"
    values.update({"b0.page_size": "50", "b0.columns": "subject\nstatus"})
    number = _saved(browser, url, 1, **{k: v for k, v in values.items() if k != "base_revision"})
    assert text_diff(web, draft, 1, number) == {
        "pages/tickets.yaml": [
            "@@ -9 +9 @@",
            "-          columns: [subject, priority, status, account, due, updated_at]",
            "+          columns: [subject, status]",
            "@@ -13 +13 @@",
            "-          page_size: 25",
            "+          page_size: 50",
        ]
    }
    unchanged = form_values(browser.get(url).text, "class", "builder-block-options")
    again = browser.post(url, **unchanged)
    assert again.status_code == 303 and drafts.get_draft(web.engine, draft).head == number


def test_invalid_block_options_are_shown_with_their_error_and_not_saved(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "pages/tickets")
    values = form_values(browser.get(url).text, "class", "builder-block-options")
    values.update({"b0.page_size": "500", "b0.columns": ""})
    refused = browser.post(url, **values)
    assert refused.status_code == 422
    assert refused.text.count('class="field-error"') == 2
    assert 'value="500"' in refused.text
    assert drafts.get_draft(web.engine, draft).head == 1


def test_every_registered_block_type_is_offered_and_each_block_has_its_form(
    web: WebPortal,
) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    offered = browser.get(_url(web, draft, "pages/ticket")).text
    for kind in ("list", "detail", "form", "markdown", "metrics"):
        assert f'<option value="{kind}">' in offered
    # detail: its actions are a group of checkboxes from the schema's enum
    assert '<input type="checkbox" name="b0.actions" value="delete">' in offered
    assert f'href="/_builder/p/{web.slug}/d/{draft}/forms/ticket/3"' in offered
    dashboard = browser.get(_url(web, draft, "pages/dashboard")).text
    assert 'name="b0.metrics"' in dashboard and "Written as YAML." in dashboard
    assert browser.get(_url(web, draft, "pages/nowhere")).status_code == 404


def test_stale_block_operations_and_bad_pages_are_refused(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "pages/ticket")
    stale = browser.post(url, base_revision="1", action="remove", type="list", block="0")
    assert stale.status_code == 422 and "is no list block any more" in stale.text
    unknown = browser.post(url, base_revision="1", action="add", type="carousel")
    assert unknown.status_code == 422 and "Unknown block type carousel" in unknown.text
    pages = _url(web, draft, "pages/")
    taken = browser.post(pages, base_revision="1", action="add", name="ticket", route="/x")
    assert taken.status_code == 422
    no_path = browser.post(pages, base_revision="1", action="add", name="faq", route="faq")
    assert no_path.status_code == 422 and "is not a path" in no_path.text
    assert drafts.get_draft(web.engine, draft).head == 1


def test_rights_view_sees_no_forms_and_cannot_save(web: WebPortal) -> None:
    draft = new_draft(web)
    viewer = signed_in(web, "viewer@example.test", rights=("view",))
    page = viewer.get(_url(web, draft, "pages/tickets"))
    assert page.status_code == 200 and "Add a block" not in page.text
    refused = viewer.post(_url(web, draft, "pages/tickets"), base_revision="1",
                          action="add", type="markdown")  # fmt: skip
    assert refused.status_code == 404
    stranger = signed_in(web, "other@example.test", rights=())
    assert stranger.get(_url(web, draft, "pages/")).status_code == 404


def test_two_editors_moving_blocks_from_one_revision_lose_no_edit(web: WebPortal) -> None:
    draft = new_draft(web)
    anna = signed_in(web, "anna@example.test")
    ben = signed_in(web, "ben@example.test")
    url = _url(web, draft, "pages/ticket")
    assert base_of(anna.get(url).text) == base_of(ben.get(url).text) == "1"
    assert _saved(anna, url, 1, action="add", type="markdown") == 2
    late = ben.post(url, base_revision="1", action="down", type="detail", block="0")
    assert late.status_code == 409 and "Someone saved this draft first" in late.text
    again = form_values(late.text, "id", "confirm-form")
    assert _saved(ben, url, int(again.pop("base_revision")), **again) == 3
    blocks = drafts.revision_bundle(web.engine, draft, 3).files["pages/tickets.yaml"]
    assert blocks.index("      - attachments:") < blocks.index("      - detail:")
    assert blocks.index("      - markdown:") > blocks.index(
        "      - form:\n          entity: message"
    )


# -- a plugin's block ------------------------------------------------------------------
BANNER = DefinitionSection(
    "block",
    "banner",
    {
        "type": "object",
        "properties": {
            "text": {"$ref": "#/$defs/label", "title": "Text"},
            "tone": {"type": "string", "enum": ["info", "warning"], "title": "Tone"},
            "height": {"type": "integer", "minimum": 1, "maximum": 400, "title": "Height"},
        },
        "required": ["text"],
        "additionalProperties": False,
    },
    "Banner",
    "A coloured strip of text.",
)


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The test plugin's `banner` block."""
    return [BANNER]


@pytest.fixture
def plugin_web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    """The b2c blueprint served with a plugin that adds the `banner` block."""
    module = types.ModuleType("portalis_test_banner")
    module.portalis_definition_sections = portalis_definition_sections  # type: ignore[attr-defined]
    engine = create_engine(database_url)
    try:
        # the starter's invoices are paid through the sandbox payment provider
        compiled = deploy_dir(
            engine, plugin_checker(module, portalis_payments_sandbox), BLUEPRINTS / "b2c"
        )
        migrate_db(engine, {})
    finally:
        engine.dispose()
    settings = Settings.from_env(
        {"PORTALIS_DATABASE_URL": database_url, "PORTALIS_INSTANCE_PATH": str(tmp_path / "i")},
        testing=True,
        version_check_seconds=0,
    )
    pm = default_plugins.plugin_manager(extra=[module])
    served = WebPortal(create_app(settings, pm=pm), compiled)
    try:
        yield served
    finally:
        served.close()


def test_a_plugin_block_is_added_and_edited_with_a_form_from_its_schema(
    plugin_web: WebPortal,
) -> None:
    web = plugin_web
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "pages/home")
    assert '<option value="banner">Banner (banner)</option>' in browser.get(url).text
    added = _saved(browser, url, 1, action="add", type="banner")
    page = browser.get(url).text
    index = page.count('class="builder-block"') - 1
    assert f'id="sf-b{index}-tone"' in page and f'id="sf-b{index}-height"' in page
    values = form_values(page, "id", f"block-{index}-options")
    values.update({f"b{index}.text": "Closed on Friday", f"b{index}.tone": "warning"})
    number = _saved(
        browser, url, added, **{k: v for k, v in values.items() if k != "base_revision"}
    )
    diff = text_diff(web, draft, added, number)["pages/public.yaml"]
    assert diff[1:] == [
        "-      - banner: {text: ''}",
        "+      - banner: {text: 'Closed on Friday', tone: warning}",
    ]
