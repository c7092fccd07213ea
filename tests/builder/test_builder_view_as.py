"""View as on the live portal: exactly what a user sees, read-only (every write route of the
portal refused), time-boxed, audited, with the "why?" panel — and only for builder accounts
with the publish right (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import sqlalchemy as sa
from builder_support import BuilderBrowser, add_account, audit_actions
from sqlalchemy import event
from werkzeug.routing import Rule

from portalis.builder.preview.view_as import MINUTES
from portalis.testing.web import WebPortal, app_state

EMAIL = "publisher@example.test"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _start(web: WebPortal, browser: BuilderBrowser, email: str = "ben@acme.test") -> str:
    add_account(web.engine, EMAIL, portals=(web.slug,), rights=("publish",))
    browser.sign_in(EMAIL)
    picker = browser.get(f"/_builder/p/{web.slug}/view-as")
    assert picker.status_code == 200, picker.text
    found = re.search(rf'<option value="(\d+)">[^<]*\({re.escape(email)};', picker.text)
    assert found, picker.text
    started = browser.post(f"/_builder/p/{web.slug}/view-as", user=found.group(1))
    assert started.status_code == 303
    return f"/_builder/p/{web.slug}/view-as/{web.slug}"


def _ben(web: WebPortal) -> Any:
    table = web.compiled.tables["user"]
    with web.engine.connect() as conn:
        return (
            conn.execute(sa.select(table).where(table.c.email == "ben@acme.test")).mappings().one()
        )


def _writes(engine: sa.Engine) -> Any:
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    return seen, lambda: event.remove(engine, "before_cursor_execute", before)


def test_view_as_ben_shows_his_pages_read_only_with_why(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    before = _ben(web)
    base = _start(web, browser)
    seen, stop = _writes(web.engine)
    try:
        page = browser.get(base + "/tickets")
        detail_link = re.search(rf'href="({re.escape(base)}/tickets/\d+)"', page.text)
        assert detail_link
        detail = browser.get(detail_link.group(1))
    finally:
        stop()
    assert page.status_code == 200 and detail.status_code == 200
    assert "Viewing as ben@acme.test (read-only)" in page.text
    assert (
        "Cannot download my contract" in page.text and "Outage in the order portal" not in page.text
    )
    assert "allowed by grant #1 of ticket: customer/account" in page.text
    assert "hidden: field assignee excepted for customer by grant #1 of ticket" in page.text
    assert 'class="builder-why"' in detail.text and "data-record=" in detail.text
    # the only writes are the builder's audit entries: no session, no login time, no record
    assert seen and all("portalis_audit" in s for s in seen), seen
    after = _ben(web)
    assert after["last_login_at"] == before["last_login_at"]
    stopped = browser.post(f"/_builder/p/{web.slug}/view-as/stop")
    assert stopped.status_code == 303
    assert browser.get(base + "/tickets").status_code == 303
    actions = audit_actions(web.engine, web.slug)
    assert actions == [
        "builder_view_as_started",
        "builder_view_as_page",
        "builder_view_as_page",
        "builder_view_as_stopped",
    ]


def _sample(rule: Rule) -> str:
    path = rule.rule
    for name, converter in rule._converters.items():  # noqa: SLF001 - the rule's own arguments
        value = "1" if type(converter).__name__ == "IntegerConverter" else "x"
        path = re.sub(rf"<[^>]*\b{name}>", value, path)
    return path


def test_every_write_route_of_the_portal_is_refused(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    base = _start(web, browser)
    browser.get(base + "/")  # the portal is loaded
    portal = app_state(web.app).registry.get(web.slug)
    assert portal is not None
    tried = 0
    seen, stop = _writes(web.engine)
    try:
        for rule in portal.url_map.iter_rules():
            for method in sorted(set(rule.methods or ()) & set(WRITES)):
                url = base + _sample(rule)
                answer = browser.client.open(url, method=method, data={"subject": "changed"})
                assert answer.status_code == 403, (method, url, answer.status_code)
                if "/api/" in url:
                    assert answer.mimetype == "application/problem+json"
                    assert answer.json and answer.json["code"] == "view-as-read-only"
                else:
                    assert "View as is read-only" in answer.text
                tried += 1
    finally:
        stop()
    assert tried >= 25  # every form page, system form and API write route
    assert seen == []  # refused before anything (not even the audit log) is written


def test_no_page_of_the_portal_writes_while_viewed_as(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    base = _start(web, browser)
    browser.get(base + "/")
    portal = app_state(web.app).registry.get(web.slug)
    assert portal is not None
    seen, stop = _writes(web.engine)
    try:
        answers = {
            rule.rule: browser.get(base + _sample(rule)).status_code
            for rule in portal.url_map.iter_rules()
            if "GET" in (rule.methods or ())
        }
    finally:
        stop()
    assert 500 not in answers.values(), answers
    assert sum(code == 200 for code in answers.values()) >= 8, answers
    # only the builder's audit entries ("page viewed"), never a session, read mark or record
    assert seen and all("portalis_audit" in s for s in seen), seen


def test_view_as_ends_after_its_time_box(web: WebPortal, browser: BuilderBrowser) -> None:
    base = _start(web, browser)
    with browser.client.session_transaction("/_builder/") as session:
        # (assigned, not mutated in place: only a changed session is written back)
        session["builder_view_as"] = {**session["builder_view_as"], "until": time.time() - 1}
    ended = browser.get(base + "/tickets")
    assert ended.status_code == 303 and ended.headers["Location"].endswith("/view-as")
    assert audit_actions(web.engine, web.slug)[-1] == "builder_view_as_expired"
    assert MINUTES == 15


@pytest.mark.parametrize("rights", [("edit",), ("view",)])
def test_view_as_needs_the_publish_right(web: WebPortal, rights: tuple[str, ...]) -> None:
    add_account(web.engine, EMAIL, portals=(web.slug,), rights=rights)
    browser = BuilderBrowser(web.app)
    browser.sign_in(EMAIL)
    assert browser.get(f"/_builder/p/{web.slug}/view-as").status_code == 404
    assert browser.get(f"/_builder/p/{web.slug}/view-as/{web.slug}/tickets").status_code == 404


def test_portal_users_and_visitors_cannot_view_as(web: WebPortal) -> None:
    path = f"/_builder/p/{web.slug}/view-as/{web.slug}/tickets"
    for client in (web.client("ben@acme.test").client, BuilderBrowser(web.app).client):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 403
        assert client.get(f"/_builder/p/{web.slug}/view-as").status_code == 303  # the sign-in
