"""Data views: CSV export, autocomplete and record actions (transitions, delete)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.runtime.dataviews import csv_cell
from portalis.testing.web import WebPortal

NOTES = Path(__file__).parent / "data" / "blocks_notes"
INVOICE = "Invoice 2026-114 is wrong"
CONTRACT = "Cannot download my contract"
ADDRESS = "Change of delivery address"
OUTAGE = "Outage in the order portal"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path)
    yield portal
    portal.close()


@pytest.fixture
def notes(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path, NOTES)
    yield portal
    portal.close()


def table(response: object) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8"))))  # type: ignore[attr-defined]


# -- export ---------------------------------------------------------------------------------
def test_export_holds_exactly_the_actors_rows(web: WebPortal) -> None:
    response = web.client("ben@acme.test").get("/_export/tickets/0.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="tickets.csv"')
    rows = table(response)
    assert rows[0] == ["Subject", "Priority", "Status", "Account", "Due date", "Updated"]
    assert sorted(r[0] for r in rows[1:]) == sorted([INVOICE, CONTRACT])
    assert {r[3] for r in rows[1:]} == {"Acme GmbH"}
    assert {r[2] for r in rows[1:]} == {"Open"}


def test_asvs_8_2_2_idor_export(web: WebPortal) -> None:
    nina = table(web.client("nina@globex.test").get("/_export/tickets/0.csv"))
    assert sorted(r[0] for r in nina[1:]) == sorted([ADDRESS, OUTAGE])
    assert web.client().get("/_export/tickets/0.csv").status_code == 404
    t1 = web.record_id("ticket", subject=INVOICE)
    # the conversation of another account's ticket
    assert web.client("nina@globex.test").get(f"/_export/ticket/2.csv?id={t1}").status_code == 404
    assert web.client("nina@globex.test").get("/_export/ticket/2.csv").status_code == 404
    messages = table(web.client("ben@acme.test").get(f"/_export/ticket/2.csv?id={t1}"))
    assert [r[0] for r in messages[1:]] == [
        "Please check line 3.",
        "Thanks, we are looking into it.",
    ]
    assert messages[1][1] == "Anna Berg"


def test_export_follows_filters_search_and_sort(web: WebPortal) -> None:
    sam = web.client("sam@support.test")
    assert [r[0] for r in table(sam.get("/_export/tickets/0.csv?status=in_progress"))[1:]] == [
        OUTAGE
    ]
    assert [r[0] for r in table(sam.get("/_export/tickets/0.csv?q=invoice"))[1:]] == [INVOICE]
    ordered = [r[0] for r in table(sam.get("/_export/tickets/0.csv?sort=subject"))[1:]]
    assert ordered == sorted([INVOICE, CONTRACT, ADDRESS, OUTAGE])
    assert sam.get("/_export/tickets/0.csv?sort=id;drop").status_code == 400
    assert sam.get("/_export/tickets/0.csv?status=nope").status_code == 400


def test_export_only_list_blocks_of_allowed_pages(web: WebPortal) -> None:
    sam = web.client("sam@support.test")
    assert sam.get("/_export/tickets/5.csv").status_code == 404
    assert sam.get("/_export/dashboard/0.csv").status_code == 404  # metrics, not a list
    assert sam.get("/_export/nosuchpage/0.csv").status_code == 404
    assert web.client("ben@acme.test").get("/_export/dashboard/0.csv").status_code == 404


def test_export_all_pages_streamed(web: WebPortal) -> None:
    store, anna = web.store, web.actor("anna@acme.test")
    for i in range(230):
        store.insert(anna, "ticket", {"subject": f"Row {i:03d}"})
    rows = table(web.client("ben@acme.test").get("/_export/tickets/0.csv"))
    assert len(rows) == 1 + 232
    assert len({r[0] for r in rows[1:]}) == 232


def test_export_escapes_formulas_and_formats_plainly(notes: WebPortal) -> None:
    rows = table(notes.client("mo@notes.test").get("/_export/notes/0.csv"))
    assert rows[0] == ["Title", "Done", "Cost"]
    assert rows[1] == ['\'=HYPERLINK("http://evil")', "", "12.50 EUR"]
    assert len(rows) == 2  # jo's note is not mo's
    assert csv_cell("+1") == "'+1" and csv_cell("-2") == "'-2" and csv_cell("@x") == "'@x"
    assert csv_cell("\tcmd") == "'\tcmd" and csv_cell("plain") == "plain"


# -- autocomplete ---------------------------------------------------------------------------
def test_autocomplete_only_readable_records(web: WebPortal) -> None:
    response = web.client("anna@acme.test").get("/_ac/ticket?q=o")
    assert response.status_code == 200 and response.mimetype == "application/json"
    titles = {item["title"] for item in response.json}
    assert titles == {CONTRACT, INVOICE}
    assert all(set(item) == {"id", "title"} for item in response.json)
    assert {i["title"] for i in web.client("nina@globex.test").get("/_ac/ticket?q=").json} == {
        ADDRESS,
        OUTAGE,
    }
    assert web.client("nina@globex.test").get("/_ac/ticket?q=invoice").json == []
    assert [i["title"] for i in web.client("ben@acme.test").get("/_ac/user?q=").json] == [
        "Ben Ortiz"
    ]


def test_asvs_8_2_2_idor_autocomplete_404s(web: WebPortal) -> None:
    assert web.client().get("/_ac/ticket?q=a").status_code == 404
    assert web.client("anna@acme.test").get("/_ac/nosuch?q=a").status_code == 404
    assert web.client("anna@acme.test").get("/_ac/ticket?q=" + "x" * 5000).status_code == 200


# -- actions --------------------------------------------------------------------------------
def test_transition_buttons_work(web: WebPortal) -> None:
    t3 = web.record_id("ticket", subject=ADDRESS)
    sam = web.client("sam@support.test")
    response = sam.post(
        f"/_act/ticket/{t3}/transition", {"name": "start", "version": "1", "_page": "ticket"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/tickets/{t3}")
    page = sam.get(f"/tickets/{t3}").text
    assert "Start work: done." in page
    assert '<span class="badge badge-in_progress">In progress</span>' in page
    assert 'name="name" value="resolve"' in page


def test_r5_stale_transition_409(web: WebPortal) -> None:
    t3 = web.record_id("ticket", subject=ADDRESS)
    sam = web.client("sam@support.test")
    assert (
        sam.post(f"/_act/ticket/{t3}/transition", {"name": "start", "version": "1"}).status_code
        == 303
    )
    stale = sam.post(
        f"/_act/ticket/{t3}/transition", {"name": "resolve", "version": "1", "resolution": "x"}
    )
    assert stale.status_code == 409
    assert "Reload" in stale.text and f'href="/acme-support/tickets/{t3}"' in stale.text
    record = web.store.get(web.actor("sam@support.test"), "ticket", t3)
    assert record["status"] == "in_progress"


def test_required_fields_of_a_transition(web: WebPortal) -> None:
    t4 = web.record_id("ticket", subject=OUTAGE)
    sam = web.client("sam@support.test")
    missing = sam.post(f"/_act/ticket/{t4}/transition", {"name": "resolve", "version": "1"})
    assert missing.status_code == 303
    page = sam.get(f"/tickets/{t4}").text
    assert "notice-error" in page and "Resolution: required for resolve" in page
    assert web.store.get(web.actor("sam@support.test"), "ticket", t4)["status"] == "in_progress"
    done = sam.post(
        f"/_act/ticket/{t4}/transition",
        {"name": "resolve", "version": "1", "resolution": "Fixed the DNS."},
    )
    assert done.status_code == 303
    record = web.store.get(web.actor("sam@support.test"), "ticket", t4)
    assert record["status"] == "resolved" and record["resolution"] == "Fixed the DNS."
    nina = web.client("nina@globex.test").get(f"/tickets/{t4}").text
    assert re.findall(r'name="name" value="([a-z]+)"', nina) == ["close", "reopen"]
    assert "Fixed the DNS." in nina


def test_asvs_8_3_1_hidden_actions_still_denied(web: WebPortal) -> None:
    t3 = web.record_id("ticket", subject=ADDRESS)
    t4 = web.record_id("ticket", subject=OUTAGE)
    nina = web.client("nina@globex.test")
    assert (
        nina.post(f"/_act/ticket/{t3}/transition", {"name": "start", "version": "1"}).status_code
        == 403
    )
    assert nina.post(f"/_act/ticket/{t3}/delete", {"version": "1"}).status_code == 403
    anna = web.client("anna@acme.test")
    assert (
        anna.post(f"/_act/ticket/{t4}/transition", {"name": "close", "version": "1"}).status_code
        == 404
    )
    assert anna.post(f"/_act/ticket/{t4}/delete", {"version": "1"}).status_code == 404
    assert web.client().post(f"/_act/ticket/{t3}/delete", {"version": "1"}).status_code in (
        400,
        404,
    )
    assert web.store.get(web.actor("sam@support.test"), "ticket", t3)["status"] == "open"


def test_action_request_errors(web: WebPortal) -> None:
    t3 = web.record_id("ticket", subject=ADDRESS)
    sam = web.client("sam@support.test")
    assert (
        sam.post(f"/_act/ticket/{t3}/transition", {"name": "teleport", "version": "1"}).status_code
        == 404
    )
    assert sam.post(f"/_act/ticket/{t3}/explode", {"version": "1"}).status_code == 404
    assert sam.post(f"/_act/nosuch/{t3}/delete", {"version": "1"}).status_code == 404
    assert sam.post(f"/_act/ticket/{t3}/transition", {"name": "start"}).status_code == 400
    assert (
        sam.post(
            f"/_act/ticket/{t3}/transition", {"name": "start", "version": "1", "csrf_token": "x"}
        ).status_code
        == 400
    )
    assert sam.get(f"/_act/ticket/{t3}/transition").status_code == 405


def test_delete_with_confirmation_and_version(notes: WebPortal) -> None:
    mo = notes.client("mo@notes.test")
    n1 = notes.record_id("note", title='=HYPERLINK("http://evil")')
    n2 = notes.record_id("note", title="Jo's note")
    page = mo.get(f"/notes/{n1}").text
    assert f'<form method="post" action="/notes-test/_act/note/{n1}/delete">' in page
    assert "Delete permanently" in page
    assert mo.post(f"/_act/note/{n2}/delete", {"version": "1"}).status_code == 404  # jo's
    assert mo.post(f"/_act/note/{n1}/delete", {"version": "2"}).status_code == 409
    response = mo.post(f"/_act/note/{n1}/delete", {"version": "1"})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/notes-test/notes"
    )
    assert "Note deleted." in mo.get("/notes").text
    assert mo.get(f"/notes/{n1}").status_code == 404
