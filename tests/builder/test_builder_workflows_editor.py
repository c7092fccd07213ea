"""The workflows editor through the Flask client (SQLite and PostgreSQL): every operation
applied to a draft of the starter blueprint changes exactly the intended lines; the diagram
and the table come from the same YAML; the diagram is drawn once per revision."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

import pytest
import sqlalchemy as sa
from builder_support import BuilderBrowser, audit_actions
from editor_support import _FormReader, base_of, new_draft, signed_in, text_diff

from portalis.builder.editors import workflow_diagram
from portalis.engine import drafts
from portalis.testing.web import WebPortal, app_state

FLOW = "workflows/ticket_flow.yaml"
TICKETS = "p_acme_support__ticket"


def _url(web: WebPortal, draft: int, rest: str = "ticket_flow") -> str:
    return f"/_builder/p/{web.slug}/d/{draft}/workflows/{rest}"


def _needs_dot() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Graphviz `dot` is missing (Debian package graphviz: make system-deps)")
        pytest.skip("Graphviz `dot` is not installed")


def _svg(page: str) -> str:
    found = re.search(r"<svg .*?</svg>", page, re.S)
    assert found, "no inline diagram"
    return found.group(0)


def _row(page: str, name: str) -> str:
    found = re.search(rf'<tr data-transition="{name}">.*?</tr>', page, re.S)
    assert found, name
    return found.group(0)


def _form(page: str, attr: str, value: str) -> dict[str, Any]:
    """The form's values as a browser submits them (repeated names as lists)."""
    reader = _FormReader(attr, value)
    reader.feed(page)
    assert reader.done, value
    out: dict[str, Any] = {}
    for key, val in reader.values:
        if key in ("from", "roles"):
            out.setdefault(key, []).append(val)
        elif key != "csrf_token":
            out[key] = val
    return out


def _post(browser: BuilderBrowser, url: str, values: dict[str, Any]) -> Any:
    return browser.post(url, **values)


def test_editing_a_transition_changes_table_diagram_and_one_entry(web: WebPortal) -> None:
    _needs_dot()
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft)).text
    svg = _svg(page)
    assert 'role="img"' in svg and "<title>Diagram of workflow ticket_flow</title>" in svg
    for label in ("Start work", "Resolve", "Close", "Reopen"):
        assert f">{label}</text>" in svg and f">{label}</a>" in page
    assert "<td>in_progress</td>" in _row(page, "start")
    values = _form(page, "data-transition", "start")
    assert values["from"] == ["open"] and values["to"] == "in_progress"
    values.update({"to": "resolved", "label.en": "Begin"})
    saved = _post(browser, _url(web, draft), values)
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("ticket_flow?saved=2#transition-start")
    # an edited multi-line flow entry keeps its lines: only the changed values differ
    assert text_diff(web, draft, 1, 2) == {
        FLOW: [
            "@@ -7,2 +7,2 @@",
            "-      - {name: start, from: open, to: in_progress, roles: [agent],",
            "-         label: {en: Start work, de: Bearbeitung beginnen, fr: Commencer, es: Empezar}}",
            "+      - {name: start, from: open, to: resolved, roles: [agent],",
            "+         label: {en: Begin, de: Bearbeitung beginnen, fr: Commencer, es: Empezar}}",
        ]
    }  # fmt: skip
    after = browser.get(saved.headers["Location"]).text
    assert "<td>resolved</td>" in _row(after, "start") and ">Begin</a>" in _row(after, "start")
    new_svg = _svg(after)
    assert ">Begin</text>" in new_svg and ">Start work</text>" not in new_svg
    assert new_svg != svg


def test_the_diagram_is_drawn_once_per_revision(
    web: WebPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    _needs_dot()
    runs: list[list[str]] = []
    real = subprocess.run

    def counted(args: list[str], **kw: Any) -> Any:
        runs.append(args)
        return real(args, **kw)

    monkeypatch.setattr(workflow_diagram.subprocess, "run", counted)
    draft = new_draft(web)
    browser = signed_in(web)
    for _ in range(3):
        assert browser.get(_url(web, draft)).status_code == 200
    assert len(runs) == 1 and runs[0][1:] == ["-Tsvg"]
    browser.get(_url(web, draft) + "?lang=de")  # labels in another language: another drawing
    assert len(runs) == 2


def test_without_dot_the_table_stays_with_a_note(
    web: WebPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    draft = new_draft(web)
    page = signed_in(web).get(_url(web, draft)).text
    assert 'data-diagram="missing"' in page and "Graphviz" in page and "<svg" not in page
    assert "<td>in_progress</td>" in _row(page, "start")


def test_saving_every_form_unchanged_changes_nothing(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft)).text
    for name in ("start", "resolve", "close", "reopen"):
        done = _post(browser, _url(web, draft), _form(page, "data-transition", name))
        assert done.status_code == 303, (name, done.text)
    assert _post(browser, _url(web, draft), _form(page, "data-timer", "0")).status_code == 303
    assert drafts.get_draft(web.engine, draft).head == 1


def test_approvals_and_actions_through_the_generated_form(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    values = _form(browser.get(_url(web, draft)).text, "data-transition", "close")
    assert values["t2.comment"] == "none" and values["roles"] == ["agent", "customer"]
    values.update({"t2.approvals.roles": "agent", "t2.approvals.count": "2"})
    values["t2.actions"] = "- set: {escalated: false}"
    assert _post(browser, _url(web, draft), values).status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        FLOW: [
            "@@ -13 +13 @@",
            "-         label: {en: Close, de: Schließen, fr: Fermer, es: Cerrar}, comment: none}",
            "+         label: {en: Close, de: Schließen, fr: Fermer, es: Cerrar}, comment: none, approvals: {roles: [agent], count: 2}, actions: [{set: {escalated: false}}]}",
        ]
    }  # fmt: skip
    taken = _post(browser, _url(web, draft), {**values, "base_revision": "2", "name": "start"})
    assert taken.status_code == 422 and "Not a new transition name" in taken.text
    values["t2.approvals.count"] = "99"
    refused = _post(browser, _url(web, draft), {**values, "base_revision": "2"})
    assert refused.status_code == 422 and "greater than the maximum of 50" in refused.text
    assert drafts.get_draft(web.engine, draft).head == 2


def test_rename_a_state_renames_it_everywhere_the_workflow_names_it(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft)).text
    saved = browser.post(_url(web, draft), action="rename_state", state="resolved",
                         new_name="done", base_revision=base_of(page))  # fmt: skip
    assert saved.status_code == 303
    diff = text_diff(web, draft, 1, 2)
    assert diff["entities/ticket.yaml"] == [
        "@@ -55 +55 @@",
        "-          - {value: resolved, label: {en: Resolved, de: Gelöst, fr: Résolu, es: Resuelto}}",
        "+          - {value: done, label: {en: Resolved, de: Gelöst, fr: Résolu, es: Resuelto}, "
        "renamed_from: resolved}",
    ]  # the live version has `resolved`: publishing moves its records to `done`
    # each transition keeps its lines: only the words that named the state change
    original = drafts.revision_bundle(web.engine, draft, 1).files[FLOW].splitlines()
    assert diff[FLOW] == [
        line
        for number in (9, 12, 14)
        for line in (
            f"@@ -{number} +{number} @@",
            "-" + original[number - 1],
            "+" + re.sub(r"\bresolved\b", "done", original[number - 1]),
        )
    ]
    shown = browser.get(saved.headers["Location"]).text
    assert 'data-state="done"' in shown and "builder-problems" not in shown
    # renamed again, the option keeps the live name; renamed back, it needs none
    again = browser.post(_url(web, draft), action="rename_state", state="done",
                         new_name="finished", base_revision="2")  # fmt: skip
    assert again.status_code == 303
    assert "renamed_from: resolved}" in text_diff(web, draft, 1, 3)["entities/ticket.yaml"][-1]
    back = browser.post(_url(web, draft), action="rename_state", state="finished",
                        new_name="resolved", base_revision="3")  # fmt: skip
    assert back.status_code == 303
    assert "entities/ticket.yaml" not in text_diff(web, draft, 1, 4)  # the option as it was


def test_a_state_renamed_in_the_builder_keeps_its_records_on_publish(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    with web.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {TICKETS} SET status = 'resolved' WHERE id IN (1, 2)"))
    saved = browser.post(_url(web, draft), action="rename_state", state="resolved",
                         new_name="done", base_revision="1")  # fmt: skip
    assert saved.status_code == 303
    plan = browser.get(f"/_builder/p/{web.slug}/d/{draft}/plan").text
    assert "~ rename state resolved -&gt; done of ticket.status (2 records)" in plan
    drafts.publish(web.engine, app_state(web.app).checker, draft, 2)
    with web.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT status FROM {TICKETS} WHERE id IN (1, 2)")).all()
    assert [r[0] for r in rows] == ["done", "done"]


def test_add_and_remove_states(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    used = browser.post(_url(web, draft), action="remove_state", state="open", base_revision="1")
    assert used.status_code == 422 and "initial, start, reopen, timer urgent_sla" in used.text
    added = browser.post(_url(web, draft), action="add_state", value="waiting", label="Waiting",
                         base_revision="1")  # fmt: skip
    assert added.headers["Location"].endswith("ticket_flow?saved=2#states")
    assert text_diff(web, draft, 1, 2) == {
        "entities/ticket.yaml": [
            "@@ -56,0 +57 @@",
            "+          - {value: waiting, label: {en: Waiting}}",
        ]  # fmt: skip
    }
    removed = browser.post(_url(web, draft), action="remove_state", state="waiting",
                           base_revision="2")  # fmt: skip
    assert removed.status_code == 303
    assert text_diff(web, draft, 1, 3) == {}


def test_add_and_remove_a_transition(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    added = browser.post(_url(web, draft), action="add_transition", name="pause",
                         label="Pause", to="open", roles=["agent"], base_revision="1",
                         **{"from": "in_progress"})  # fmt: skip
    assert added.headers["Location"].endswith("#transition-pause")
    assert text_diff(web, draft, 1, 2) == {
        FLOW: [
            "@@ -16,0 +17 @@",
            "+      - {name: pause, from: in_progress, to: open, roles: [agent], label: {en: Pause}}",
        ]  # fmt: skip
    }
    removed = browser.post(_url(web, draft), action="remove_transition", index="4",
                           base_revision="2")  # fmt: skip
    assert removed.status_code == 303 and text_diff(web, draft, 1, 3) == {}


def test_timers_edit_add_and_remove(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    values = _form(browser.get(_url(web, draft)).text, "data-timer", "0")
    assert values["timer0.after"] == "4h" and values["timer0.state"] == "open"
    values["timer0.after"] = "8h"
    assert _post(browser, _url(web, draft), values).status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        FLOW: ["@@ -21 +21 @@", "-        after: 4h", "+        after: 8h"]
    }
    added = browser.post(_url(web, draft), action="add_timer", state="resolved", after="2w",
                         base_revision="2")  # fmt: skip
    assert added.status_code == 303
    assert text_diff(web, draft, 2, 3) == {
        FLOW: ["@@ -25,0 +26,2 @@", "+      - state: resolved", "+        after: 2w"]
    }
    removed = browser.post(_url(web, draft), action="remove_timer", index="1", base_revision="3")
    assert removed.status_code == 303 and text_diff(web, draft, 2, 4) == {}


def test_a_timers_state_and_transition_are_picked_from_the_workflows(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft)).text
    timer = re.search(r'<form [^>]*data-timer="0".*?</form>', page, re.S)
    assert timer is not None
    states = re.search(
        r'<select id="sf-timer0-state" name="timer0.state".*?</select>', timer[0], re.S
    )
    assert states is not None
    options = re.findall(r'<option value="([^"]*)"', states[0])
    assert options == ["", "open", "in_progress", "resolved", "closed"]
    assert '<option value="open" selected>' in states[0]
    assert '<select id="sf-timer0-transition" name="timer0.transition"' in timer[0]
    # the choice is checked on the server: a name that is no state is refused, nothing saved
    values = _form(page, "data-timer", "0")
    values["timer0.state"] = "nowhere"
    refused = _post(browser, _url(web, draft), values)
    assert refused.status_code == 422 and "timer0.state" in refused.text
    values["timer0.state"], values["timer0.transition"] = "open", "no_such_transition"
    assert _post(browser, _url(web, draft), values).status_code == 422
    values["timer0.transition"] = ""
    values["timer0.state"] = "in_progress"
    assert _post(browser, _url(web, draft), values).status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        FLOW: ["@@ -20 +20 @@", "-        state: open", "+        state: in_progress"]
    }


def test_add_a_workflow_bound_to_a_choice_field(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    overview = browser.get(f"/_builder/p/{web.slug}/d/{draft}/").text
    assert f'href="{_url(web, draft, "")}"' in overview  # the draft links to the editor
    listing = browser.get(_url(web, draft, ""))
    assert 'data-workflow="ticket_flow"' in listing.text
    assert '<option value="ticket.priority">' in listing.text
    refused = browser.post(_url(web, draft, ""), name="priority_flow", binding="ticket.subject",
                           roles=["agent"], base_revision="1")  # fmt: skip
    assert refused.status_code == 422
    added = browser.post(_url(web, draft, ""), name="priority_flow", binding="ticket.priority",
                         roles=["agent"], base_revision="1")  # fmt: skip
    assert added.headers["Location"].endswith("/workflows/priority_flow?saved=2")
    assert text_diff(web, draft, 1, 2) == {
        "workflows/priority_flow.yaml": [
            "@@ -0,0 +1,7 @@",
            "+workflows:",
            "+  priority_flow:",
            "+    entity: ticket",
            "+    field: priority",
            "+    initial: low",
            "+    transitions:",
            "+      - {name: to_normal, from: low, to: normal, roles: [agent]}",
        ]
    }
    assert browser.get(added.headers["Location"]).status_code == 200
    german = browser.get(_url(web, draft) + "?lang=de").text
    assert "Übergang reopen speichern" in german and "Status hinzufügen" in german
    assert audit_actions(web.engine, web.slug)[-1] == "builder_edit"


def test_when_is_checked_as_validate_checks_it(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web, rights=("view",))
    url = _url(web, draft) + "/check-expression"
    good = browser.get(url, query_string={"field": "reopen", "key": "when",
                                          "expr": "record['status'] == 'closed'"})  # fmt: skip
    assert good.json == {"ok": True, "problems": []}
    bad = browser.get(url, query_string={"field": "reopen", "key": "when",
                                         "expr": "record['nope'] == 1"})  # fmt: skip
    assert bad.json is not None and [p["code"] for p in bad.json["problems"]] == [
        "ref-unknown-field"
    ]
    assert bad.json["problems"][0]["file"] == FLOW
    assert browser.get(url, query_string={"field": "nope", "key": "when"}).status_code == 404
    assert drafts.get_draft(web.engine, draft).head == 1


def test_rights_view_sees_edit_saves_none_is_404(web: WebPortal) -> None:
    draft = new_draft(web)
    viewer = signed_in(web, "viewer@example.test", rights=("view",))
    page = viewer.get(_url(web, draft))
    assert page.status_code == 200 and "Save transition" not in page.text
    refused = viewer.post(_url(web, draft), action="add_state", value="x", base_revision="1")
    assert refused.status_code == 404
    outsider = signed_in(web, "outsider@example.test", rights=())
    assert outsider.get(_url(web, draft, "")).status_code == 404
    assert viewer.get(_url(web, draft, "nope")).status_code == 404
    assert drafts.get_draft(web.engine, draft).head == 1


def test_two_editors_changing_one_transition_keep_both_changes(web: WebPortal) -> None:
    draft = new_draft(web)
    anna = signed_in(web, "anna@example.test")
    ben = signed_in(web, "ben@example.test")
    anna_form = _form(anna.get(_url(web, draft)).text, "data-transition", "reopen")
    ben_form = _form(ben.get(_url(web, draft)).text, "data-transition", "reopen")
    anna_form["label.de"] = "Neu öffnen"
    assert _post(anna, _url(web, draft), anna_form).status_code == 303
    ben_form["t3.comment"] = "optional"
    conflict = _post(ben, _url(web, draft), ben_form)
    assert conflict.status_code == 409 and drafts.get_draft(web.engine, draft).head == 2
    again = _form(conflict.text, "id", "confirm-form")
    assert again["base_revision"] == "2" and again["t3.comment"] == "optional"
    assert _post(ben, _url(web, draft), again).status_code == 303
    flow = drafts.revision_bundle(web.engine, draft, 3).files[FLOW]
    assert "de: Neu öffnen" in flow and "comment: optional" in flow


def test_renaming_a_transition_renames_the_timer_that_takes_it(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    added = browser.post(_url(web, draft), action="add_timer", state="resolved", after="2w",
                         base_revision="1")  # fmt: skip
    assert added.status_code == 303
    page = browser.get(_url(web, draft)).text
    timer = _form(page, "data-timer", "1")
    timer["timer1.transition"] = "close"
    assert _post(browser, _url(web, draft), timer).status_code == 303
    values = _form(browser.get(_url(web, draft)).text, "data-transition", "close")
    values["name"] = "finish"
    assert _post(browser, _url(web, draft), values).status_code == 303
    assert text_diff(web, draft, 3, 4)[FLOW][-2:] == [
        "-        transition: close",
        "+        transition: finish",
    ]
    assert "builder-problems" not in browser.get(_url(web, draft)).text
