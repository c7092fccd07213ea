"""The audit log on SQLite and PostgreSQL: one row per write with a field-level diff, written
in the write's transaction, append-only, exported as JSON-safe dicts, free of secrets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data import audit
from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.data.errors import ValidationFailed
from portalis.engine.data.events import WriteEvent
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.data.system_tables import audit as audit_table
from portalis.engine.definition.fieldtypes import Money
from portalis.engine.flow import workflow
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import BLUEPRINTS, actor_for, deploy_dir

SLUG = "acme-support"
INVOICE = "Invoice 2026-114 is wrong"


@dataclass
class World:
    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore
    ben: Actor
    sam: Actor

    def ticket(self, subject: str) -> int:
        table = self.portal.tables["ticket"]
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(table.c.id).where(table.c.subject == subject)).scalar_one()
            )

    def history(self, entity: str, record_id: int) -> list[audit.AuditEntry]:
        with self.engine.connect() as conn:
            return audit.history(conn, portal=SLUG, entity=entity, record_id=record_id)

    def rows(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(audit_table)).scalar_one()
            )


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Any) -> World:
    portal = deploy_dir(db_engine, portalis_checker, BLUEPRINTS / "b2c")
    return World(
        db_engine,
        portal,
        portal.store(db_engine),
        actor_for(db_engine, portal, "ben@acme.test").with_ip("203.0.113.7"),
        actor_for(db_engine, portal, "sam@support.test").with_ip("2001:db8::5"),
    )


def test_create_records_every_non_empty_field(world: World) -> None:
    record = world.store.insert(
        world.ben,
        "ticket",
        {"subject": "Refund", "amount": "12.5", "due": "2099-03-01", "tags": ["b", "a"]},
    )
    (entry,) = world.history("ticket", record.id)
    assert entry.action == "create" and entry.record_id == record.id and entry.entity == "ticket"
    assert (entry.actor_id, entry.actor_email, entry.ip) == (
        world.ben.id,
        "ben@acme.test",
        "203.0.113.7",
    )
    assert entry.portal == SLUG and entry.at.tzinfo is not None
    expected = {
        "subject": [None, "Refund"],
        "priority": [None, "normal"],
        "status": [None, "open"],
        "account": [None, world.ben.account],
        "amount": [None, {"amount": "12.50", "amount_currency": "EUR"}],
        "due": [None, "2099-03-01"],
        "tags": [None, ["a", "b"]],
    }
    assert {k: v for k, v in entry.changes.items() if k in expected} == expected
    assert not {"body", "assignee", "attachment", "resolution"} & set(entry.changes)  # empty
    assert entry.detail == {}
    json.dumps(entry.to_json())  # JSON-safe throughout


def test_update_records_only_changed_fields(world: World) -> None:
    t1 = world.ticket(INVOICE)
    world.store.update(world.sam, "ticket", t1, {"priority": "urgent", "amount": "130"})
    world.store.update(world.sam, "ticket", t1, {"priority": "urgent"})  # nothing changes
    noop, first, *_ = world.history("ticket", t1)
    assert noop.action == first.action == "update"
    assert noop.changes == {}  # a write that changed no field is still on record
    assert first.changes == {
        "priority": ["high", "urgent"],
        "amount": [
            {"amount": "129.00", "amount_currency": "EUR"},
            {"amount": "130.00", "amount_currency": "EUR"},
        ],
    }
    assert (first.actor_id, first.ip) == (world.sam.id, "2001:db8::5")


def test_delete_by_system_actor_names_the_user_behind_it(world: World) -> None:
    t1 = world.ticket(INVOICE)
    with begin_write(world.engine) as conn:  # messages refer to the ticket: remove them first
        conn.execute(sa.delete(world.portal.tables["message"]))
    world.store.delete(Actor.system(on_behalf_of=world.sam.id, ip="10.0.0.9"), "ticket", t1)
    (entry, *_) = world.history("ticket", t1)
    assert entry.action == "delete"
    assert (entry.actor_id, entry.actor_email, entry.ip) == (
        world.sam.id,
        "sam@support.test",
        "10.0.0.9",
    )
    assert entry.changes["subject"] == [INVOICE, None]
    assert entry.changes["tags"] == [["billing"], None]
    assert "due" not in entry.changes and "resolution" not in entry.changes  # empty fields


def test_transition_detail_and_entry_marker(world: World) -> None:
    store, t1 = world.store, world.ticket(INVOICE)
    entity = store.entity("ticket")
    flow = store.model.workflows["ticket_flow"]
    with world.engine.connect() as conn:
        created = audit.entry_marker(conn, portal=SLUG, entity="ticket", record_id=t1)
    assert created is None  # seed data is loaded before any listener runs
    world.store.update(world.sam, "ticket", t1, {"body": "Checked."})
    with begin_write(world.engine) as conn:
        before = store.load_raw(conn, entity, t1)
        after = {**before, "status": "in_progress"}
        event = WriteEvent(
            "transition",
            entity,
            Actor.system(on_behalf_of=world.sam.id),
            before,
            after,
            workflow=flow,
            transition=flow.transitions["start"],
            comment="On it",
            via="automation:triage",
        )
        audit.record_event(store, conn, event)
    newest = world.history("ticket", t1)[0]
    assert newest.action == "transition"
    assert newest.detail == {
        "workflow": "ticket_flow",
        "transition": "start",
        "from": "open",
        "to": "in_progress",
        "comment": "On it",
        "via": "automation:triage",
    }
    assert newest.changes == {"status": ["open", "in_progress"]}
    with world.engine.connect() as conn:
        assert audit.entry_marker(conn, portal=SLUG, entity="ticket", record_id=t1) == newest.id
        other = audit.entry_marker(conn, portal=SLUG, entity="ticket", record_id=t1 + 999)
    assert other is None


def test_workflow_transition_is_audited_with_its_comment(world: World) -> None:
    t3 = world.ticket("Change of delivery address")  # open
    workflow.transition(world.store, world.sam, "ticket", t3, "start", comment="Taking this")
    newest = world.history("ticket", t3)[0]
    assert (newest.action, newest.actor_id, newest.ip) == (
        "transition",
        world.sam.id,
        "2001:db8::5",
    )
    assert newest.detail["from"] == "open" and newest.detail["to"] == "in_progress"
    assert newest.detail["transition"] == "start" and newest.detail["comment"] == "Taking this"
    assert newest.changes["status"] == ["open", "in_progress"]
    with world.engine.connect() as conn:
        marker = audit.entry_marker(conn, portal=SLUG, entity="ticket", record_id=t3)
    assert marker == newest.id


def test_r6_failed_write_leaves_no_audit_row(world: World) -> None:
    t1 = world.ticket(INVOICE)
    before = world.rows()
    with pytest.raises(ValidationFailed):  # the rule refuses a due date in the past
        world.store.update(world.sam, "ticket", t1, {"due": "2001-01-01"})
    assert world.rows() == before

    def refuse(store: RecordStore, conn: sa.Connection, event: WriteEvent) -> None:
        raise RuntimeError("a later listener fails")

    strict = RecordStore(
        world.portal.model,
        world.portal.tables,
        world.portal.policy,
        world.engine,
        listeners=(audit.record_event, refuse),
    )
    with pytest.raises(RuntimeError):
        strict.update(world.sam, "ticket", t1, {"priority": "low"})
    with pytest.raises(RuntimeError):
        strict.insert(world.ben, "ticket", {"subject": "Never stored"})
    assert world.rows() == before
    assert world.store.get(world.sam, "ticket", t1)["priority"] == "high"


def test_secrets_never_appear(world: World) -> None:
    users = world.portal.tables["user"]
    with world.engine.connect() as conn:
        password_hash = conn.execute(
            sa.select(users.c.password_hash).where(users.c.id == world.ben.id)
        ).scalar_one()
    system = Actor.system()
    world.store.update(system, "user", world.ben.id, {"name": "Ben O."})
    world.store.insert(system, "user", {"email": "new@acme.test", "name": "New Person"})
    entries = list(audit.export(world.engine, since=datetime(2000, 1, 1, tzinfo=UTC)))
    text = json.dumps(entries)
    assert password_hash and password_hash not in text
    assert "password_hash" not in text and "correct horse" not in text
    update = next(e for e in entries if e["action"] == "update")
    assert update["changes"] == {"name": ["Ben Ortiz", "Ben O."]}
    assert update["actor_id"] is None and update["actor_email"] is None  # the bare system


def test_record_auth_and_export_since(world: World) -> None:
    with begin_write(world.engine) as conn:
        first = audit.record_auth(
            conn,
            portal=SLUG,
            action="login_failed",
            actor_id=None,
            email="ben@acme.test",
            ip="198.51.100.1",
            detail={"provider": "password", "reason": "bad_password"},
        )
        audit.record_auth(
            conn, portal="other-portal", action="login", actor_id=1, email="x@y.test", ip=None
        )
    middle = datetime.now(UTC)
    world.store.update(world.sam, "ticket", world.ticket(INVOICE), {"priority": "low"})
    everything = list(audit.export(world.engine, since=middle - timedelta(hours=1)))
    assert [e["action"] for e in everything] == ["login_failed", "login", "update"]
    assert everything[0] == {
        "id": first,
        "portal": SLUG,
        "at": everything[0]["at"],
        "action": "login_failed",
        "actor_id": None,
        "actor_email": "ben@acme.test",
        "ip": "198.51.100.1",
        "entity": None,
        "record_id": None,
        "changes": {},
        "detail": {"provider": "password", "reason": "bad_password"},
    }
    assert datetime.fromisoformat(everything[0]["at"]) <= middle
    later = list(audit.export(world.engine, since=middle))
    assert [e["action"] for e in later] == ["update"]
    # a naive start means UTC; an offset is honoured
    naive = middle.replace(tzinfo=None)
    assert [e["action"] for e in audit.export(world.engine, since=naive)] == ["update"]
    east = middle.astimezone(timezone(timedelta(hours=5)))
    assert len(list(audit.export(world.engine, since=east))) == 1
    only = list(
        audit.export(world.engine, since=middle - timedelta(hours=1), portal="other-portal")
    )
    assert [e["action"] for e in only] == ["login"]
    assert list(audit.export(world.engine, since=middle + timedelta(minutes=5))) == []


def test_revive_turns_stored_forms_back_into_values(world: World) -> None:
    entity = world.store.entity("ticket")
    table = world.portal.tables["ticket"]
    cases = {
        "amount": Money(Decimal("12.50"), "EUR"),
        "due": date(2099, 3, 1),
        "tags": ["a", "b"],
        "account": 3,
        "subject": "Text",
    }
    for name, value in cases.items():
        field = entity.fields[name]
        stored = audit.stored_form(field, value)
        json.dumps(stored)
        assert audit.revive(field, table, stored) == value, name
    assert audit.revive(entity.fields["amount"], table, "not a money dict") is None
    assert audit.revive(entity.fields["due"], table, None) is None


def test_no_update_or_delete_path_in_the_code() -> None:
    names = [n for n in dir(audit) if not n.startswith("__")]
    assert not [n for n in names if n.startswith(("update", "delete", "remove", "purge", "edit"))]
    assert "no function that updates or deletes" in (audit.__doc__ or "")


def test_append_only_on_postgresql(postgres_url_fixture: str, portalis_checker: Any) -> None:
    engine = create_engine(postgres_url_fixture)
    try:
        deploy_dir(engine, portalis_checker, BLUEPRINTS / "b2c")
        with begin_write(engine) as conn:
            audit.record_auth(
                conn, portal=SLUG, action="login", actor_id=1, email="a@b.test", ip="127.0.0.1"
            )
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE portalis_audit SET action = 'forged'"))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM portalis_audit"))
        with engine.connect() as conn:
            actions = conn.execute(sa.select(audit_table.c.action)).scalars().all()
        assert actions == ["login"]
    finally:
        engine.dispose()
