"""The detail block over HTTP: readable fields only, buttons only for allowed actions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.testing.web import WebPortal

OUTAGE = "Outage in the order portal"
INVOICE = "Invoice 2026-114 is wrong"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path)
    yield portal
    portal.close()


def transition_buttons(html: str) -> set[str]:
    return set(re.findall(r'<input type="hidden" name="name" value="([a-z_]+)">', html))


def test_detail_shows_labelled_formatted_fields(web: WebPortal) -> None:
    t4 = web.record_id("ticket", subject=OUTAGE)
    html = web.client("sam@support.test").get(f"/tickets/{t4}").text
    assert f"<h1>{OUTAGE} · Ticket</h1>" in html
    assert "<dt>Subject</dt>" in html and f'<dd class="value-subject">{OUTAGE}</dd>' in html
    assert '<span class="badge badge-in_progress">In progress</span>' in html
    assert '<dd class="value-assignee">Sam Agent</dd>' in html
    assert "Created by Nina Novak on" in html
    assert "<dt>Resolution</dt>" not in html  # visible_when is false while in progress


def test_money_tags_and_locale(web: WebPortal) -> None:
    t1 = web.record_id("ticket", subject=INVOICE)
    ben = web.client("ben@acme.test").get(f"/tickets/{t1}").text
    assert "€129.00" in ben
    assert '<span class="tag">billing</span>' in ben
    anna = web.client("anna@acme.test").get(f"/tickets/{t1}").text  # anna's locale is de
    assert "129,00\xa0€" in anna
    assert "<dt>Betreff</dt>" in anna and '<span class="badge badge-high">Hoch</span>' in anna


def test_asvs_8_2_3_detail_hides_unreadable_fields(web: WebPortal) -> None:
    t4 = web.record_id("ticket", subject=OUTAGE)
    html = web.client("nina@globex.test").get(f"/tickets/{t4}").text
    assert "<dt>Assignee</dt>" not in html and "Sam Agent</dd>" not in html
    assert "<dt>Subject</dt>" in html


def test_asvs_8_2_2_idor_detail_404(web: WebPortal) -> None:
    t4 = web.record_id("ticket", subject=OUTAGE)
    t1 = web.record_id("ticket", subject=INVOICE)
    anna = web.client("anna@acme.test")
    assert anna.get(f"/tickets/{t4}").status_code == 404
    assert anna.get(f"/tickets/{t4}/edit").status_code == 404
    assert anna.get("/tickets/999999").status_code == 404
    assert web.client("nina@globex.test").get(f"/tickets/{t1}").status_code == 404
    assert OUTAGE not in anna.get(f"/tickets/{t4}").text


def test_agent_buttons(web: WebPortal) -> None:
    t4 = web.record_id("ticket", subject=OUTAGE)  # in progress
    t3 = web.record_id("ticket", subject="Change of delivery address")  # open
    sam = web.client("sam@support.test")
    html = sam.get(f"/tickets/{t4}").text
    assert transition_buttons(html) == {"resolve"}
    # resolve requires a resolution: an inline form with that field
    assert '<textarea id="b0-resolve-resolution" name="resolution"' in html
    assert f'href="/acme-support/tickets/{t4}/edit"' in html
    assert f'action="/acme-support/_act/ticket/{t4}/delete"' not in html  # no delete grant
    assert '<input type="hidden" name="version" value="1">' in html
    assert transition_buttons(sam.get(f"/tickets/{t3}").text) == {"start"}


def test_customer_buttons(web: WebPortal) -> None:
    t1 = web.record_id("ticket", subject=INVOICE)  # anna's, open
    anna = web.client("anna@acme.test").get(f"/tickets/{t1}").text
    assert transition_buttons(anna) == set()  # start is for agents; close needs resolved
    assert f'href="/acme-support/tickets/{t1}/edit"' in anna  # her own ticket
    ben = web.client("ben@acme.test").get(f"/tickets/{t1}").text
    assert "/edit" not in ben  # update scope is own: not ben's ticket


def test_asvs_8_3_1_edit_page_without_update_grant_403(web: WebPortal) -> None:
    t1 = web.record_id("ticket", subject=INVOICE)
    assert web.client("ben@acme.test").get(f"/tickets/{t1}/edit").status_code == 403


def test_delete_button_only_with_delete_grant(web: WebPortal) -> None:
    t1 = web.record_id("ticket", subject=INVOICE)
    html = web.client("anna@acme.test").get(f"/tickets/{t1}").text
    assert "/delete" not in html  # the block lists only transitions and edit
