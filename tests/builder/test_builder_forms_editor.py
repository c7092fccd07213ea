"""The forms editor and the save pipeline's conflict handling through the Flask client
(SQLite and PostgreSQL): each operation changes exactly the form's field list; two editors
saving from the same revision never lose an edit."""

from __future__ import annotations

from builder_support import audit_actions
from editor_support import base_of, form_values, new_draft, signed_in, text_diff

from portalis.engine import drafts
from portalis.testing.web import WebPortal

LINE = "      - form: {{entity: ticket, fields: [{}], redirect: ticket}}"
START = "subject, body, priority, amount, tags, due, attachment"


def _url(web: WebPortal, draft: int) -> str:
    return f"/_builder/p/{web.slug}/d/{draft}/forms/new_ticket/0"


def _change(before: str, after: str) -> dict[str, list[str]]:
    return {
        "pages/tickets.yaml": ["@@ -51 +51 @@", "-" + LINE.format(before), "+" + LINE.format(after)]
    }


def test_each_form_operation_changes_only_the_field_list(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft))
    assert page.status_code == 200
    assert page.text.index('id="form-field-subject"') < page.text.index('id="form-field-body"')
    steps = [
        ({"action": "add", "field": "status"}, START + ", status"),
        ({"action": "up", "field": "status"}, "subject, body, priority, amount, tags, due, status, attachment"),
        ({"action": "down", "field": "subject"}, "body, subject, priority, amount, tags, due, status, attachment"),
        ({"action": "order", "order": "status,body,subject,priority,amount,tags,due,attachment"},
         "status, body, subject, priority, amount, tags, due, attachment"),
        ({"action": "remove", "field": "status"}, "body, subject, priority, amount, tags, due, attachment"),
    ]  # fmt: skip
    before = START
    for number, (values, after) in enumerate(steps, start=2):
        done = browser.post(_url(web, draft), base_revision=str(number - 1), **values)
        assert done.status_code == 303, done.text
        assert text_diff(web, draft, number - 1, number) == _change(before, after)
        before = after
    shown = browser.get(_url(web, draft) + "?saved=6")
    assert "Saved as revision 6." in shown.text
    assert audit_actions(web.engine, web.slug).count("builder_edit") == 5


def test_moving_the_first_field_up_changes_nothing(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    done = browser.post(_url(web, draft), base_revision="1", action="up", field="subject")
    assert done.status_code == 303 and drafts.get_draft(web.engine, draft).head == 1


def test_a_form_operation_that_no_longer_applies_says_why(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    refused = browser.post(_url(web, draft), base_revision="1", action="remove", field="status")
    assert refused.status_code == 422 and "the form has no field status" in refused.text
    wrong = browser.post(_url(web, draft), base_revision="1", action="order", order="subject")
    assert wrong.status_code == 422 and "changed meanwhile" in wrong.text
    assert browser.get(f"/_builder/p/{web.slug}/d/{draft}/forms/new_ticket/9").status_code == 404
    assert browser.get(f"/_builder/p/{web.slug}/d/{draft}/forms/tickets/0").status_code == 404


def test_two_editors_saving_the_same_revision_lose_no_edit(web: WebPortal) -> None:
    draft = new_draft(web)
    anna = signed_in(web, "anna@example.test")
    ben = signed_in(web, "ben@example.test")
    anna_page = anna.get(_url(web, draft))
    ben_page = ben.get(_url(web, draft))
    assert base_of(anna_page.text) == base_of(ben_page.text) == "1"
    first = anna.post(_url(web, draft), base_revision="1", action="add", field="status")
    assert first.status_code == 303
    second = ben.post(_url(web, draft), base_revision="1", action="down", field="subject")
    assert second.status_code == 409
    assert "Someone saved this draft first" in second.text
    assert second.text.count('class="builder-diff"') == 2  # theirs and yours
    assert "+" + LINE.format(START + ", status") in second.text.replace("&#39;", "'")
    assert drafts.get_draft(web.engine, draft).head == 2  # nothing overwritten
    again = form_values(second.text, "id", "confirm-form")
    assert again == {
        "base_revision": "2", "shown_revision": "1", "action": "down", "field": "subject"
    }  # fmt: skip
    applied = ben.post(_url(web, draft), **again)
    assert applied.status_code == 303
    assert text_diff(web, draft, 1, 3) == _change(
        START, "body, subject, priority, amount, tags, due, attachment, status"
    )


def test_a_conflicting_edit_that_no_longer_applies_is_explained(web: WebPortal) -> None:
    draft = new_draft(web)
    anna = signed_in(web, "anna@example.test")
    ben = signed_in(web, "ben@example.test")
    assert (
        anna.post(_url(web, draft), base_revision="1", action="add", field="status").status_code
        == 303
    )
    ben.post(_url(web, draft), base_revision="1", action="add", field="status")
    late = ben.post(_url(web, draft), base_revision="1", action="add", field="status")
    assert late.status_code == 409 and "no longer applies" in late.text
    assert "the form already has status" in late.text and 'id="confirm-form"' not in late.text
