"""The form block over HTTP: widgets, create and edit, errors kept in place, 409 on stale."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from portalis.engine.definition.fieldtypes import Money
from portalis.runtime import widgets
from portalis.testing.web import WebPortal

INVOICE = "Invoice 2026-114 is wrong"
OUTAGE = "Outage in the order portal"
NOTES = Path(__file__).parent / "data" / "blocks_notes"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path)
    yield portal
    portal.close()


def new_id(location: str) -> int:
    match = re.search(r"/tickets/(\d+)$", location)
    assert match, location
    return int(match.group(1))


def test_new_ticket_widgets(web: WebPortal) -> None:
    html = web.client("ben@acme.test").get("/tickets/new").text
    assert 'enctype="multipart/form-data"' in html
    assert '<input type="hidden" name="_block" value="0">' in html
    assert '<label for="b0-subject">Subject' in html
    assert re.search(
        r'<input type="text" id="b0-subject" name="subject" value="" required[^>]*maxlength="200"',
        html,
    )
    assert '<textarea id="b0-body" name="body"' in html
    assert '<option value="normal" selected>Normal</option>' in html  # the field's default
    assert '<input type="date" id="b0-due" name="due"' in html
    assert 'accept=".jpg,.pdf,.png,.txt"' in html
    assert "Separate tags with commas" in html
    assert 'class="required"' in html
    # fields the block does not list, and workflow state, are never inputs
    assert 'name="status"' not in html and 'name="account"' not in html


def test_create_redirects_and_lists(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    response = ben.post(
        "/tickets/new",
        {
            "_block": "0",
            "subject": "Printer on fire",
            "body": "Line 1\r\nLine 2",
            "priority": "urgent",
            "tags": "hardware, urgent",
        },
    )
    assert response.status_code == 303
    tid = new_id(response.headers["Location"])
    page = ben.get(f"/tickets/{tid}")
    assert "Ticket saved." in page.text and "notice-success" in page.text
    assert "Printer on fire" in page.text
    assert '<span class="tag">hardware</span><span class="tag">urgent</span>' in page.text
    assert "Printer on fire" in ben.get("/tickets").text
    assert "Printer on fire" not in web.client("nina@globex.test").get("/tickets").text
    stored = web.store.get(web.actor("sam@support.test"), "ticket", tid)
    assert stored["body"] == "Line 1\nLine 2"
    assert stored["account"] == web.record_id("account", name="Acme GmbH")


def test_errors_next_to_fields_and_values_kept(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    response = ben.post(
        "/tickets/new",
        {"_block": "0", "subject": "", "body": "Keep <this> text", "priority": "high"},
    )
    assert response.status_code == 422
    html = response.text
    assert '<p class="field-error" id="b0-subject-error">this field is required</p>' in html
    assert 'aria-invalid="true" aria-describedby="b0-subject-error"' in html
    assert "Keep &lt;this&gt; text</textarea>" in html
    assert '<option value="high" selected>High</option>' in html
    assert web.store.count(web.actor("sam@support.test"), "ticket") == (4, True)


def test_rule_errors_at_the_top(web: WebPortal) -> None:
    past = (date.today() - timedelta(days=3)).isoformat()
    response = web.client("ben@acme.test").post(
        "/tickets/new", {"_block": "0", "subject": "Late", "due": past}
    )
    assert response.status_code == 422
    assert '<div class="form-error" role="alert">' in response.text
    assert "The due date is in the past" in response.text
    assert f'value="{past}"' in response.text


def test_asvs_15_3_3_mass_assignment_ignored(web: WebPortal) -> None:
    globex = web.record_id("account", name="Globex Ltd")
    sam = web.record_id("user", email="sam@support.test")
    response = web.client("ben@acme.test").post(
        "/tickets/new",
        {
            "_block": "0",
            "subject": "Sneaky",
            "account": str(globex),
            "status": "closed",
            "assignee": str(sam),
            "created_by": str(sam),
            "id": "1",
            "version": "9",
        },
    )
    assert response.status_code == 303
    record = web.store.get(
        web.actor("sam@support.test"), "ticket", new_id(response.headers["Location"])
    )
    assert record["account"] == web.record_id("account", name="Acme GmbH")
    assert record["status"] == "open" and record["assignee"] is None
    assert record["created_by"] == web.record_id("user", email="ben@acme.test")


def test_bad_block_index_400_and_csrf(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    assert ben.post("/tickets/new", {"_block": "7", "subject": "x"}).status_code == 400
    assert (
        ben.post("/tickets/new", {"_block": "0", "subject": "x", "csrf_token": "wrong"}).status_code
        == 400
    )


def test_edit_form_only_writable_inputs(web: WebPortal) -> None:
    t1 = web.record_id("ticket", subject=INVOICE)
    html = web.client("anna@acme.test").get(f"/tickets/{t1}/edit").text
    assert f'value="{INVOICE}"' in html
    assert 'name="priority"' not in html  # customers may not update priority: read-only
    assert "<dt>Priorität</dt>" in html
    assert 'name="assignee"' not in html and "Bearbeiter" not in html  # not readable at all
    assert 'name="resolution"' not in html  # hidden while open
    assert '<input type="hidden" name="version" value="1">' in html
    assert f'href="/acme-support/tickets/{t1}"' in html  # cancel


def test_edit_saves_and_stale_version_409(web: WebPortal) -> None:
    t1 = web.record_id("ticket", subject=INVOICE)
    anna = web.client("anna@acme.test")
    anna.get("/?lang=en")  # anna reads German by profile; the 409 text is checked in English
    data = {
        "_block": "0",
        "version": "1",
        "subject": "Invoice fixed?",
        "body": "x",
        "tags": "billing",
    }
    response = anna.post(f"/tickets/{t1}/edit", data)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/tickets/{t1}")
    assert web.store.get(web.actor("anna@acme.test"), "ticket", t1)["subject"] == "Invoice fixed?"
    stale = anna.post(f"/tickets/{t1}/edit", {**data, "subject": "Lost update"})
    assert stale.status_code == 409
    assert "Reload" in stale.text and f'href="/acme-support/tickets/{t1}/edit"' in stale.text
    assert web.store.get(web.actor("anna@acme.test"), "ticket", t1)["subject"] == "Invoice fixed?"


def test_asvs_8_2_3_edit_ignores_fields_not_writable(web: WebPortal) -> None:
    t1 = web.record_id("ticket", subject=INVOICE)
    response = web.client("anna@acme.test").post(
        f"/tickets/{t1}/edit",
        {"_block": "0", "version": "1", "subject": "Mine", "priority": "low", "status": "closed"},
    )
    assert response.status_code == 303
    record = web.store.get(web.actor("sam@support.test"), "ticket", t1)
    assert record["priority"] == "high" and record["status"] == "open"


def test_agent_edit_has_ref_select(web: WebPortal) -> None:
    t4 = web.record_id("ticket", subject=OUTAGE)
    sam_id = web.record_id("user", email="sam@support.test")
    html = web.client("sam@support.test").get(f"/tickets/{t4}/edit").text
    assert '<select id="b0-assignee" name="assignee"' in html
    assert f'<option value="{sam_id}" selected>Sam Agent</option>' in html
    assert 'name="priority"' in html


def test_parent_form_adds_message(web: WebPortal) -> None:
    t1 = web.record_id("ticket", subject=INVOICE)
    ben = web.client("ben@acme.test")
    response = ben.post(f"/tickets/{t1}", {"_block": "3", "body": "Any news?"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/tickets/{t1}")
    assert "Any news?" in ben.get(f"/tickets/{t1}").text
    messages = web.store.list(
        web.actor("sam@support.test"), "message", filters={"ticket": t1}
    ).records
    assert any(m["body"] == "Any news?" for m in messages)
    empty = ben.post(f"/tickets/{t1}", {"_block": "3", "body": "  "})
    assert empty.status_code == 422


def test_asvs_8_2_2_idor_parent_form_404(web: WebPortal) -> None:
    t4 = web.record_id("ticket", subject=OUTAGE)
    response = web.client("ben@acme.test").post(f"/tickets/{t4}", {"_block": "3", "body": "hi"})
    assert response.status_code == 404
    assert web.store.count(web.actor("sam@support.test"), "message") == (3, True)


def test_checkbox_money_and_choice_widgets(database_url: str, tmp_path: Path) -> None:
    web = WebPortal.deploy(database_url, tmp_path, NOTES)
    try:
        mo = web.client("mo@notes.test")
        html = mo.get("/notes/new").text
        assert '<input type="hidden" name="done" value="false">' in html
        assert '<input type="checkbox" id="b0-done" name="done" value="true">' in html
        assert (
            '<div class="money-input">' in html
            and '<option value="EUR" selected>EUR</option>' in html
        )
        assert 'name="cost__currency"' in html
        created = mo.post(
            "/notes/new",
            {
                "_block": "0",
                "title": "Unchecked",
                "done": "false",
                "cost": "7.5",
                "cost__currency": "USD",
                "kind": "b",
            },
        )
        assert created.status_code == 303 and "/notes/" in created.headers["Location"]
        checked = mo.post(
            "/notes/new", {"_block": "0", "title": "Checked", "done": ["false", "true"], "cost": ""}
        )
        assert checked.status_code == 303
        notes = {r["title"]: r for r in web.store.list(web.actor("mo@notes.test"), "note").records}
        assert notes["Unchecked"]["done"] is False and notes["Checked"]["done"] is True
        assert notes["Unchecked"]["cost"] == Money(Decimal("7.50"), "USD")
        assert notes["Checked"]["cost"] is None
        bad = mo.post("/notes/new", {"_block": "0", "title": "Bad", "cost": "12abc"})
        assert bad.status_code == 422 and 'id="b0-cost-error"' in bad.text
    finally:
        web.close()


def test_large_ref_target_works_without_javascript(
    web: WebPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(widgets, "REF_SELECT_MAX", 2)  # more users than that: no <select>
    t4 = web.record_id("ticket", subject=OUTAGE)
    ben = web.record_id("user", email="ben@acme.test")
    sam = web.client("sam@support.test")
    html = sam.get(f"/tickets/{t4}/edit").text
    assert 'list="b0-assignee-options"' in html and '<datalist id="b0-assignee-options">' in html
    assert 'data-autocomplete="/acme-support/_ac/user"' in html
    assert "Selected: Sam Agent" in html
    form = {"_block": "0", "version": "1", "subject": OUTAGE, "priority": "urgent"}
    ambiguous = sam.post(f"/tickets/{t4}/edit", {**form, "assignee": "a"})
    assert ambiguous.status_code == 422 and "several records match" in ambiguous.text
    unknown = sam.post(f"/tickets/{t4}/edit", {**form, "assignee": "Nobody Here"})
    assert unknown.status_code == 422 and "no matching record" in unknown.text
    assert 'value="Nobody Here"' in unknown.text
    typed = sam.post(f"/tickets/{t4}/edit", {**form, "assignee": "ben ortiz"})
    assert typed.status_code == 303
    assert web.store.get(web.actor("sam@support.test"), "ticket", t4)["assignee"] == ben
