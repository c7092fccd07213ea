"""SECURITY A.25 (ASVS 3.5.3): no state change on GET.

Every rule of the URL map that accepts a state-changing method is requested with GET (and
HEAD) by every role, carrying the would-be form in the query string, a valid CSRF token and
method-override hints. POST-only rules answer 405; the others render; and the database —
every table, runtime tables included — is unchanged afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_runtime_support import SUBJECTS, deploy, rule_path, table_rows

from portalis.engine.accounts.users import find_user
from portalis.engine.definition.block_configs import FormBlock
from portalis.engine.definition.feedback_section import FeedbackBlock
from portalis.runtime.auth import tokens
from portalis.testing.web import WebPortal

USERS = (None, "ben@acme.test", "anna@acme.test", "sam@support.test")
WRITE_METHODS = {"POST", "PATCH", "DELETE", "PUT"}
#: Query strings that look like each kind of submission the portal accepts.
FORM_VARIANTS = (
    {"subject": "Changed by GET", "body": "Changed by GET", "version": "1"},
    {"action": "invite", "email": "get@evil.test", "name": "Get", "role": "customer"},
    {"action": "disable", "user": "2"},
    {"action": "role", "user": "2", "role": "account_admin"},
    {"action": "revoke_others"},
    {"action": "details", "name": "Mallory", "locale": "fr"},
    {"action": "email", "email": "mallory@evil.test", "password": "correct horse 44"},
    {"name": "start", "version": "1", "resolution": "by GET"},
    {"email": "ben@acme.test", "password": "correct horse 44"},
    {"step": "check", "map-0": "subject"},
    {"step": "import"},
)


@pytest.fixture
def web(sqlite_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = deploy(sqlite_url, tmp_path / "instance")
    yield portal
    portal.close()


def test_asvs_3_5_3_no_state_change_on_get(web: WebPortal) -> None:
    portal = web.app.extensions["portalis"].registry.require(web.slug)
    model = web.compiled.model
    ticket = web.record_id("ticket", subject=SUBJECTS["t2"])  # ben's own, editable by him
    browsers = {email: web.client(email) for email in USERS}  # sessions opened before
    before = table_rows(web.engine, skip_columns=frozenset({"last_seen"}))
    checked: set[str] = set()
    for email, browser in browsers.items():
        for rule in sorted(portal.url_map.iter_rules(), key=lambda r: r.rule):
            methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
            if not methods & WRITE_METHODS:
                continue
            path = rule_path(rule.rule, ticket)
            variants: list[dict[str, str]] = list(FORM_VARIANTS)
            if rule.endpoint.startswith("page:"):
                page = model.pages[rule.endpoint[5:]]
                for block in page.blocks:
                    if isinstance(block.config, FormBlock):
                        fields = {f: "Changed by GET" for f in block.config.fields}
                        variants.append({"_block": str(block.index), "version": "1", **fields})
                    if isinstance(block.config, FeedbackBlock):
                        variants.append({"_block": str(block.index), "helpful": "yes"})
            for variant in variants:
                for override in sorted(methods & WRITE_METHODS):
                    query = {**variant, "csrf_token": browser.csrf, "_method": override}
                    headers = {"X-HTTP-Method-Override": override, "X-CSRF-Token": browser.csrf}
                    response = browser.get(path, query_string=query, headers=headers)
                    head = browser.client.head(browser.url(path), query_string=query)
                    if "GET" not in methods:
                        assert response.status_code == 405, (email, path)
                        assert head.status_code == 405, (email, path)
                        assert "GET" not in response.headers.get("Allow", ""), path
                    else:
                        assert response.status_code < 500, (email, path, response.status_code)
                        assert head.status_code < 500, (email, path)
            checked.add(rule.endpoint)
        if email is not None:
            assert browser.get("/profile").status_code == 200  # GET /logout did not sign out
    assert table_rows(web.engine, skip_columns=frozenset({"last_seen"})) == before
    assert {"sys:logout", "sys:action", "sys:profile", "api:item", "page:edit_ticket"} <= checked


def test_asvs_3_5_3_email_change_link_needs_post(web: WebPortal) -> None:
    with web.engine.begin() as conn:
        row = find_user(conn, web.compiled, "ben@acme.test")
        assert row is not None
        token = tokens.issue(
            conn, web.slug, tokens.EMAIL, int(row["id"]), payload="ben.new@acme.test"
        )
    response = web.client().get(f"/verify/{token}")
    assert response.status_code < 500
    table = web.compiled.tables["user"]
    with web.engine.connect() as conn:
        email = conn.execute(sa.select(table.c.email).where(table.c.id == row["id"])).scalar()
    assert email == "ben@acme.test"  # only a POST from the page may switch the address
