"""The roles editor and the permission matrix through the Flask client (SQLite and
PostgreSQL): every operation on a draft of the starter blueprint changes exactly the
intended lines; a rename rewrites every reference after showing them; a removal is refused
while the role is used outside grants; the side panel says what a role can do."""

from __future__ import annotations

import re

from builder_support import BuilderBrowser, audit_actions
from editor_support import base_of, form_values, new_draft, signed_in, text_diff
from werkzeug.test import TestResponse

from portalis.engine import drafts
from portalis.testing.web import WebPortal, session_csrf


def _roles(web: WebPortal, draft: int) -> str:
    return f"/_builder/p/{web.slug}/d/{draft}/roles"


def _cell(web: WebPortal, draft: int, role: str, entity: str) -> str:
    return f"/_builder/p/{web.slug}/d/{draft}/permissions/{role}/{entity}"


def _post(browser: BuilderBrowser, path: str, data: dict[str, str | list[str]]) -> TestResponse:
    """POST a form with repeated fields (checkboxes) and the session's CSRF token."""
    form = {**data, "csrf_token": session_csrf(browser.client, browser.app, "/_builder/")}
    return browser.client.post(path, data=form)


def test_add_a_role_and_edit_its_label_inheritance_and_staff_flag(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_roles(web, draft))
    assert page.status_code == 200 and 'id="role-agent"' in page.text
    added = browser.post(
        _roles(web, draft), action="add", name="partner", label="Partner", base_revision="1"
    )
    assert added.status_code == 303 and added.headers["Location"].endswith("?saved=2#role-partner")
    assert text_diff(web, draft, 1, 2) == {
        "portal.yaml": ["@@ -38,0 +39,2 @@", "+  partner:", "+    label: {en: Partner}"]
    }
    page = browser.get(_roles(web, draft))
    values = {k: v for k, v in form_values(page.text, "id", "role-form-partner").items()}
    values.update({"label.de": "Partner:in", "staff": "true"})
    saved = _post(browser, _roles(web, draft), {**values, "inherits": ["customer"]})
    assert saved.status_code == 303
    assert text_diff(web, draft, 2, 3) == {
        "portal.yaml": [
            "@@ -40 +40,3 @@",
            "-    label: {en: Partner}",
            "+    label: {en: Partner, de: Partner:in}",
            "+    inherits: [customer]",
            "+    staff: true",
        ]
    }
    unchanged = browser.post(_roles(web, draft), **form_values(
        browser.get(_roles(web, draft)).text, "id", "role-form-agent"
    ))  # fmt: skip
    assert unchanged.status_code == 303 and drafts.get_draft(web.engine, draft).head == 3
    assert audit_actions(web.engine, web.slug).count("builder_edit") == 3  # each save is audited


def test_rename_a_role_shows_then_rewrites_every_reference(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    asked = browser.post(
        _roles(web, draft), action="rename", role="agent", new_name="support", base_revision="1"
    )
    assert asked.status_code == 200 and drafts.get_draft(web.engine, draft).head == 1
    assert "<code>auth.admin_roles.0</code>" in asked.text
    assert "<code>seed/demo.yaml</code>" in asked.text
    assert "<code>workflows/ticket_flow.yaml:25</code>" in asked.text
    done = browser.post(_roles(web, draft), **form_values(asked.text, "id", "confirm-form"))
    assert done.status_code == 303
    diff = text_diff(web, draft, 1, 2)
    assert diff["portal.yaml"] == [
        "@@ -27 +27 @@",
        "-  admin_roles: [agent]",
        "+  admin_roles: [support]",
        "@@ -36 +36 @@",
        "-  agent:",
        "+  support:",
    ]
    assert diff["workflows/ticket_flow.yaml"][:3] == [
        "@@ -7 +7 @@",
        "-      - {name: start, from: open, to: in_progress, roles: [agent],",
        "+      - {name: start, from: open, to: in_progress, roles: [support],",
    ]
    assert (
        '+          - notify: {template: ticket_escalated, to: ["role:support"]}'
        in diff["workflows/ticket_flow.yaml"]
    )
    assert sorted(diff) == [
        "entities/article.yaml", "entities/booking.yaml", "entities/invoice.yaml",
        "entities/message.yaml", "entities/people.yaml", "entities/ticket.yaml",
        "pages/bookings.yaml", "pages/help.yaml", "pages/invoices.yaml", "pages/tickets.yaml",
        "portal.yaml", "seed/demo.yaml", "workflows/article_flow.yaml",
        "workflows/ticket_flow.yaml",
    ]  # fmt: skip
    removed = sum(1 for lines in diff.values() for line in lines if line.startswith("-"))
    assert removed == 35  # one line per reference (34 and the role itself), nothing else
    head = drafts.revision_bundle(web.engine, draft, 2)
    assert not any(
        re.search(r"[\[,] ?agent[\],]|role:agent", text) for text in head.files.values()
    )  # no role list or recipient names agent any more
    page = browser.get(_roles(web, draft) + "?saved=2")
    assert "notice-warning" not in page.text  # the renamed draft has no problems


def test_removing_a_used_role_is_refused_and_an_unused_one_goes_with_its_grants(
    web: WebPortal,
) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    refused = browser.post(_roles(web, draft), action="remove", role="agent", base_revision="1")
    assert refused.status_code == 422 and "still used outside permissions" in refused.text
    assert "<code>pages.tickets.roles.1</code>" in refused.text
    browser.post(_roles(web, draft), action="add", name="auditor", base_revision="1")
    granted = _post(browser, _cell(web, draft, "auditor", "ticket"), {
        "action": "add", "actions": ["read"], "scope": "all", "base_revision": "2",
    })  # fmt: skip
    assert granted.status_code == 303
    asked = browser.post(_roles(web, draft), action="remove", role="auditor", base_revision="3")
    assert asked.status_code == 200 and "entities.ticket.permissions.5.roles.0" in asked.text
    done = browser.post(_roles(web, draft), **form_values(asked.text, "id", "confirm-form"))
    assert done.status_code == 303
    assert text_diff(web, draft, 1, 4) == {}


def test_the_matrix_shows_every_cell_with_a_labelled_edit_link(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(f"/_builder/p/{web.slug}/d/{draft}/permissions")
    assert page.status_code == 200
    assert (
        '<th scope="col">ticket</th>' in page.text and '<th scope="row">customer</th>' in page.text
    )
    assert 'aria-label="Edit customer on ticket"' in page.text
    assert 'read, create</span> <span class="builder-grant-scope">· account' in page.text
    assert "(via customer)" in page.text  # account_admin inherits customer's grants
    assert "Customer can" not in page.text  # the panel lists clauses
    assert "Tickets of their account, except assignee" in page.text
    german = browser.get(f"/_builder/p/{web.slug}/d/{draft}/permissions?lang=de")
    assert "Tickets ihres Kontos lesen und anlegen, außer assignee" in german.text
    french = browser.get(f"/_builder/p/{web.slug}/d/{draft}/permissions?lang=fr")
    assert "lire et créer les Tickets de son compte, sauf assignee" in french.text
    spanish = browser.get(f"/_builder/p/{web.slug}/d/{draft}/permissions?lang=es")
    assert "leer y crear los Tickets de su cuenta, excepto assignee" in spanish.text
    assert 'aria-label="Editar customer en ticket"' in spanish.text


def test_edit_a_grant_changes_only_its_keys(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_cell(web, draft, "customer", "ticket"))
    assert page.status_code == 200 and 'id="grant-form-0"' in page.text
    saved = _post(browser, _cell(web, draft, "customer", "ticket"), {
        "action": "save", "index": "0", "base_revision": base_of(page.text),
        "actions": ["read"], "scope": "account", "field_mode": "except",
        "fields": ["assignee", "priority"],
    })  # fmt: skip
    assert saved.status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        "entities/ticket.yaml": [
            "@@ -91 +91 @@",
            "-      - {roles: [customer], actions: [read, create], scope: account, fields: {except: [assignee]}}",
            "+      - {roles: [customer], actions: [read], scope: account, fields: {except: [assignee, priority]}}",
        ]
    }  # fmt: skip


def test_a_shared_grant_is_split_and_a_where_scope_is_checked(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    url = _cell(web, draft, "agent", "message")
    saved = _post(browser, url, {
        "action": "save", "index": "0", "base_revision": "1", "actions": ["read"],
        "scope": "where", "where": "ticket: 7",
    })  # fmt: skip
    assert saved.status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        "entities/message.yaml": [
            "@@ -19 +19,2 @@",
            "-      - {roles: [customer, agent], actions: [read, create], scope: {parent: ticket}}",
            "+      - {roles: [customer], actions: [read, create], scope: {parent: ticket}}",
            "+      - {roles: [agent], actions: [read], scope: {where: {ticket: 7}}}",
        ]
    }
    panel = browser.get(f"/_builder/p/{web.slug}/d/{draft}/permissions").text
    assert "read Messages where ticket is 7" in panel  # the compiled split grant, in words
    unknown = _post(browser, url, {
        "action": "add", "base_revision": "2", "actions": ["read"], "scope": "where",
        "where": "nope: $actor.id",
    })  # fmt: skip
    assert unknown.status_code == 422 and "field: value" in unknown.text
    removed = browser.post(url, action="remove", index="1", base_revision="2")
    assert removed.status_code == 303
    assert text_diff(web, draft, 2, 3) == {
        "entities/message.yaml": [
            "@@ -20 +19,0 @@",
            "-      - {roles: [agent], actions: [read], scope: {where: {ticket: 7}}}",
        ]
    }


def test_a_grant_the_checker_refuses_is_not_saved(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    refused = _post(browser, _cell(web, draft, "customer", "message"), {
        "action": "add", "base_revision": "1", "actions": ["read"], "scope": "self",
    })  # fmt: skip
    assert refused.status_code == 422 and "was not saved" in refused.text
    assert drafts.get_draft(web.engine, draft).head == 1


def test_rights_and_conflicts(web: WebPortal) -> None:
    draft = new_draft(web)
    viewer = signed_in(web, "viewer@example.test", rights=("view",))
    assert viewer.get(_roles(web, draft)).status_code == 200
    assert (
        viewer.post(_roles(web, draft), action="add", name="x1", base_revision="1").status_code
        == 404
    )
    assert viewer.get(_cell(web, draft, "customer", "nothing")).status_code == 404
    outsider = signed_in(web, "out@example.test", rights=())
    assert outsider.get(_roles(web, draft)).status_code == 404
    anna = signed_in(web, "anna@example.test")
    ben = signed_in(web, "ben@example.test")
    assert (
        anna.post(_roles(web, draft), action="add", name="partner", base_revision="1").status_code
        == 303
    )
    late = ben.post(_roles(web, draft), action="add", name="reseller", base_revision="1")
    assert late.status_code == 409 and "Someone saved this draft first" in late.text
    again = ben.post(_roles(web, draft), **form_values(late.text, "id", "confirm-form"))
    assert again.status_code == 303
    text = drafts.revision_bundle(web.engine, draft, 3).files["portal.yaml"]
    assert "  partner:" in text and "  reseller:" in text


def test_a_rename_is_refused_while_an_expression_names_the_role(web: WebPortal) -> None:
    draft = new_draft(web)
    files = drafts.revision_bundle(web.engine, draft, 1).files
    text = files["entities/ticket.yaml"].replace(
        "      resolution:",
        "      resolution:\n        visible_when: \"'agent' in actor['roles']\"",
        1,
    )
    assert text != files["entities/ticket.yaml"]
    drafts.save(web.engine, draft, 1, {"entities/ticket.yaml": text})
    browser = signed_in(web)
    refused = browser.post(
        _roles(web, draft), action="rename", role="agent", new_name="support", base_revision="2"
    )
    assert refused.status_code == 422 and "named inside an expression" in refused.text
    assert "entities.ticket.fields.resolution.visible_when" in refused.text
    assert 'id="confirm-form"' not in refused.text
    assert drafts.get_draft(web.engine, draft).head == 2


def _line(web: WebPortal, draft: int, revision: int, text: str) -> int:
    """The 1-based line of `text` in the draft's invoice file at `revision`."""
    lines = drafts.revision_bundle(web.engine, draft, revision).files["entities/invoice.yaml"]
    return lines.splitlines().index(text) + 1


def test_payable_entities_offer_pay_and_refund_and_keep_them(web: WebPortal) -> None:
    draft = new_draft(web)  # the starter's invoices are payable
    browser = signed_in(web)
    cell = browser.get(_cell(web, draft, "customer", "invoice")).text
    form = cell.split('id="grant-form-0"')[1].split("</form>")[0]
    assert '<input type="checkbox" name="actions" value="pay" checked>' in form
    assert '<input type="checkbox" name="actions" value="refund">' in form
    assert "read and pay Invoices of their account" in cell  # the panel, in words
    # an entity that is not payable offers neither
    assert 'value="pay"' not in browser.get(_cell(web, draft, "customer", "ticket")).text
    grant = "      - {roles: [customer], actions: [read, pay], scope: account}"
    at = _line(web, draft, 1, grant)
    saved = _post(browser, _cell(web, draft, "customer", "invoice"), {
        "action": "save", "index": "0", "base_revision": "1", "actions": ["read", "pay"],
        "scope": "own",
    })  # fmt: skip
    assert saved.status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        "entities/invoice.yaml": [
            f"@@ -{at} +{at} @@", "-" + grant,
            "+      - {roles: [customer], actions: [read, pay], scope: own}",
        ]
    }  # fmt: skip
    refunds = "      - {roles: [agent], actions: [read, create, update, refund], scope: all}"
    kept = _post(browser, _cell(web, draft, "agent", "invoice"), {
        "action": "save", "index": "1", "base_revision": "2",
        "actions": ["read", "update", "refund"], "scope": "all",
    })  # fmt: skip
    assert kept.status_code == 303
    assert text_diff(web, draft, 2, 3) == {
        "entities/invoice.yaml": [
            f"@@ -{at + 1} +{at + 1} @@", "-" + refunds,
            "+      - {roles: [agent], actions: [read, update, refund], scope: all}",
        ]
    }  # fmt: skip
    panel = browser.get(f"/_builder/p/{web.slug}/d/{draft}/permissions").text
    assert "read, update and refund payments of all Invoices" in panel
    german = browser.get(f"/_builder/p/{web.slug}/d/{draft}/permissions?lang=de").text
    assert "alle Rechnungen lesen, ändern und Zahlungen erstatten für" in german
    # `pay` on an entity that is not payable: ignored by its form, never written
    ticket = _post(browser, _cell(web, draft, "customer", "ticket"), {
        "action": "add", "base_revision": "3", "actions": ["read", "pay"], "scope": "own",
    })  # fmt: skip
    assert ticket.status_code == 303
    assert text_diff(web, draft, 3, 4)["entities/ticket.yaml"][-1].endswith(
        "{roles: [customer], actions: [read], scope: own}"
    )
