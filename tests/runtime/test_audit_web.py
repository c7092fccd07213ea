"""The audit log from the web side (SQLite and PostgreSQL): sign-in events with the client's
address, record writes carrying it, the history panel of detail pages, `portalis audit export`."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import g
from test_auth_support import NEW_PASSWORD, PASSWORDS, SLUG, AuthHarness, serve, url

from portalis.engine.data import audit
from portalis.engine.data.db import begin_write
from portalis.engine.data.events import WriteEvent
from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import audit as audit_table
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import approvals
from portalis.engine.flow.workflow import Progress
from portalis.runtime.auth import tokens
from portalis.runtime.blocks.base import BlockContext
from portalis.runtime.blocks.history import render_history
from portalis.runtime.cli import cli
from portalis.testing.portals import BLUEPRINTS, actor_for
from portalis.testing.smtp import SmtpServer
from portalis.testing.web import count_selects

INVOICE = "Invoice 2026-114 is wrong"
CLIENT_IP = "198.51.100.23"


def with_history(tmp_path: Path, roles: str) -> Path:
    """b2c whose ticket detail block shows its history to `roles`."""
    target = tmp_path / "b2c-history"
    shutil.copytree(BLUEPRINTS / "b2c", target)
    pages = target / "pages" / "tickets.yaml"
    line = (
        f"- detail: {{entity: ticket, actions: [transitions, edit], history: {{roles: [{roles}]}}}}"
    )
    text, found = re.subn(r"- detail: \{entity: ticket\b[^\n]*", line, pages.read_text())
    assert found == 1
    pages.write_text(text)
    return target


@pytest.fixture
def auth(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> Iterator[AuthHarness]:
    blueprint = with_history(tmp_path, "agent, account_admin")
    with serve(
        database_url,
        tmp_path,
        portalis_checker,
        smtp_server,
        blueprint,
        env={"PORTALIS_TRUSTED_PROXIES": "127.0.0.1"},
    ) as harness:
        yield harness


def entries(auth: AuthHarness, *actions: str) -> list[dict[str, Any]]:
    """Audit entries (oldest first), only those with `actions` when given."""
    rows = audit.export(auth.engine, since=datetime(2000, 1, 1, tzinfo=UTC))
    return [e for e in rows if not actions or e["action"] in actions]


def uid(auth: AuthHarness, email: str) -> int:
    return int(auth.user(email)["id"])


def link_token(auth: AuthHarness, email: str, purpose: str) -> str:
    """A fresh token of a mailed link (the mail itself is tested with the auth flows)."""
    with begin_write(auth.engine) as conn:
        tokens.revoke(conn, SLUG, uid(auth, email), [purpose])
        return tokens.issue(conn, SLUG, purpose, uid(auth, email))


# -- sign-in events -----------------------------------------------------------------------------
def test_login_failure_success_and_logout_with_ip(auth: AuthHarness) -> None:
    client = auth.client(CLIENT_IP)
    assert auth.login(client, "ben@acme.test", "wrong password 1").status_code == 422
    assert auth.login(client, "nobody@acme.test", "wrong password 1").status_code == 422
    assert auth.login(client, "ben@acme.test").status_code == 303
    assert auth.post(client, "/logout").status_code == 303
    failed_ben, failed_nobody, login, logout = entries(auth)
    assert failed_ben["action"] == failed_nobody["action"] == "login_failed"
    assert (failed_ben["actor_id"], failed_ben["actor_email"], failed_ben["ip"]) == (
        None,
        "ben@acme.test",
        CLIENT_IP,
    )
    assert failed_ben["detail"] == {"provider": "password", "reason": "bad_password"}
    assert failed_nobody["detail"]["reason"] == "unknown_user"
    ben = uid(auth, "ben@acme.test")
    assert login["action"] == "login" and login["detail"] == {"provider": "password"}
    assert (login["actor_id"], login["actor_email"], login["ip"]) == (
        ben,
        "ben@acme.test",
        CLIENT_IP,
    )
    assert (logout["action"], logout["actor_id"], logout["ip"]) == ("logout", ben, CLIENT_IP)
    assert "wrong password" not in json.dumps(entries(auth))


def test_disabled_user_and_lockout(auth: AuthHarness) -> None:
    auth.update_user("nina@globex.test", is_active=False)
    assert auth.login(auth.client(), "nina@globex.test").status_code == 422
    assert entries(auth)[-1]["detail"]["reason"] == "disabled"
    client = auth.client("198.51.100.99")
    for _ in range(10):  # b2c: lockout_after 10
        assert auth.login(client, "ben@acme.test", "wrong password 1").status_code == 422
    assert auth.login(client, "ben@acme.test").status_code == 429  # refused: not audited
    lockouts = entries(auth, "lockout")
    assert len(lockouts) == 1 and len(entries(auth, "login_failed")) == 11
    assert lockouts[0]["actor_email"] == "ben@acme.test"
    assert lockouts[0]["detail"]["reason"] == "account"
    assert lockouts[0]["detail"]["retry_after"] > 0


def test_forwarded_address_only_from_trusted_proxies(auth: AuthHarness) -> None:
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.50"}
    proxied = auth.client("127.0.0.1", **forwarded)  # the trusted proxy
    assert auth.login(proxied, "ben@acme.test").status_code == 303
    spoofed = auth.client("198.51.100.7", **forwarded)
    assert auth.login(spoofed, "anna@acme.test").status_code == 303
    assert [e["ip"] for e in entries(auth, "login")] == ["203.0.113.50", "198.51.100.7"]
    # record writes carry the same address through the request's actor
    created = auth.post(proxied, "/tickets/new", _block="0", subject="Printer on fire")
    assert created.status_code == 303, created.get_data(as_text=True)
    (create,) = entries(auth, "create")
    assert create["entity"] == "ticket" and create["ip"] == "203.0.113.50"
    assert create["actor_id"] == uid(auth, "ben@acme.test")
    assert create["changes"]["subject"] == [None, "Printer on fire"]


def test_password_change_reset_and_sessions(auth: AuthHarness) -> None:
    client, other = auth.client(CLIENT_IP), auth.client()
    auth.login(client, "ben@acme.test")
    auth.login(other, "ben@acme.test")
    assert auth.post(client, "/profile/sessions", action="revoke_others").status_code == 303
    changed = auth.post(
        client,
        "/profile/password",
        current_password=PASSWORDS["ben@acme.test"],
        password=NEW_PASSWORD,
        password_confirm=NEW_PASSWORD,
    )
    assert changed.status_code == 303
    revoked, change = entries(auth, "session_revoked", "password_change")
    ben = uid(auth, "ben@acme.test")
    assert (revoked["action"], revoked["actor_id"], revoked["ip"]) == (
        "session_revoked",
        ben,
        CLIENT_IP,
    )
    assert revoked["detail"] == {"scope": "others", "count": 1}
    assert (change["action"], change["actor_id"]) == ("password_change", ben)
    assert NEW_PASSWORD not in json.dumps(entries(auth))

    path = url(f"/reset/{link_token(auth, 'anna@acme.test', tokens.RESET)}")
    browser = auth.client("192.0.2.44")
    browser.get(path)
    reset = browser.post(
        path,
        data={
            "csrf_token": auth.csrf(browser),
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert reset.status_code == 303
    (entry,) = entries(auth, "password_reset")
    assert (entry["actor_id"], entry["actor_email"], entry["ip"]) == (
        uid(auth, "anna@acme.test"),
        "anna@acme.test",
        "192.0.2.44",
    )


def test_invitation_sent_and_accepted(auth: AuthHarness) -> None:
    admin = auth.client()
    auth.login(admin, "anna@acme.test")
    invited = auth.post(
        admin, "/account/users", action="invite", email="carla@acme.test", name="Carla",
        role="customer",
    )  # fmt: skip
    assert invited.status_code == 303
    path = url(f"/invite/{link_token(auth, 'carla@acme.test', tokens.INVITE)}")
    guest = auth.client(CLIENT_IP)
    guest.get(path)
    accepted = guest.post(
        path,
        data={
            "csrf_token": auth.csrf(guest),
            "name": "Carla Diaz",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert accepted.status_code == 303
    invitation, acceptance = entries(auth, "invitation", "invitation_accepted")
    carla = uid(auth, "carla@acme.test")
    assert invitation["actor_id"] == uid(auth, "anna@acme.test")
    assert invitation["detail"] == {
        "user": carla,
        "user_email": "carla@acme.test",
        "role": "customer",
    }
    assert (acceptance["actor_id"], acceptance["ip"]) == (carla, CLIENT_IP)


# -- the history panel ----------------------------------------------------------------------------
def panel(auth: AuthHarness, email: str, record_id: int, locale: str = "en") -> str:
    """The history panel of a ticket's detail block as `email` sees it."""
    st = auth.app.extensions["portalis"]
    with auth.app.test_request_context(url(f"/tickets/{record_id}")):
        portal = st.registry.require(SLUG)
        g.portal, g.portal_prefix, g.locale = portal, f"/{SLUG}", locale
        actor = actor_for(auth.engine, portal.compiled, email)
        page = portal.compiled.model.pages["ticket"]
        record = portal.store.get(actor, "ticket", record_id)
        ctx = BlockContext(portal, page, page.blocks[0], actor, locale, record)
        return str(render_history(ctx, portal.store.entity("ticket"), record))


def changes_of(html: str) -> dict[str, str]:
    """Field name → "old → new" text of every change row in a panel."""
    out = {}
    for name, body in re.findall(r'<dd class="history-change-(\w+)">(.*?)</dd>', html, re.S):
        text = re.sub(r'<span class="sr-only">.*?</span>', "", body)
        out[name] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip()
    return out


@pytest.fixture
def edited(auth: AuthHarness) -> int:
    """Ticket t1 after a customer created it and an agent changed it."""
    portal = auth.portal
    store = portal.store(auth.engine)
    ben = actor_for(auth.engine, portal, "ben@acme.test").with_ip(CLIENT_IP)
    sam = actor_for(auth.engine, portal, "sam@support.test")
    record = store.insert(ben, "ticket", {"subject": "Broken invoice", "amount": "129"})
    store.update(sam, "ticket", record.id, {"priority": "urgent", "amount": "130.5"})
    store.update(sam, "ticket", record.id, {"assignee": sam.id})  # hidden from customers
    return record.id


def test_history_panel_for_permitted_roles(auth: AuthHarness, edited: int) -> None:
    html = panel(auth, "sam@support.test", edited)
    assert '<h2 class="history-title" id="history-0">History</h2>' in html
    heads = re.findall(r'<p class="history-head">(.*?)<span class="history-time', html, re.S)
    assert [re.sub(r"<[^>]+>", "", h).strip() for h in heads] == [
        "Sam Agent changed the record",
        "Sam Agent changed the record",
        "Ben Ortiz created the record",
    ]
    first_update = html.split('<li class="history-entry')[2]
    assert changes_of(first_update) == {
        "priority": "Normal → Urgent",
        "amount": "€129.00 → €130.50",
    }
    assert '<span class="badge badge-urgent">Urgent</span>' in first_update
    assert changes_of(html.split('<li class="history-entry')[1]) == {"assignee": "— → Sam Agent"}
    created = changes_of(html.split('<li class="history-entry')[3])
    assert created["subject"] == "Broken invoice" and created["amount"] == "€129.00"
    assert created["status"] == "Open" and "body" not in created  # empty fields are left out
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:]+\+00:00">\w{3} \d+, \d{4}', html)
    assert panel(auth, "ben@acme.test", edited) == ""  # customers: no history panel


def test_asvs_8_2_3_history_hides_unreadable_fields(auth: AuthHarness, edited: int) -> None:
    html = panel(auth, "anna@acme.test", edited, locale="de")  # an account admin
    assert "Bearbeiter" not in html and "Sam Agent</ins>" not in html
    assert "assignee" not in html
    # the update that only touched the assignee is left out entirely
    assert html.count('<li class="history-entry') == 2
    assert "Verlauf" in html and "hat den Datensatz geändert" in html
    assert "129,00\xa0€" in html and "130,50\xa0€" in html


def test_history_transition_comment_and_query_count(auth: AuthHarness, edited: int) -> None:
    portal = auth.portal
    store = portal.store(auth.engine)
    entity, flow = store.entity("ticket"), portal.model.workflows["ticket_flow"]
    sam = actor_for(auth.engine, portal, "sam@support.test")
    with count_selects(auth.engine) as before:
        panel(auth, "sam@support.test", edited)
    with begin_write(auth.engine) as conn:
        current = store.load_raw(conn, entity, edited)
        for _ in range(3):
            event_args = {"workflow": flow, "transition": flow.transitions["start"]}
            audit.record_event(
                store,
                conn,
                WriteEvent(
                    "transition",
                    entity,
                    Actor.system(on_behalf_of=sam.id),
                    current,
                    {**current, "status": "in_progress"},
                    comment="Looking <b>now</b>",
                    via="automation:triage",
                    **event_args,
                ),
            )
        approvals.approve(
            conn, portal=SLUG, entity=entity, workflow=flow, transition=flow.transitions["start"],
            record=current, actor=sam, round_=1, comment=None, progress=Progress(1, 2),
            final=False,
        )  # fmt: skip
    with count_selects(auth.engine) as after:
        html = panel(auth, "sam@support.test", edited)
    assert len(after) == len(before)  # entries are batched: no query per entry
    assert "<strong>Sam Agent</strong> applied “Start work”" in html
    assert "(via automation:triage)" in html
    assert "<strong>Sam Agent</strong> approved “Start work” (1 of 2)" in html
    assert '<span class="badge badge-open">Open</span>' in html
    assert '<span class="badge badge-in_progress">In progress</span>' in html
    assert '<blockquote class="history-comment">Looking &lt;b&gt;now&lt;/b&gt;</blockquote>' in html


# -- the CLI ------------------------------------------------------------------------------------
def test_cli_audit_export(auth: AuthHarness, database_url: str, tmp_path: Path) -> None:
    auth.login(auth.client(CLIENT_IP), "ben@acme.test")
    store = auth.portal.store(auth.engine)
    sam = actor_for(auth.engine, auth.portal, "sam@support.test")
    t1 = auth.portal.tables["ticket"]
    with auth.engine.connect() as conn:
        ticket = conn.execute(sa.select(t1.c.id).where(t1.c.subject == INVOICE)).scalar_one()
    store.update(sam, "ticket", ticket, {"priority": "low"})
    runner = CliRunner()
    today = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    result = runner.invoke(
        cli, ["audit", "export", "--since", today, "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["action"] for e in lines] == ["login", "update"]
    assert lines[1]["changes"] == {"priority": ["high", "low"]}
    assert "exported 2 audit entries" in result.stderr

    target = tmp_path / "audit.jsonl"
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    written = runner.invoke(
        cli,
        ["audit", "export", "--since", "2000-01-01T00:00:00Z", "--portal", SLUG,
         "--output", str(target), "--database-url", database_url],
    )  # fmt: skip
    assert written.exit_code == 0, written.output
    assert [json.loads(x)["action"] for x in target.read_text().splitlines()] == ["login", "update"]
    assert not (tmp_path / "audit.jsonl.partial").exists()
    none = runner.invoke(cli, ["audit", "export", "--since", later, "--database-url", database_url])
    assert none.exit_code == 0 and none.stdout == ""
    other = runner.invoke(
        cli,
        ["audit", "export", "--since", today, "--portal", "nope", "--database-url", database_url],
    )
    assert other.exit_code == 0 and other.stdout == ""
    bad = runner.invoke(
        cli, ["audit", "export", "--since", "yesterday", "--database-url", database_url]
    )
    assert bad.exit_code == 2 and "not a date" in bad.output
    with auth.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_table)).scalar_one() == 2
