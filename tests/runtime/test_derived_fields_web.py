"""Rules, rollups, virtual fields and expression defaults over HTTP (SQLite and PostgreSQL):
rule messages in the reader's language (a parent's rule included), forms that start with the
evaluated defaults and mirror `visible_when`/`required_when`, virtual fields in lists, the API
and CSV exports — never writable."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.testing.web import PortalClient, WebPortal

PORTAL = """\
format: portalis/v1
portal: desk
title: {en: Desk, de: Schreibtisch}
locales: [en, de]
currency: EUR
roles:
  clerk: {label: Clerk}
entities:
  slot:
    label: {en: Slot, de: Termin}
    title_field: title
    fields:
      title: {type: string, required: true}
      capacity: {type: int, required: true}
      booked: {type: int, rollup: count, of: booking, via: slot}
      free: {type: int, compute: "record['capacity'] - record['booked']", stored: false}
    rules:
      - check: "record['booked'] <= record['capacity']"
        message: {en: This slot is fully booked, de: Dieser Termin ist ausgebucht}
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
  booking:
    label: {en: Booking, de: Buchung}
    fields:
      slot: {type: ref, to: slot, required: true}
      name: {type: string, required: true}
      day: {type: date, default: {expr: "today()"}}
      booked_by: {type: string, default: {expr: "actor.name"}}
      kind: {type: choice, options: [single, group], default: single}
      group_size:
        type: int
        visible_when: "record['kind'] == 'group'"
        required_when: "record['kind'] == 'group'"
    rules:
      - check: "record['group_size'] is None or record['group_size'] <= 10"
        message: {en: Groups have at most ten people, de: Gruppen haben höchstens zehn Personen}
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
pages:
  slots:
    route: /slots
    roles: [clerk]
    blocks:
      - list: {entity: slot, columns: [title, capacity, booked, free], link: slot, sort: title}
  slot:
    route: /slots/<id>
    roles: [clerk]
    blocks:
      - detail: {entity: slot}
      - form: {entity: booking, parent: slot, fields: [name, kind, group_size]}
  new_booking:
    route: /bookings/new
    roles: [clerk]
    blocks:
      - form: {entity: booking, fields: [slot, name, day, booked_by, kind, group_size]}
navigation: [slots]
seed: [seed.yaml]
"""
SEED = """\
users:
  - {email: cleo@desk.test, name: Cleo Clerk, roles: [clerk]}
"""
GERMAN = {"Accept-Language": "de"}


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "portal.yaml").write_text(PORTAL, encoding="utf-8")
    (folder / "seed.yaml").write_text(SEED, encoding="utf-8")
    portal = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    cleo = portal.actor("cleo@desk.test")
    for title, capacity in (("Yoga", 1), ("Chess", 5)):
        portal.store.insert(cleo, "slot", {"title": title, "capacity": capacity})
    yield portal
    portal.close()


@pytest.fixture
def cleo(web: WebPortal) -> PortalClient:
    return web.client("cleo@desk.test")


def test_parent_rule_message_in_the_readers_language(web: WebPortal, cleo: PortalClient) -> None:
    yoga = web.record_id("slot", title="Yoga")
    first = cleo.post(f"/slots/{yoga}", {"_block": "1", "name": "Ann", "kind": "single"})
    assert first.status_code == 303
    second = cleo.post(
        f"/slots/{yoga}", {"_block": "1", "name": "Bob", "kind": "single"}, headers=GERMAN
    )
    assert second.status_code == 422
    assert "Dieser Termin ist ausgebucht" in second.text
    assert "fully booked" not in second.text
    english = cleo.post(f"/slots/{yoga}", {"_block": "1", "name": "Bob", "kind": "single"})
    assert "This slot is fully booked" in english.text


def test_api_full_slot_is_a_conflict_and_own_rule_unprocessable(
    web: WebPortal, cleo: PortalClient
) -> None:
    """A parent's rule refusing valid input in the parent's current state answers 409 with
    the rule's message (the same body may succeed on another slot); the record's own rule
    refusing its input answers 422."""
    yoga, chess = web.record_id("slot", title="Yoga"), web.record_id("slot", title="Chess")
    headers = {"X-CSRF-Token": cleo.csrf}
    url = cleo.url("/api/v1/booking")
    taken = cleo.client.post(url, json={"slot": yoga, "name": "Ann"}, headers=headers)
    assert taken.status_code == 201
    full = cleo.client.post(url, json={"slot": yoga, "name": "Bob"}, headers=headers)
    assert full.status_code == 409
    assert full.mimetype == "application/problem+json"
    assert full.get_json()["code"] == "conflict"
    assert [m["message"] for m in full.get_json()["errors"]["__all__"]] == [
        "This slot is fully booked"
    ]
    assert (
        cleo.client.post(url, json={"slot": chess, "name": "Bob"}, headers=headers).status_code
        == 201
    )
    group = {"slot": chess, "name": "Club", "kind": "group", "group_size": 20}
    own = cleo.client.post(url, json=group, headers=headers)
    assert own.status_code == 422
    assert own.get_json()["code"] == "invalid"
    document = cleo.client.get(cleo.url("/api/v1/openapi.json")).get_json()
    conflict = document["components"]["responses"]["Conflict"]
    assert "rule" in conflict["description"]
    assert document["paths"]["/booking"]["post"]["responses"]["409"]


def test_own_rule_message_in_the_readers_language(web: WebPortal, cleo: PortalClient) -> None:
    chess = web.record_id("slot", title="Chess")
    form = {"_block": "1", "name": "Club", "kind": "group", "group_size": "20"}
    german = cleo.post(f"/slots/{chess}", form, headers=GERMAN)
    assert german.status_code == 422
    assert "Gruppen haben höchstens zehn Personen" in german.text
    assert "Groups have at most ten people" in cleo.post(f"/slots/{chess}", form).text


def test_new_form_starts_with_expression_defaults(web: WebPortal, cleo: PortalClient) -> None:
    html = cleo.get("/bookings/new").text
    assert re.search(rf'name="day" value="{date.today().isoformat()}"', html)
    assert re.search(r'name="booked_by" value="Cleo Clerk"', html)
    assert '<option value="single" selected>' in html


def test_conditional_fields_are_rendered_hidden_and_mirrored(
    web: WebPortal, cleo: PortalClient
) -> None:
    html = cleo.get("/bookings/new").text
    assert "data-portalis-conditions" in html
    wrapper = re.search(r'<div class="conditional-field"[^>]*>', html)
    assert wrapper is not None
    assert 'data-portalis-field="group_size"' in wrapper.group(0) and " hidden" in wrapper.group(0)
    assert re.search(r'<input type="number" id="b0-group_size"[^>]*disabled', html)
    script = re.search(r'<script src="([^"]+form-conditions\.js)" defer></script>', html)
    assert script is not None
    served = web.app.test_client().get(script.group(1))
    assert served.status_code == 200 and "javascript" in served.headers["Content-Type"]

    def probe(kind: str) -> dict[str, object]:
        answer = cleo.post("/bookings/new", {"_block": "0", "_probe": "1", "kind": kind})
        assert answer.status_code == 200 and answer.mimetype == "application/json"
        return dict(answer.get_json()["fields"])

    assert probe("group") == {"group_size": {"visible": True, "required": True}}
    assert probe("single") == {"group_size": {"visible": False, "required": False}}
    with web.engine.connect() as conn:  # a probe never writes
        table = web.compiled.tables["booking"]
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_conditions_decide_on_submit(web: WebPortal, cleo: PortalClient) -> None:
    chess = web.record_id("slot", title="Chess")
    # hidden (and so not submitted): fine as a single booking
    done = cleo.post(f"/slots/{chess}", {"_block": "1", "name": "Solo", "kind": "single"})
    assert done.status_code == 303
    # a group without its size: the field is shown again, required, with its error
    page = cleo.post(f"/slots/{chess}", {"_block": "1", "name": "Club", "kind": "group"})
    assert page.status_code == 422
    wrapper = re.search(r'<div class="conditional-field"[^>]*>', page.text)
    assert wrapper is not None and " hidden" not in wrapper.group(0)
    assert re.search(r'<input type="number" id="b1-group_size"[^>]*required', page.text)
    assert "This field is required" in page.text or "this field is required" in page.text
    ok = cleo.post(
        f"/slots/{chess}", {"_block": "1", "name": "Club", "kind": "group", "group_size": "4"}
    )
    assert ok.status_code == 303


def test_rollup_and_virtual_fields_in_lists_api_and_exports(
    web: WebPortal, cleo: PortalClient
) -> None:
    chess = web.record_id("slot", title="Chess")
    for name in ("Ann", "Bob"):
        cleo.post(f"/slots/{chess}", {"_block": "1", "name": name, "kind": "single"})
    listing = cleo.get("/slots").text
    assert re.search(r"Chess.*?<td[^>]*>5</td>\s*<td[^>]*>2</td>\s*<td[^>]*>3</td>", listing, re.S)
    api = cleo.client.get(cleo.url(f"/api/v1/slot/{chess}"))
    assert api.status_code == 200
    body = api.get_json()
    assert (body["capacity"], body["booked"], body["free"]) == (5, 2, 3)
    refused = cleo.client.patch(
        cleo.url(f"/api/v1/slot/{chess}"),
        json={"free": 10},
        headers={"X-CSRF-Token": cleo.csrf},
    )
    assert refused.status_code == 422
    export = cleo.get("/_export/slots/0.csv")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.text)))
    chess_row = next(r for r in rows if r and r[0] == "Chess")
    assert chess_row[1:] == ["5", "2", "3"]
