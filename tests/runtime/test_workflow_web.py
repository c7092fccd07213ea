"""The workflow engine over HTTP (SQLite and PostgreSQL): transition buttons with comment boxes,
approval progress and disabled reasons on the detail page, refused forms that keep what was
typed, the 409 page that shows the comment again, the history panel, and the REST API."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import TestResponse

from portalis.engine.flow import workflow
from portalis.testing.web import PortalClient, WebPortal

DEFINITION = Path(__file__).resolve().parents[1] / "engine" / "data" / "expenses"
EMAIL = "{}@example.test"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance", DEFINITION)
    yield portal
    portal.close()


def browser(web: WebPortal, who: str) -> PortalClient:
    return web.client(EMAIL.format(who))


def expense(web: WebPortal, by: str = "eve", **values: Any) -> int:
    data = {"title": "Team lunch", "amount": 240, **values}
    return web.store.insert(web.actor(EMAIL.format(by)), "expense", data).id


def status(web: WebPortal, record_id: int) -> str:
    return str(web.store.get(web.actor(EMAIL.format("mia")), "expense", record_id)["status"])


def take(web: WebPortal, who: str, record_id: int, name: str, **kwargs: Any) -> None:
    workflow.take(web.store, web.actor(EMAIL.format(who)), "expense", record_id, name, **kwargs)


def assign(web: WebPortal, record_id: int, who: str) -> None:
    """Mia (a manager) makes `who` the expense's handler."""
    handler = web.actor(EMAIL.format(who)).id
    web.store.update(web.actor(EMAIL.format("mia")), "expense", record_id, {"handler": handler})


def forms(page: str) -> dict[str, str]:
    """Transition name → the HTML of its form (details or inline)."""
    found = {}
    for match in re.finditer(r"<(details|form)\b[^>]*>.*?</\1>", page, re.S):
        name = re.search(r'name="name" value="([a-z_]+)"', match.group(0))
        if name and name.group(1) not in found:
            found[name.group(1)] = match.group(0)
    return found


def disabled(page: str) -> dict[str, str]:
    """Disabled transition label → its reason."""
    return {
        html.unescape(label): html.unescape(re.sub(r"<[^>]+>", "", reason)).strip()
        for label, reason in re.findall(
            r'<li id="b0-why-[a-z_]+"><strong>([^<]+)</strong>: (.*?)</li>', page
        )
    }


def api_post(client: PortalClient, path: str, body: Any, **headers: str) -> TestResponse:
    return client.client.post(
        client.url(path), json=body, headers={"X-CSRF-Token": client.csrf, **headers}
    )


# -- the detail page -----------------------------------------------------------------------
def test_detail_shows_buttons_comment_boxes_and_progress(web: WebPortal) -> None:
    e1 = expense(web)
    page = browser(web, "mia").get(f"/expenses/{e1}").text
    found = forms(page)
    assert set(found) == {"approve", "reject", "escalate"}
    approve, reject, escalate = found["approve"], found["reject"], found["escalate"]
    # optional comment: a box without `required`; the quorum's progress on the button
    assert '<textarea id="b0-approve-comment" name="comment"' in approve
    assert "required" not in approve.split('name="comment"')[1].split(">")[0]
    assert "(optional)" in approve and "0 of 2 approvals" in approve
    # required comment: the box is `required`
    assert re.search(r'<textarea id="b0-reject-comment" name="comment"[^>]*\brequired\b', reject)
    # no comment: a plain button, no box
    assert escalate.startswith("<form") and "textarea" not in escalate
    assert f'action="/expenses/expenses/{e1}"' in approve
    assert '<input type="hidden" name="_block" value="0">' in approve
    assert '<input type="hidden" name="version" value="1">' in approve
    # eve may not approve (role) and cannot pay yet (state): neither is shown at all
    eve = browser(web, "eve").get(f"/expenses/{e1}").text
    assert forms(eve) == {} and disabled(eve) == {}


def test_disabled_transitions_say_why(web: WebPortal) -> None:
    e1 = expense(web, amount=90)
    take(web, "mia", e1, "approve")
    mia = browser(web, "mia").get(f"/expenses/{e1}").text
    assert disabled(mia) == {"Approve": "you have already approved (1 of 2)"}
    assert "approve" not in forms(mia)
    assert "You approved · 1 of 2 approvals</span></button>" in mia
    assert "1 of 2 approvals" in forms(browser(web, "max").get(f"/expenses/{e1}").text)["approve"]
    take(web, "max", e1, "approve")
    assign(web, e1, "ada")
    abe = browser(web, "abe").get(f"/expenses/{e1}").text
    assert disabled(abe)["Pay"] == "only the assignee (Handler) may take this transition"
    ada = browser(web, "ada").get(f"/expenses/{e1}").text
    assert "pay" in forms(ada)
    assert '<input type="date" id="b0-pay-paid_on" name="paid_on"' in forms(ada)["pay"]
    big = expense(web, amount=50_000)
    take(web, "mia", big, "approve")
    take(web, "max", big, "approve")
    assign(web, big, "ada")
    reasons = disabled(browser(web, "ada").get(f"/expenses/{big}").text)
    assert reasons["Pay"] == "when-condition false: record['amount'] < 10000"
    own = expense(web, by="mia")
    assert disabled(browser(web, "mia").get(f"/expenses/{own}").text) == {
        "Approve": "the creator of the record may not approve it"
    }


def test_transition_from_the_page_with_comment(web: WebPortal) -> None:
    e1 = expense(web)
    mia = browser(web, "mia")
    form = {"_block": "0", "name": "approve", "version": "1", "comment": "Receipts fine"}
    response = mia.post(f"/expenses/{e1}", form)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/expenses/{e1}")
    page = mia.get(f"/expenses/{e1}").text
    assert "Approve: your approval was recorded (1 of 2 approvals)." in page
    assert status(web, e1) == "submitted"
    maxi = browser(web, "max")
    done = maxi.post(f"/expenses/{e1}", {**form, "comment": ""})
    assert done.status_code == 303
    page = maxi.get(f"/expenses/{e1}").text
    assert "Approve: done." in page and "approve" not in forms(page)
    assert status(web, e1) == "approved"


def test_refused_form_comes_back_with_input_and_errors(web: WebPortal) -> None:
    e1 = expense(web)
    mia = browser(web, "mia")
    refused = mia.post(
        f"/expenses/{e1}", {"_block": "0", "name": "reject", "version": "1", "comment": "  "}
    )
    assert refused.status_code == 422
    reject = forms(refused.text)["reject"]
    assert reject.startswith("<details") and " open>" in reject.split("\n")[0]
    assert "a comment is required for reject" in reject and 'aria-invalid="true"' in reject
    assert status(web, e1) == "submitted"
    # a required field missing keeps the comment typed with it
    take(web, "mia", e1, "approve")
    take(web, "max", e1, "approve")
    assign(web, e1, "ada")
    ada = browser(web, "ada")
    version = str(web.store.get(web.actor(EMAIL.format("ada")), "expense", e1).version)
    missing = ada.post(
        f"/expenses/{e1}",
        {"_block": "0", "name": "pay", "version": version, "comment": "Paid by transfer"},
    )
    assert missing.status_code == 422
    pay = forms(missing.text)["pay"]
    assert ">Paid by transfer</textarea>" in pay and "required for pay" in pay
    assert status(web, e1) == "approved"


def test_r5_stale_page_409_shows_the_comment_again(web: WebPortal) -> None:
    e1 = expense(web)
    mia = browser(web, "mia")
    assert "reject" in forms(mia.get(f"/expenses/{e1}").text)  # mia's page shows version 1
    take(web, "max", e1, "escalate")  # meanwhile
    form = {"_block": "0", "name": "reject", "version": "1", "comment": "Receipt <missing>"}
    stale = mia.post(f"/expenses/{e1}", form)
    assert stale.status_code == 409
    assert "Someone else changed this in the meantime" in stale.text
    assert "“Reject” was not applied" in html.unescape(stale.text)
    assert '<blockquote class="conflict-comment">Receipt &lt;missing&gt;</blockquote>' in stale.text
    assert f'href="/expenses/expenses/{e1}"' in stale.text
    assert status(web, e1) == "escalated"
    # the same through the /_act endpoint
    act = mia.post(
        f"/_act/expense/{e1}/transition", {**form, "name": "resubmit", "_page": "expense"}
    )
    assert act.status_code == 409 and "Receipt &lt;missing&gt;" in act.text
    assert status(web, e1) == "escalated"


def test_act_endpoint_comment_and_reasons(web: WebPortal) -> None:
    e1 = expense(web)
    mia = browser(web, "mia")
    data = {"name": "approve", "version": "1", "comment": "Looks right", "_page": "expense"}
    assert mia.post(f"/_act/expense/{e1}/transition", data).status_code == 303
    again = mia.post(f"/_act/expense/{e1}/transition", data)
    assert again.status_code == 303  # a reason to tell, not a forbidden page
    assert "Approve: you have already approved (1 of 2)" in mia.get(f"/expenses/{e1}").text
    missing = mia.post(
        f"/_act/expense/{e1}/transition", {"name": "reject", "version": "1", "_page": "expense"}
    )
    assert missing.status_code == 303
    assert "Comment: a comment is required for reject" in mia.get(f"/expenses/{e1}").text
    eve = browser(web, "eve")
    assert eve.post(f"/_act/expense/{e1}/transition", data).status_code == 403  # no role
    theirs = expense(web, by="mia")
    assert eve.post(f"/_act/expense/{theirs}/transition", data).status_code == 404


def test_history_panel_for_permitted_roles(web: WebPortal) -> None:
    e1 = expense(web)
    take(web, "mia", e1, "reject", comment="Receipt missing", expected_version=1)
    mia = browser(web, "mia").get(f"/expenses/{e1}").text
    assert 'class="history"' in mia and "Receipt missing" in mia
    assert "Mia Manager</strong> applied “Reject”" in html.unescape(mia)
    eve = browser(web, "eve").get(f"/expenses/{e1}").text
    assert 'class="history"' not in eve and "Receipt missing" not in eve


# -- the REST API ----------------------------------------------------------------------------
def test_api_lists_transitions_with_reasons(web: WebPortal) -> None:
    e1 = expense(web)
    take(web, "mia", e1, "approve")
    body = browser(web, "mia").get(f"/api/v1/expense/{e1}/transitions").json
    assert body["record"] == {"id": e1, "version": 1, "states": {"expense_flow": "submitted"}}
    items = {t["name"]: t for t in body["transitions"]}
    assert items["approve"]["available"] is False and items["approve"]["code"] == "already-approved"
    assert items["approve"]["reason"] == "you have already approved (1 of 2)"
    assert items["approve"]["approvals"] == {"given": 1, "needed": 2, "approved_by_you": True}
    assert items["reject"]["available"] is True and items["reject"]["comment"] == "required"
    assert items["pay"]["reason"] == "not available in state 'submitted'"
    assert items["pay"]["require"] == ["paid_on"] and items["pay"]["to"] == "paid"
    eve = {
        t["name"]: t
        for t in browser(web, "eve").get(f"/api/v1/expense/{e1}/transitions").json["transitions"]
    }
    assert eve["approve"]["reason"] == "needs role manager" and eve["approve"]["code"] == "role"
    theirs = expense(web, by="mia")
    assert browser(web, "eve").get(f"/api/v1/expense/{theirs}/transitions").status_code == 404
    assert web.client().get(f"/api/v1/expense/{e1}/transitions").status_code == 401


def test_api_takes_transitions(web: WebPortal) -> None:
    e1 = expense(web)
    mia, maxi = browser(web, "mia"), browser(web, "max")
    first = api_post(
        mia, f"/api/v1/expense/{e1}/transitions/approve", {"version": 1, "comment": "ok"}
    )
    assert first.status_code == 200
    assert first.json["applied"] is False
    assert first.json["approvals"] == {"given": 1, "needed": 2, "approved_by_you": True}
    assert first.json["record"]["status"] == "submitted" and first.headers["ETag"] == '"1"'
    twice = api_post(mia, f"/api/v1/expense/{e1}/transitions/approve", {"version": 1})
    assert twice.status_code == 403 and twice.mimetype == "application/problem+json"
    assert twice.json["code"] == "transition-unavailable"
    assert twice.json["reason"] == "already-approved"
    assert twice.json["detail"] == "you have already approved (1 of 2)"
    done = api_post(maxi, f"/api/v1/expense/{e1}/transitions/approve", {}, **{"If-Match": '"1"'})
    assert done.status_code == 200 and done.json["applied"] is True
    assert done.json["record"]["status"] == "approved" and done.headers["ETag"] == '"2"'
    stale = api_post(maxi, f"/api/v1/expense/{e1}/transitions/approve", {"version": 1})
    assert stale.status_code == 409 and stale.json["code"] == "stale"


def test_api_transition_errors(web: WebPortal) -> None:
    e1 = expense(web)
    mia = browser(web, "mia")
    path = f"/api/v1/expense/{e1}/transitions"
    missing = api_post(mia, f"{path}/reject", {"version": 1})
    assert missing.status_code == 422 and missing.json["errors"]["comment"][0]["code"] == "required"
    bad = api_post(mia, f"{path}/reject", {"version": 1, "comment": 5, "status": "paid"})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"comment", "status"}
    system = api_post(mia, f"{path}/reject", {"comment": "x", "values": {"version": 3}})
    assert system.status_code == 422
    assert api_post(mia, f"{path}/teleport", {"version": 1}).status_code == 404
    no_csrf = mia.client.post(mia.url(f"{path}/reject"), json={"comment": "x"})
    assert no_csrf.status_code == 403 and no_csrf.json["code"] == "csrf"
    form = mia.client.post(
        mia.url(f"{path}/reject"), data={"comment": "x"}, headers={"X-CSRF-Token": mia.csrf}
    )
    assert form.status_code == 415
    eve = browser(web, "eve")
    assert api_post(eve, f"{path}/approve", {"version": 1}).status_code == 403
    theirs = expense(web, by="mia")
    assert api_post(eve, f"/api/v1/expense/{theirs}/transitions/resubmit", {}).status_code == 404
    assert status(web, e1) == "submitted"


def test_api_transitions_in_openapi(web: WebPortal) -> None:
    doc = browser(web, "mia").get("/api/v1/openapi.json").json
    listing = doc["paths"]["/expense/{id}/transitions"]["get"]
    assert listing["operationId"] == "transitions_expense"
    # one operation per transition, each with the request body it accepts
    prefix = "/expense/{id}/transitions/"
    names = sorted(p.removeprefix(prefix) for p in doc["paths"] if p.startswith(prefix))
    assert names == ["approve", "book", "escalate", "pay", "reject", "resubmit"]
    post = doc["paths"][f"{prefix}pay"]
    assert set(post["post"]["responses"]) >= {"200", "403", "404", "409", "422"}
    schemas = doc["components"]["schemas"]
    pay = schemas["expense.transition.pay"]
    assert set(pay["properties"]) == {"version", "comment", "values"}
    assert set(pay["properties"]["values"]["properties"]) == {"paid_on"}
    assert pay["required"] == ["values"] and pay["properties"]["values"]["required"] == ["paid_on"]
    assert "comment" in schemas["expense.transition.reject"]["required"]
    assert schemas["expense.transition.approve"]["properties"]["values"]["properties"] == {}
    assert "Transition" in schemas and "expense.transition_result" in schemas
    # ada (accountant) has transition grants; the anonymous document has no expense paths
    assert f"{prefix}pay" in browser(web, "ada").get("/api/v1/openapi.json").json["paths"]
    assert "/expense/{id}/transitions" not in web.client().get("/api/v1/openapi.json").json["paths"]
