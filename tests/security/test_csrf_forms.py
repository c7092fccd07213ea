"""SECURITY A.25 / ASVS 3.5.1: every state change needs this session's CSRF token.

Every rule of the URL map that accepts a state-changing method is posted to by a signed-in
user and by a visitor, with the would-be form of each kind of page, but without a token, with
a forged one and with the valid token of another session: HTML forms answer 400, the API 403
(`csrf`), and the database — every table — is unchanged. The token of the right session is
accepted; over https a post must also come from a page of the same origin (Referer), also
behind a proxy that terminates TLS; and a token lives as long as the cookie session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_runtime_support import SUBJECTS, deploy, rule_path, table_rows

from portalis.engine.definition.block_configs import FormBlock
from portalis.engine.definition.feedback_section import FeedbackBlock
from portalis.runtime.dispatch import SIGNED_ENDPOINTS
from portalis.testing.web import PortalClient, WebPortal

WRITE_METHODS = ("POST", "PATCH", "DELETE", "PUT")
#: What the portal's forms post (besides the token), all in one body: whichever form a rule
#: serves finds its fields filled — the record form, a transition (`name`, `version`), the
#: account, session and administration buttons (`action`, `user`), the sign-in, profile,
#: password, two-factor and notification forms, the feedback vote (`helpful`) and the CSV
#: import's mapping and import steps.
FORM = {
    "_block": "0", "subject": "Forged", "body": "Forged", "priority": "high", "version": "1",
    "name": "start", "resolution": "forged", "comment": "forged", "_page": "ticket",
    "action": "disable", "user": "2", "role": "customer", "locale": "fr",
    "email": "ben@acme.test", "new_email": "mallory@evil.test", "password": "x" * 16,
    "current_password": "x" * 12, "password_confirm": "x" * 16, "code": "123456",
    "stay": "1", "purpose": "login", "username": "ben", "helpful": "yes", "step": "import",
    "map-0": "subject",
}  # fmt: skip


@pytest.fixture
def web(sqlite_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = deploy(sqlite_url, tmp_path / "instance")
    yield portal
    portal.close()


def attempts(web: WebPortal, ticket: int) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(path, method, form) of every state-changing rule with each kind of form."""
    portal = web.app.extensions["portalis"].registry.require(web.slug)
    for rule in sorted(portal.url_map.iter_rules(), key=lambda r: r.rule):
        methods = sorted(set(rule.methods or ()) & set(WRITE_METHODS))
        forms = [FORM]
        if rule.endpoint in SIGNED_ENDPOINTS:
            # a payment provider's events carry no session: their signature is checked
            # instead, before anything is read (tests/runtime/test_payments_web.py, R3)
            continue
        if rule.endpoint == "sys:account_users":  # a role change is an action of its own
            forms.append({**FORM, "action": "role", "role": "account_admin"})
        if rule.endpoint.startswith("page:"):
            for block in web.compiled.model.pages[rule.endpoint[5:]].blocks:
                if isinstance(block.config, FormBlock):
                    fields = {f: "Forged" for f in block.config.fields}
                    forms.append({**FORM, "_block": str(block.index), **fields})
                if isinstance(block.config, FeedbackBlock):
                    forms.append({**FORM, "_block": str(block.index)})
        for method in methods:
            for form in forms:
                yield rule_path(rule.rule, ticket), method, form


def refused(browser: PortalClient, path: str, method: str, form: dict[str, str], token: str) -> int:
    """The status of a request carrying `token` (in the form and the header, or none)."""
    data = {**form, "csrf_token": token} if token else form
    headers = {"X-CSRF-Token": token} if token else {}
    url = browser.url(path)
    if "/api/" in path:
        response = browser.client.open(url, method=method, json=form, headers=headers)
        assert response.status_code in (401, 403, 404, 405), (path, method, response.status_code)
        if response.status_code == 403:
            assert response.get_json()["code"] == "csrf", (path, method)
        return response.status_code
    response = browser.client.open(url, method=method, data=data)
    return response.status_code


def test_a25_every_form_refuses_missing_forged_and_foreign_tokens(web: WebPortal) -> None:
    ticket = web.record_id("ticket", subject=SUBJECTS["t2"])  # ben's own, editable by him
    ben, anna, visitor = web.client("ben@acme.test"), web.client("anna@acme.test"), web.client()
    visitor.sync_csrf()
    foreign = anna.csrf  # valid — in anna's session, not in ben's or the visitor's
    before = table_rows(web.engine, skip_columns=frozenset({"last_seen"}))
    seen: set[str] = set()
    api_refusals = 0
    for path, method, form in attempts(web, ticket):
        for browser in (ben, visitor):
            for token in ("", "forged-token", foreign, browser.csrf[:-2] + "xx"):
                status = refused(browser, path, method, form, token)
                if "/api/" not in path:
                    assert status == 400, (path, method, token[:8], status)
                else:
                    api_refusals += status == 403
        seen.add(path.split("/")[1])
    assert api_refusals > 0  # the API's writes reached their CSRF check and refused
    assert table_rows(web.engine, skip_columns=frozenset({"last_seen"})) == before
    # the pages with forms of every kind were among them
    assert {"tickets", "login", "register", "profile", "account", "admin", "_act", "api"} <= seen
    assert ben.get("/profile").status_code == 200  # still signed in: POST /logout was refused


def test_a25_the_sessions_own_token_is_accepted(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    anna = web.client("anna@acme.test")
    created = ben.post("/tickets/new", {"_block": "0", "subject": "With my own token"})
    assert created.status_code == 303, created.text
    # anna's token in ben's session: refused for the form and for the API alike
    ben.csrf, mine = anna.csrf, ben.csrf
    assert ben.post("/tickets/new", {"_block": "0", "subject": "Foreign"}).status_code == 400
    api = ben.client.post(
        ben.url("/api/v1/ticket"), json={"subject": "Foreign"}, headers={"X-CSRF-Token": anna.csrf}
    )
    assert api.status_code == 403 and api.get_json()["code"] == "csrf"
    api = ben.client.post(
        ben.url("/api/v1/ticket"), json={"subject": "Mine"}, headers={"X-CSRF-Token": mine}
    )
    assert api.status_code == 201
    assert web.record_id("ticket", subject="Mine")
    with pytest.raises(LookupError):
        web.record_id("ticket", subject="Foreign")


@pytest.mark.parametrize("tls", ["direct", "proxy"])
def test_a25_https_posts_need_a_same_origin_referer(
    sqlite_url: str, tmp_path: Path, tls: str
) -> None:
    web = WebPortal.deploy(sqlite_url, tmp_path, env={"PORTALIS_HTTPS": "true"})
    try:
        ben = web.client("ben@acme.test")
        scheme = "https" if tls == "direct" else "http"  # a proxy terminated TLS
        ben.client.environ_base["wsgi.url_scheme"] = scheme
        form = {"_block": "0", "subject": "Over https"}
        page = f"https://localhost{ben.url('/tickets/new')}"
        for referer in (None, "https://evil.example/acme", "http://localhost/", page):
            headers = {"Referer": referer} if referer else {}
            response = ben.post("/tickets/new", form, headers=headers)
            if referer == page:
                assert response.status_code == 303, response.text
            else:
                assert response.status_code == 400, (referer, response.status_code)
        api = ben.client.post(
            ben.url("/api/v1/ticket"), json={"subject": "No referer"},
            headers={"X-CSRF-Token": ben.csrf},
        )  # fmt: skip
        assert api.status_code == 403 and api.get_json()["code"] == "csrf"
    finally:
        web.close()


def test_a25_tokens_live_as_long_as_the_cookie_session(web: WebPortal) -> None:
    app = web.app
    assert app.config["WTF_CSRF_TIME_LIMIT"] == app.permanent_session_lifetime.total_seconds()
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    ben = web.client("ben@acme.test")
    time.sleep(2.2)  # the token was signed more than a second ago
    assert ben.post("/tickets/new", {"_block": "0", "subject": "Stale"}).status_code == 400
    ben.sync_csrf()  # a page rendered now carries a fresh token
    assert ben.post("/tickets/new", {"_block": "0", "subject": "Fresh"}).status_code == 303
