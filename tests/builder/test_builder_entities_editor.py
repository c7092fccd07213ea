"""The entities and fields editor through the Flask client (SQLite and PostgreSQL): every
operation applied to a draft of the starter blueprint changes exactly the intended lines;
removals show what the live data would lose first; expressions are checked as typed."""

from __future__ import annotations

import sqlalchemy as sa
from builder_support import audit_actions
from editor_support import base_of, form_values, new_draft, signed_in, text_diff

from portalis.engine import drafts
from portalis.testing.inspection import audit_table
from portalis.testing.web import WebPortal


def _url(web: WebPortal, draft: int, rest: str) -> str:
    return f"/_builder/p/{web.slug}/d/{draft}/entities/{rest}"


def test_add_a_field_adds_three_lines(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, "ticket"))
    assert page.status_code == 200 and 'id="field-subject"' in page.text
    saved = browser.post(
        _url(web, draft, "ticket"),
        action="add_field", name="contract_number", type="string", base_revision=base_of(page.text),
    )  # fmt: skip
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("ticket?saved=2#field-contract_number")
    assert text_diff(web, draft, 1, 2) == {
        "entities/ticket.yaml": [
            "@@ -71,0 +72,3 @@",
            "+      contract_number:",
            "+        type: string",
            "+        label: {en: Contract number}",
        ]
    }
    shown = browser.get(saved.headers["Location"])
    assert "Saved as revision 2." in shown.text and 'id="field-contract_number"' in shown.text
    german = browser.get(_url(web, draft, "ticket") + "?lang=de")
    assert "Feld hinzufügen" in german.text and "Feld contract_number speichern" in german.text
    assert audit_actions(web.engine, web.slug)[-1] == "builder_edit"


def test_save_a_field_changes_only_the_edited_keys(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, "ticket"))
    values = form_values(page.text, "data-field", "subject")
    assert values["type"] == "string" and values["required"] == "true"
    assert values["label.de"] == "Betreff" and values["opt.max_length"] == "200"
    values.update({"label.de": "Thema", "opt.max_length": "120", "opt.min_length": "3"})
    values["visible_when"] = "record['status'] != 'closed'"
    del values["required"]  # unticked
    assert browser.post(_url(web, draft, "ticket"), **values).status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        "entities/ticket.yaml": [
            "@@ -9,3 +9,4 @@",
            "-        required: true",
            "-        max_length: 200",
            "-        label: {en: Subject, de: Betreff, fr: Objet, es: Asunto}",
            "+        max_length: 120",
            "+        label: {en: Subject, de: Thema, fr: Objet, es: Asunto}",
            "+        visible_when: record['status'] != 'closed'",
            "+        min_length: 3",
        ]
    }


def test_invalid_options_are_field_errors_and_nothing_is_saved(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    values = form_values(browser.get(_url(web, draft, "ticket")).text, "data-field", "subject")
    values["opt.max_length"] = "many"
    refused = browser.post(_url(web, draft, "ticket"), **values)
    assert refused.status_code == 422 and "must be a whole number" in refused.text
    values["opt.max_length"] = "0"
    refused = browser.post(_url(web, draft, "ticket"), **values)
    assert refused.status_code == 422 and "less than the minimum of 1" in refused.text
    assert drafts.get_draft(web.engine, draft).head == 1


def test_a_bad_expression_is_reported_after_saving_without_javascript(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    values = form_values(browser.get(_url(web, draft, "ticket")).text, "data-field", "body")
    values["required_when"] = "record['nope'] == 1"
    saved = browser.post(_url(web, draft, "ticket"), **values)
    shown = browser.get(saved.headers["Location"])
    assert 'data-code="ref-unknown-field"' in shown.text
    assert "entities/ticket.yaml:" in shown.text and "record[&#39;nope&#39;]" in shown.text


def test_check_expression_answers_what_validate_says(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web, rights=("view",))
    url = _url(web, draft, "ticket/check-expression")
    good = browser.get(url, query_string={"field": "body", "key": "visible_when",
                                          "expr": "record['status'] == 'open'"})  # fmt: skip
    assert good.json == {"ok": True, "problems": []}
    bad = browser.get(url, query_string={"field": "body", "key": "visible_when",
                                         "expr": "record['nope'] == 1"})  # fmt: skip
    assert bad.json is not None and bad.json["ok"] is False
    assert [p["code"] for p in bad.json["problems"]] == ["ref-unknown-field"]
    broken = browser.get(url, query_string={"field": "body", "key": "visible_when",
                                            "expr": "record['status'] =="})  # fmt: skip
    assert broken.json is not None and broken.json["problems"][0]["file"] == "entities/ticket.yaml"
    assert browser.get(url, query_string={"field": "body", "key": "compute"}).status_code == 404
    assert drafts.get_draft(web.engine, draft).head == 1


def test_rename_a_live_field_keeps_its_data(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, "ticket"))
    saved = browser.post(
        _url(web, draft, "ticket"),
        action="rename_field", field="due", new_name="due_on", base_revision=base_of(page.text),
    )  # fmt: skip
    assert saved.headers["Location"].endswith("#field-due_on")
    assert text_diff(web, draft, 1, 2) == {
        "entities/ticket.yaml": [
            "@@ -40 +40 @@",
            "-      due:",
            "+      due_on:",
            "@@ -42,0 +43 @@",
            "+        renamed_from: due",
        ]
    }


def test_remove_a_field_shows_the_data_it_drops_then_removes_it(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, "message"))
    asked = browser.post(
        _url(web, draft, "message"), action="remove_field", field="body",
        base_revision=base_of(page.text),
    )  # fmt: skip
    assert asked.status_code == 200
    assert "3 records have a value in message.body" in asked.text
    assert "pages/tickets.yaml:31" in asked.text  # and what still uses the field
    assert drafts.get_draft(web.engine, draft).head == 1  # nothing saved yet
    confirmed = browser.post(
        _url(web, draft, "message"), **form_values(asked.text, "id", "confirm-form")
    )
    assert confirmed.status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        "entities/message.yaml": [
            "@@ -13,5 +12,0 @@",
            "-      body:",
            "-        type: text",
            "-        required: true",
            "-        max_length: 10000",
            "-        label: {en: Message, de: Nachricht, fr: Message, es: Mensaje}",
        ]
    }
    shown = browser.get(confirmed.headers["Location"])  # the draft now has problems here
    assert 'data-code="title-field"' in shown.text


def test_add_rename_and_remove_an_entity(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, ""))
    added = browser.post(_url(web, draft, ""), name="contract", label="Contract",
                         base_revision=base_of(page.text))  # fmt: skip
    assert added.headers["Location"].endswith("/entities/contract?saved=2")
    assert text_diff(web, draft, 1, 2) == {
        "entities/contract.yaml": [
            "@@ -0,0 +1,5 @@",
            "+entities:",
            "+  contract:",
            "+    label: {en: Contract}",
            "+    fields:",
            "+      name: {type: string, required: true}",
        ]
    }
    page = browser.get(_url(web, draft, "contract"))
    asked = browser.post(_url(web, draft, "contract"), action="rename_entity", new_name="deal",
                         base_revision=base_of(page.text))  # fmt: skip
    assert asked.status_code == 200 and "holds no data this change would drop" in asked.text
    renamed = browser.post(
        _url(web, draft, "contract"), **form_values(asked.text, "id", "confirm-form")
    )
    assert renamed.headers["Location"].endswith("/entities/deal?saved=3")
    assert text_diff(web, draft, 2, 3) == {
        "entities/contract.yaml": ["@@ -2 +2 @@", "-  contract:", "+  deal:"]
    }
    asked = browser.post(_url(web, draft, "deal"), action="remove_entity", base_revision="3")
    removed = browser.post(
        _url(web, draft, "deal"), **form_values(asked.text, "id", "confirm-form")
    )
    assert removed.headers["Location"].endswith("/entities/?saved=4")
    assert (
        "deal" not in drafts.revision_bundle(web.engine, draft, 4).files["entities/contract.yaml"]
    )


def test_rights_view_sees_edit_saves_none_is_404(web: WebPortal) -> None:
    draft = new_draft(web)
    viewer = signed_in(web, "viewer@example.test", rights=("view",))
    assert viewer.get(_url(web, draft, "ticket")).status_code == 200
    refused = viewer.post(_url(web, draft, "ticket"), action="add_field", name="x", type="string")
    assert refused.status_code == 404
    outsider = signed_in(web, "outsider@example.test", rights=())
    assert outsider.get(_url(web, draft, "")).status_code == 404
    assert viewer.get(_url(web, draft, "nope")).status_code == 404
    assert viewer.get(f"/_builder/p/{web.slug}/d/999/entities/").status_code == 404
    assert drafts.get_draft(web.engine, draft).head == 1


def test_two_editors_changing_one_field_keep_both_changes(web: WebPortal) -> None:
    draft = new_draft(web)
    anna = signed_in(web, "anna@example.test")
    ben = signed_in(web, "ben@example.test")
    anna_form = form_values(anna.get(_url(web, draft, "ticket")).text, "data-field", "subject")
    ben_form = form_values(ben.get(_url(web, draft, "ticket")).text, "data-field", "subject")
    anna_form["label.de"] = "Thema"
    assert anna.post(_url(web, draft, "ticket"), **anna_form).status_code == 303
    ben_form["opt.max_length"] = "150"
    conflict = ben.post(_url(web, draft, "ticket"), **ben_form)
    assert conflict.status_code == 409 and drafts.get_draft(web.engine, draft).head == 2
    again = form_values(conflict.text, "id", "confirm-form")
    assert again["base_revision"] == "2" and again["opt.max_length"] == "150"
    assert ben.post(_url(web, draft, "ticket"), **again).status_code == 303
    assert text_diff(web, draft, 1, 3) == {
        "entities/ticket.yaml": [
            "@@ -10,2 +10,2 @@",
            "-        max_length: 200",
            "-        label: {en: Subject, de: Betreff, fr: Objet, es: Asunto}",
            "+        max_length: 150",
            "+        label: {en: Subject, de: Thema, fr: Objet, es: Asunto}",
        ]
    }


def test_changing_the_type_drops_the_old_types_options(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    values = form_values(browser.get(_url(web, draft, "ticket")).text, "data-field", "priority")
    assert values["type"] == "choice" and values["default"] == "normal"
    values["type"] = "string"
    assert browser.post(_url(web, draft, "ticket"), **values).status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        "entities/ticket.yaml": [
            "@@ -16 +16 @@",
            "-        type: choice",
            "+        type: string",
            "@@ -19,5 +18,0 @@",
            "-        options:",
            "-          - {value: low, label: {en: Low, de: Niedrig, fr: Basse, es: Baja}}",
            "-          - {value: normal, label: {en: Normal, de: Normal, fr: Normale, es: Normal}}",
            "-          - {value: high, label: {en: High, de: Hoch, fr: Haute, es: Alta}}",
            "-          - {value: urgent, label: {en: Urgent, de: Dringend, fr: Urgente, es: Urgente}}",
        ]
    }
    page = browser.get(_url(web, draft, "ticket"))
    assert form_values(page.text, "data-field", "priority").get("opt.max_length") == ""


def test_every_save_is_audited_with_what_changed(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    refused = browser.post(_url(web, draft, "ticket"), csrf=False, action="add_field", name="x")
    assert refused.status_code == 400  # no CSRF token
    browser.post(_url(web, draft, "ticket"), action="add_field", name="x", type="int",
                 base_revision="1")  # fmt: skip
    with web.engine.connect() as conn:
        row = conn.execute(
            sa.select(audit_table.c.detail, audit_table.c.actor_email)
            .where(audit_table.c.action == "builder_edit")
        ).one()  # fmt: skip
    assert row.actor_email == "editor@example.test"
    assert row.detail == {"draft": draft, "revision": 2, "editor": "entities",
                          "what": "add field ticket.x"}  # fmt: skip


def test_saving_every_field_unchanged_changes_nothing(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, "ticket")).text
    fields = ["subject", "body", "priority", "tags", "account", "assignee", "amount", "due"]
    fields += ["attachment", "status", "escalated", "messages", "resolution"]
    for name in fields:
        done = browser.post(_url(web, draft, "ticket"), **form_values(page, "data-field", name))
        assert done.status_code == 303, (name, done.text)
    assert drafts.get_draft(web.engine, draft).head == 1
