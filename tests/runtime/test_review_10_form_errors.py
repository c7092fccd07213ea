"""Refused forms say why next to the form, keep what was typed, in the reader's language
(SQLite and PostgreSQL, the b2c blueprint): a workflow transition refused by a rule of the
entity or by its `when` condition, and a create form whose chosen account lies outside the
customer's create scope (a field error, nothing written, no other account's data shown)."""

from __future__ import annotations

import html
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import OutOfScope
from portalis.testing.portal_fixtures import LoginAs
from portalis.testing.portals import BLUEPRINTS
from portalis.testing.web import WebPortal

#: b2c as a portal with an account directory: customers may read every account, and the new
#: ticket form lets them choose the account (their create grant still covers only their own)
ACCOUNTS_READ = "      - {roles: [agent], actions: [read], scope: all}\n  user:"
NEW_TICKET = "fields: [subject, body, priority, amount, tags, due, attachment], redirect: ticket}"


@pytest.fixture
def portalis_definition_dir(tmp_path: Path) -> Path:
    folder = Path(shutil.copytree(BLUEPRINTS / "b2c", tmp_path / "b2c"))
    people = folder / "entities" / "people.yaml"
    pages = folder / "pages" / "tickets.yaml"
    text, page_text = people.read_text("utf-8"), pages.read_text("utf-8")
    assert ACCOUNTS_READ in text and NEW_TICKET in page_text, "b2c changed: update the test"
    people.write_text(
        text.replace(ACCOUNTS_READ, ACCOUNTS_READ.replace("[agent]", "[agent, customer]")),
        "utf-8",
    )
    pages.write_text(page_text.replace(NEW_TICKET, NEW_TICKET.replace("]", ", account]")), "utf-8")
    return folder


def set_columns(web: WebPortal, entity: str, record_id: int, **values: object) -> None:
    table = web.compiled.tables[entity]
    with web.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == record_id).values(**values))


def ticket(web: WebPortal, subject: str) -> tuple[int, int, str]:
    """(id, version, status) of a seeded ticket."""
    record_id = web.record_id("ticket", subject=subject)
    rec = web.store.get(web.actor("sam@support.test"), "ticket", record_id)
    return record_id, rec.version, str(rec["status"])


def transition_form(page: str, name: str) -> str:
    """The HTML of the (open) form of transition `name`."""
    for match in re.finditer(r"<details\b[^>]*>.*?</details>", page, re.S):
        if f'name="name" value="{name}"' in match.group(0):
            return match.group(0)
    raise AssertionError(f"no open form for {name}")


def alert(fragment: str) -> str:
    found = re.search(r'<div class="form-error" role="alert">(.*?)</div>', fragment, re.S)
    assert found, fragment
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


def test_review_10_refused_transition_shows_reason(
    portalis_portal: WebPortal, login_as: LoginAs
) -> None:
    web = portalis_portal
    # a `check` rule refuses closing (the due date lies in the past): said in German for Anna
    t1 = web.record_id("ticket", subject="Invoice 2026-114 is wrong")
    set_columns(web, "ticket", t1, status="resolved", due=date.today() - timedelta(days=3))
    _, version, _ = ticket(web, "Invoice 2026-114 is wrong")
    anna = login_as("anna@acme.test")
    response = anna.post(f"/tickets/{t1}", {"_block": "0", "name": "close", "version": version})
    assert response.status_code == 422
    close = transition_form(response.text, "close")
    assert " open>" in close.split("\n", 1)[0]
    assert "Das Fälligkeitsdatum liegt in der Vergangenheit" in alert(close)
    assert ticket(web, "Invoice 2026-114 is wrong")[2] == "resolved"

    # the `when` condition turned false after the page was loaded: the reason is the
    # reopen form's error, and the comment typed is still there
    t2 = web.record_id("ticket", subject="Cannot download my contract")
    old = datetime.now(UTC) - timedelta(days=30)
    set_columns(web, "ticket", t2, status="resolved", updated_at=old)
    _, version, _ = ticket(web, "Cannot download my contract")
    ben = login_as("ben@acme.test")
    form = {"_block": "0", "name": "reopen", "version": version, "comment": "Still broken <b>"}
    response = ben.post(f"/tickets/{t2}", form)
    assert response.status_code == 422
    reopen = transition_form(response.text, "reopen")
    assert "when-condition false" in alert(reopen)
    assert ">Still broken &lt;b&gt;</textarea>" in reopen
    assert ticket(web, "Cannot download my contract")[2] == "resolved"

    # a required field left empty stays a field error announced through aria-describedby
    t4, version, _ = ticket(web, "Outage in the order portal")
    sam = login_as("sam@support.test")
    response = sam.post(f"/tickets/{t4}", {"_block": "0", "name": "resolve", "version": version})
    assert response.status_code == 422
    resolve = transition_form(response.text, "resolve")
    assert 'aria-describedby="b0-resolve-resolution-error"' in resolve
    assert 'id="b0-resolve-resolution-error"' in resolve


def test_review_10_out_of_scope_value_is_a_field_error_and_keeps_input(
    portalis_portal: WebPortal, login_as: LoginAs
) -> None:
    web = portalis_portal
    globex = web.record_id("account", name="Globex Ltd")
    sam = web.actor("sam@support.test")
    before = web.store.count(sam, "ticket")
    for email, message in [
        ("ben@acme.test", "You cannot create a record with this value."),
        ("anna@acme.test", "Mit diesem Wert können Sie keinen Datensatz anlegen."),
    ]:
        response = login_as(email).post(
            "/tickets/new",
            {"_block": "0", "subject": "Printer on fire", "body": "Smoke", "account": globex},
        )
        assert response.status_code == 422, email
        page = response.text
        field = re.search(r'<div class="field field-select has-error">.*?</div>', page, re.S)
        assert field and 'id="b0-account"' in field.group(0)
        assert 'aria-describedby="b0-account-error"' in field.group(0)
        assert f'<option value="{globex}" selected>' in field.group(0)
        error = re.search(r'<p class="field-error" id="b0-account-error">([^<]*)</p>', page)
        assert error and html.unescape(error.group(1)) == message
        # what was typed is kept
        assert 'name="subject" value="Printer on fire"' in page
        assert ">Smoke</textarea>" in page
    # nothing was written
    assert web.store.count(sam, "ticket") == before
    # the engine names the field that put the record out of reach
    with pytest.raises(OutOfScope) as refused:
        web.store.insert(
            web.actor("ben@acme.test"), "ticket", {"subject": "Direct", "account": globex}
        )
    assert refused.value.fields == ("account",)
    assert web.store.count(sam, "ticket") == before


DESK = """\
format: portalis/v1
portal: desk
title: Desk
locales: [en, de]
roles:
  clerk: {label: Clerk}
entities:
  booking:
    fields:
      name: {type: string, required: true}
      kind: {type: choice, options: [single, group], default: single}
    permissions:
      - {roles: [clerk], actions: [read], scope: all}
      - {roles: [clerk], actions: [create], scope: {where: {kind: single}}}
pages:
  home:
    route: /
    roles: [anonymous, authenticated]
    blocks:
      - markdown: "# Desk"
  new_booking:
    route: /bookings/new
    roles: [clerk]
    blocks:
      - form: {entity: booking, fields: [name, kind]}
seed: [seed.yaml]
"""
DESK_SEED = """\
users:
  - {email: cleo@desk.test, name: Cleo Clerk, password: "lantern orbit 7 meadow", roles: [clerk],
     locale: de}
"""


def test_review_10_where_scope_value_is_a_field_error(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "portal.yaml").write_text(DESK, encoding="utf-8")
    (folder / "seed.yaml").write_text(DESK_SEED, encoding="utf-8")
    web = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    try:
        cleo = web.client("cleo@desk.test")
        response = cleo.post(
            "/bookings/new", {"_block": "0", "name": "Chess club", "kind": "group"}
        )
        assert response.status_code == 422
        error = re.search(r'<p class="field-error" id="b0-kind-error">([^<]*)</p>', response.text)
        assert error and html.unescape(error.group(1)) == (
            "Mit diesem Wert können Sie keinen Datensatz anlegen."
        )
        assert 'name="name" value="Chess club"' in response.text
        assert '<option value="group" selected>' in response.text
        assert web.store.count(web.actor("cleo@desk.test"), "booking")[0] == 0
    finally:
        web.close()
