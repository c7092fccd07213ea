"""SECURITY A.25 over the whole builder: every route of the builder blueprint that accepts
POST refuses a form without a CSRF token (400), for a signed-in account with every right, and
nothing changes. The routes are read from the application's URL map, so a route added later
is covered without a change here."""

from __future__ import annotations

from builder_support import audit_actions
from editor_support import new_draft, signed_in
from werkzeug.routing import Rule

from portalis.engine import drafts
from portalis.testing.web import WebPortal

#: The view-as pages refuse every write before anything else (SECURITY A.25's "no state
#: change"): 403 read-only, whatever the token. (A preview's pages are the inner runtime's,
#: which checks its own token: 400 like the rest.)
READ_ONLY = {"builder.view_as_page": 403}


def _post_rules(web: WebPortal) -> list[Rule]:
    rules = [
        rule
        for rule in web.app.url_map.iter_rules()
        if rule.endpoint.startswith("builder.") and "POST" in (rule.methods or ())
    ]
    assert len(rules) >= 25, [r.rule for r in rules]
    return rules


def _url(rule: Rule, web: WebPortal, draft: int) -> str:
    values: dict[str, object] = {
        "slug": web.slug, "draft": draft, "number": 1, "entity": "ticket", "page": "new_ticket",
        "block": 0, "role": "customer", "workflow": "ticket_flow", "file": "portal.yaml",
        "rest": f"{web.slug}/tickets/new",
    }  # fmt: skip
    missing = set(rule.arguments) - set(values)
    assert not missing, (rule.rule, missing)
    built = rule.build({k: v for k, v in values.items() if k in rule.arguments})
    assert built is not None, rule.rule
    return built[1]


def test_a25_every_builder_post_route_refuses_a_form_without_a_csrf_token(
    web: WebPortal,
) -> None:
    draft = new_draft(web)
    browser = signed_in(web, rights=("edit", "publish"))
    head = drafts.get_draft(web.engine, draft).head
    # a preview as a customer: its pages (the inner runtime's forms) are POST routes too
    start = f"/_builder/p/{web.slug}/d/{draft}/preview/"
    assert browser.post(start, **{"as": "role", "role": "customer"}).status_code == 303
    before = audit_actions(web.engine, web.slug)
    answers = {}
    for rule in _post_rules(web):
        url = _url(rule, web, draft)
        answer = browser.post(url, csrf=False, action="save", name="x", base_revision=str(head))
        answers[rule.endpoint] = answer.status_code
    expected = {endpoint: READ_ONLY.get(endpoint, 400) for endpoint in answers}
    assert answers == expected
    # nothing happened: the draft, the audit trail and the sign-in are as they were
    assert drafts.get_draft(web.engine, draft).head == head
    assert audit_actions(web.engine, web.slug) == before
    assert browser.get("/_builder/").status_code == 200
