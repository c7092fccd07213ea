"""The request path (SQLite and PostgreSQL): one connection per request, no read transaction,
the session check with its user and the bell's count in one query, and a session cookie
written only when the session changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_auth_support import AuthHarness, url

from portalis.testing.web import DatabaseUse, WebPortal, database_use

USER_TABLE = "p_acme_support__user"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path)
    yield portal
    portal.close()


def page_use(web: WebPortal, path: str, *, poll: bool) -> DatabaseUse:
    """What a signed-in customer's GET of `path` costs (after a warm-up request); `poll`:
    whether this request also checks the live-version pointers."""
    registry = web.app.extensions["portalis"].registry
    registry.check_seconds = 0 if poll else 3600
    anna = web.client("anna@acme.test")
    assert anna.get(path).status_code == 200
    with database_use(web.engine) as use:
        assert anna.get(path).status_code == 200
    return use


@pytest.mark.parametrize("poll", [False, True], ids=["typical", "polling"])
def test_a_page_takes_one_connection_and_no_read_transaction(web: WebPortal, poll: bool) -> None:
    use = page_use(web, "/tickets", poll=poll)
    assert use.checkouts == 1, use.statements
    # the reads share one autocommit connection: no BEGIN, one logical transaction at most
    assert use.transactions <= 1
    assert use.begins == []
    # the session, the user (only the columns a request needs) and the bell: one statement
    session = use.matching("portalis_session")
    assert len(session) == 1 and USER_TABLE in session[0]
    assert "portalis_notification_unread" in session[0]
    assert re.search(r"password_hash(?! IS NOT NULL)", session[0]) is None  # not the hash
    assert not [s for s in use.matching(USER_TABLE, "password_hash") if s not in session]
    assert not [s for s in use.matching("portalis_notification") if s not in session]
    # the live-version poll, when due, runs on that same connection (with a check interval
    # of 0 every registry look-up polls; in production at most one a second does)
    assert bool(use.matching("portalis_portal")) == poll


def test_detail_pages_and_forms_share_the_connection_too(web: WebPortal) -> None:
    ticket = web.record_id("ticket", subject="Invoice 2026-114 is wrong")
    for path in (f"/tickets/{ticket}", "/tickets/new", "/profile", "/notifications"):
        use = page_use(web, path, poll=False)
        assert use.checkouts == 1, (path, use.statements)
        assert use.begins == [], path


def test_a_write_in_a_request_is_one_transaction_and_later_reads_see_it(
    web: WebPortal,
) -> None:
    anna = web.client("anna@acme.test")
    anna.get("/tickets/new")
    with database_use(web.engine) as use:
        created = anna.post("/tickets/new", {"_block": "0", "subject": "Paper jam"})
    assert created.status_code == 303
    if web.engine.dialect.name == "sqlite":
        assert use.matching("BEGIN IMMEDIATE") and not use.matching("BEGIN", "DEFERRED")
    page = anna.client.get(created.headers["Location"])
    assert page.status_code == 200 and "Paper jam" in page.text
    assert "Paper jam" in anna.get("/tickets").text


def test_no_cookie_for_an_unchanged_session(auth: AuthHarness) -> None:
    client = auth.client()
    signed_in = auth.login(client, "ben@acme.test")
    assert signed_in.status_code == 303 and "Set-Cookie" in signed_in.headers  # a new session
    client.get(url("/tickets"))  # shows (and so removes) the sign-in's flash message
    first = client.get(url("/tickets"))
    second = client.get(url("/tickets"))
    assert first.status_code == second.status_code == 200
    assert "Set-Cookie" not in first.headers and "Set-Cookie" not in second.headers
    # a minute of inactivity later: last_seen is refreshed, and the cookie with it (once)
    before = auth.session_rows("ben@acme.test")[0]["last_seen"]
    auth.age_sessions("ben@acme.test", last_seen=timedelta(seconds=90))
    refreshed = client.get(url("/tickets"))
    assert refreshed.status_code == 200 and "Set-Cookie" in refreshed.headers
    assert "Expires=" in refreshed.headers["Set-Cookie"]
    assert auth.session_rows("ben@acme.test")[0]["last_seen"] >= before
    assert "Set-Cookie" not in client.get(url("/tickets")).headers
    # choosing a language changes the session once; choosing it again changes nothing
    assert "Set-Cookie" in client.get(url("/tickets?lang=de")).headers
    assert "Set-Cookie" not in client.get(url("/tickets?lang=de")).headers
    assert "Set-Cookie" in auth.post(client, "/logout").headers


def test_an_idle_refresh_costs_one_short_write_on_the_same_connection(
    auth: AuthHarness,
) -> None:
    client = auth.client()
    auth.login(client, "ben@acme.test")
    client.get(url("/tickets"))
    auth.age_sessions("ben@acme.test", last_seen=timedelta(seconds=90))
    with database_use(auth.app.extensions["portalis"].engine) as use:
        assert client.get(url("/tickets")).status_code == 200
    assert use.checkouts == 1
    assert len(use.matching("UPDATE portalis_session")) == 1
    assert len(use.matching("portalis_session")) == 2  # the check, then the refresh


def test_security_headers_are_built_once_per_version(web: WebPortal) -> None:
    with web.app.app_context():
        served = web.app.extensions["portalis"].registry.require(web.slug)
    pairs = served.headers[False]
    response = web.client("anna@acme.test").get("/tickets")
    assert [(name, response.headers[name]) for name, _ in pairs] == list(pairs)
    assert (
        web.client().get("/").headers["Content-Security-Policy"]
        == dict(pairs)["Content-Security-Policy"]
    )
    with web.app.app_context():
        assert web.app.extensions["portalis"].registry.require(web.slug).headers[False] is pairs
