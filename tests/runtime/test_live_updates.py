"""Live updates of open pages (SQLite and PostgreSQL): `GET /<portal>/_updates/<page>/<id>`
answers 304 while nothing the viewer watches changed, 200 with new stamps after another user
posts a message or moves the record, stays 304 after changes to records the viewer may not
read (no side channel), costs one statement beyond the session check whatever the thread's
size, answers anonymous visitors and foreign records 404, never moves the session's idle time,
and `?_fragment=<i>` returns one block rendered exactly as on the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.tables import utcnow
from portalis.engine.flow import workflow
from portalis.runtime.runtime_tables import sessions
from portalis.testing.web import PortalClient, WebPortal, count_selects

ANNA = "anna@acme.test"  # account admin of Acme (customer)
BEN = "ben@acme.test"  # customer of Acme
NINA = "nina@globex.test"  # customer of Globex
SAM = "sam@support.test"  # agent


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance")
    try:
        yield portal
    finally:
        portal.close()


def ticket(web: WebPortal, subject_start: str) -> int:
    table = web.compiled.tables["ticket"]
    with web.engine.connect() as conn:
        found = conn.execute(
            sa.select(table.c.id).where(table.c.subject.like(subject_start + "%"))
        ).scalar_one()
    return int(found)


def poll(client: PortalClient, ticket_id: int, cursor: str = "") -> tuple[int, dict | None]:
    response = client.get(f"/_updates/ticket/{ticket_id}", query_string={"since": cursor})
    assert response.headers["Cache-Control"] == "no-store, private"
    body = response.get_json() if response.status_code == 200 else None
    return response.status_code, body


def cursor_on_page(client: PortalClient, ticket_id: int) -> tuple[str, str]:
    """The cursor and the parts the ticket page carries for its live script."""
    html = client.get(f"/tickets/{ticket_id}").text
    cursor = re.search(r'data-cursor="([0-9a-f]+)"', html)
    parts = re.search(r'data-parts="([^"]+)"', html)
    assert cursor and parts, html
    assert 'src="/_static/live-updates.js"' in html
    return cursor.group(1), parts.group(1)


def move(web: WebPortal, ticket_id: int, *names: str) -> None:
    """The agent takes the transitions `names` (resolving notifies the ticket's creator)."""
    for name in names:
        values = {"resolution": "Corrected."} if name == "resolve" else None
        workflow.transition(web.store, web.actor(SAM), "ticket", ticket_id, name, values=values)


def portal_statements(statements: list[str]) -> list[str]:
    """The statements of a request but the registry's look for a new live version."""
    return [s for s in statements if "portalis_portal.live_version" not in s]


def post_message(web: WebPortal, email: str, ticket_id: int, body: str) -> None:
    web.store.insert(web.actor(email), "message", {"ticket": ticket_id, "body": body})


def test_nothing_changed_is_304_and_a_reply_is_200(web: WebPortal) -> None:
    t1 = ticket(web, "Invoice 2026-114")
    ben = web.client(BEN)
    cursor, _ = cursor_on_page(ben, t1)
    status, _ = poll(ben, t1, cursor)
    assert status == 304
    # If-None-Match works the same as since=
    etag_answer = ben.get(f"/_updates/ticket/{t1}", headers={"If-None-Match": f'"{cursor}"'})
    assert etag_answer.status_code == 304
    assert etag_answer.headers["ETag"] == f'"{cursor}"'

    post_message(web, SAM, t1, "Fixed in the next invoice run.")
    status, body = poll(ben, t1, cursor)
    assert status == 200 and body is not None
    assert body["cursor"] != cursor
    assert set(body["parts"]) == {"block-0", "block-2", "bell"}
    assert body["interval"] == 10
    assert body["bell"] == {"count": 0, "badge": "0", "label": "Notifications"}
    # the conversation changed, the ticket did not
    first = poll(ben, t1)[1]
    assert first is not None
    status, again = poll(ben, t1, body["cursor"])
    assert status == 304 and again is None
    # the changed block, fetched as the page renders it, shows the reply
    fragment = ben.get(f"/tickets/{t1}?_fragment=2")
    assert fragment.status_code == 200
    assert fragment.headers["Cache-Control"] == "no-store, private"
    assert fragment.text.lstrip().startswith('<section class="block block-list" id="block-2"')
    assert "Fixed in the next invoice run." in fragment.text
    assert "<html" not in fragment.text


def test_status_and_bell_change_the_answer(web: WebPortal) -> None:
    t1 = ticket(web, "Invoice 2026-114")
    anna = web.client(ANNA)
    status, before = poll(anna, t1)
    assert status == 200 and before is not None
    move(web, t1, "start")
    status, after = poll(anna, t1, before["cursor"])
    assert status == 200 and after is not None
    assert after["parts"]["block-0"] != before["parts"]["block-0"]  # the detail: status moved
    assert after["parts"]["block-2"] == before["parts"]["block-2"]  # no new message
    detail = anna.get(f"/tickets/{t1}?_fragment=0").text
    assert "In progress" in detail or "in_progress" in detail

    move(web, t1, "resolve")  # notifies Anna, who opened the ticket
    status, rung = poll(anna, t1, after["cursor"])
    assert status == 200 and rung is not None
    assert rung["bell"]["count"] == 1
    assert rung["parts"]["bell"] == "1"
    assert rung["bell"]["badge"] == "1"
    assert rung["bell"]["label"] == "Benachrichtigungen, 1 ungelesen"  # Anna reads German


def test_changes_the_viewer_may_not_read_keep_304(web: WebPortal) -> None:
    """Nina (Globex) watches her ticket; everything happening to Acme's tickets and to other
    users' notifications leaves her answer unchanged."""
    t1 = ticket(web, "Invoice 2026-114")  # Acme
    t3 = ticket(web, "Change of delivery address")  # Globex
    nina = web.client(NINA)
    status, body = poll(nina, t3)
    assert status == 200 and body is not None
    cursor = body["cursor"]
    post_message(web, SAM, t1, "Acme only.")
    post_message(web, BEN, t1, "Acme too.")
    move(web, t1, "start")
    t2 = ticket(web, "Cannot download my contract")  # Acme, Ben's: resolving notifies him
    move(web, t2, "start", "resolve")
    assert poll(nina, t3, cursor) == (304, None)
    # and her own ticket's news still arrives
    post_message(web, SAM, t3, "For Globex.")
    assert poll(nina, t3, cursor)[0] == 200


def test_foreign_record_and_anonymous_get_404_without_content(web: WebPortal) -> None:
    t1 = ticket(web, "Invoice 2026-114")
    t3 = ticket(web, "Change of delivery address")
    nina = web.client(NINA)
    for path in (f"/_updates/ticket/{t1}", f"/_updates/ticket/{t1}?since=x", "/_updates/ticket"):
        response = nina.get(path)
        assert response.status_code == 404, path
        assert "Invoice 2026-114" not in response.text and "cursor" not in response.text
    assert nina.get(f"/tickets/{t1}?_fragment=2").status_code == 404
    anonymous = web.client()
    for path in (f"/_updates/ticket/{t1}", f"/_updates/ticket/{t3}", "/_updates/home"):
        response = anonymous.get(path)
        assert response.status_code == 404, path
        assert "cursor" not in response.text
    # a page without live parts, and a page name that does not exist
    assert web.client(BEN).get("/_updates/nowhere").status_code == 404
    assert web.client(BEN).get(f"/tickets/{t1}?_fragment=9").status_code == 404
    assert web.client(BEN).get(f"/tickets/{t1}?_fragment=x").status_code == 404


def test_one_statement_whatever_the_thread_size(web: WebPortal) -> None:
    t1 = ticket(web, "Invoice 2026-114")
    ben = web.client(BEN)
    cursor, _ = cursor_on_page(ben, t1)
    ben.get(f"/_updates/ticket/{t1}?since={cursor}")  # warm: compiled queries, session
    with count_selects(web.engine) as few:
        assert ben.get(f"/_updates/ticket/{t1}?since={cursor}").status_code == 304
    for i in range(25):
        post_message(web, SAM, t1, f"Message number {i}")
    cursor, _ = cursor_on_page(ben, t1)
    with count_selects(web.engine) as many:
        assert ben.get(f"/_updates/ticket/{t1}?since={cursor}").status_code == 304
    # the session check (with the bell's count) and the one stamp statement, beside the
    # registry's check for a newly published version
    few, many = portal_statements(few), portal_statements(many)
    assert len(few) == len(many) == 2, many
    assert "portalis_session" in many[0] and "portalis_notification_unread" in many[0]
    assert "max(" in many[1].lower() and "count(" in many[1].lower()


def test_polling_does_not_keep_an_idle_session_alive(web: WebPortal) -> None:
    t1 = ticket(web, "Invoice 2026-114")
    ben = web.client(BEN)
    earlier = utcnow() - timedelta(minutes=30)
    with web.engine.begin() as conn:
        conn.execute(sessions.update().values(last_seen=earlier))
    assert ben.get(f"/_updates/ticket/{t1}").status_code == 200
    with web.engine.connect() as conn:
        seen = conn.execute(sa.select(sessions.c.last_seen)).scalars().all()
    assert all(abs((s.replace(tzinfo=None) - earlier.replace(tzinfo=None)).total_seconds()) < 1
               for s in seen)  # fmt: skip
    # a real page view is activity
    assert ben.get(f"/tickets/{t1}").status_code == 200
    with web.engine.connect() as conn:
        seen = conn.execute(sa.select(sessions.c.last_seen)).scalars().all()
    assert any(s.replace(tzinfo=None) > earlier.replace(tzinfo=None) + timedelta(minutes=1)
               for s in seen)  # fmt: skip
