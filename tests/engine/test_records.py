"""The record store and policy on the starter blueprint: isolation, masks, writes, workflows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from portalis.engine.accounts import users
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import BadQuery, Forbidden, NotFound, StaleRecord, ValidationFailed
from portalis.engine.flow import workflow
from portalis.testing.portals import BLUEPRINTS, actor_for, deploy_dir


@pytest.fixture
def world(db_engine, portalis_checker):
    portal = deploy_dir(db_engine, portalis_checker, BLUEPRINTS / "b2c")
    store = portal.store(db_engine)
    people = {
        name: actor_for(db_engine, portal, email)
        for name, email in {
            "anna": "anna@acme.test",
            "ben": "ben@acme.test",
            "nina": "nina@globex.test",
            "sam": "sam@support.test",
        }.items()
    }
    tickets = {
        r["subject"]: r.id for r in store.list(people["sam"], "ticket", page_size=100).records
    }
    return portal, store, people, tickets


def subjects(page) -> set[str]:
    return {r["subject"] for r in page.records}


def test_accounts_only_see_their_own_tickets(world) -> None:
    _, store, p, _ = world
    assert subjects(store.list(p["anna"], "ticket")) == {
        "Invoice 2026-114 is wrong",
        "Cannot download my contract",
    }
    assert subjects(store.list(p["nina"], "ticket")) == {
        "Change of delivery address",
        "Outage in the order portal",
    }
    assert len(store.list(p["sam"], "ticket").records) == 4
    assert store.count(p["nina"], "ticket") == (2, True)
    assert store.list(p["nina"], "ticket", search="invoice").records == ()
    assert subjects(store.list(p["anna"], "ticket", search="INVOICE 2026")) == {
        "Invoice 2026-114 is wrong"
    }
    assert [t for _, t in store.autocomplete(p["nina"], "ticket", "")] == sorted(
        ["Change of delivery address", "Outage in the order portal"]
    )
    assert dict(store.aggregate(p["anna"], "ticket", group_by="priority")) == {
        "high": 1,
        "normal": 1,
    }
    # an all-rows scope has no WHERE: the count must still select from the table
    assert store.aggregate(p["sam"], "ticket") == [(None, 4)]
    assert store.aggregate(p["nina"], "ticket") == [(None, 2)]


def test_asvs_8_2_2_idor_get_update_transition(world) -> None:
    _, store, p, t = world
    other = t["Outage in the order portal"]
    with pytest.raises(NotFound):
        store.get(p["anna"], "ticket", other)
    with pytest.raises(NotFound):
        store.update(p["anna"], "ticket", other, {"subject": "mine now"})
    with pytest.raises(NotFound):
        workflow.transition(store, p["anna"], "ticket", other, "close")
    with pytest.raises(NotFound):
        store.delete(p["anna"], "ticket", other)
    assert store.get(p["sam"], "ticket", other)["subject"] == "Outage in the order portal"


def test_asvs_8_2_3_field_mask(world) -> None:
    _, store, p, t = world
    outage = t["Outage in the order portal"]
    assert "assignee" not in store.get(p["nina"], "ticket", outage)
    assert store.get(p["sam"], "ticket", outage)["assignee"] is not None
    with pytest.raises(BadQuery):  # sorting by a hidden field would leak its order
        store.list(p["nina"], "ticket", sort="assignee")
    with pytest.raises(BadQuery):
        store.list(p["nina"], "ticket", filters={"assignee": p["sam"].id})


def test_update_scopes_and_field_restrictions(world) -> None:
    _, store, p, t = world
    mine = t["Cannot download my contract"]  # created by ben
    record = store.get(p["ben"], "ticket", mine)
    updated = store.update(
        p["ben"],
        "ticket",
        mine,
        {"subject": "Contract PDF broken"},
        expected_version=record.version,
    )
    assert updated["subject"] == "Contract PDF broken" and updated.version == record.version + 1
    with pytest.raises(Forbidden):  # anna can read ben's ticket but only update her own
        store.update(p["anna"], "ticket", mine, {"subject": "x"})
    with pytest.raises(ValidationFailed) as refused:
        store.update(p["ben"], "ticket", mine, {"priority": "urgent"})
    assert refused.value.errors["priority"][0].code == "not-writable"


def test_asvs_15_3_3_mass_assignment_refused(world) -> None:
    _, store, p, t = world
    mine = t["Cannot download my contract"]
    for field in ("id", "created_by", "version", "status", "account_id", "password_hash", "roles"):
        with pytest.raises(ValidationFailed) as refused:
            store.update(p["ben"], "ticket", mine, {field: 99})
        assert field in refused.value.errors
    with pytest.raises(ValidationFailed):
        store.insert(p["ben"], "ticket", {"subject": "x", "status": "closed"})


def test_r5_stale_version_is_refused(world) -> None:
    _, store, p, t = world
    mine = t["Cannot download my contract"]
    version = store.get(p["ben"], "ticket", mine).version
    store.update(p["ben"], "ticket", mine, {"body": "first"}, expected_version=version)
    with pytest.raises(StaleRecord):
        store.update(p["ben"], "ticket", mine, {"body": "second"}, expected_version=version)
    assert store.get(p["ben"], "ticket", mine)["body"] == "first"


def test_create_fills_account_and_refuses_foreign_account(world) -> None:
    portal, store, p, _ = world
    created = store.insert(
        p["nina"], "ticket", {"subject": "Printer on fire", "priority": "urgent"}
    )
    assert created["account"] == p["nina"].account
    assert created["status"] == "open" and created["created_by"] == p["nina"].id
    with pytest.raises((Forbidden, ValidationFailed)):
        store.insert(p["nina"], "ticket", {"subject": "sneaky", "account": p["anna"].account})
    with pytest.raises(Forbidden):
        store.insert(p["sam"], "ticket", {"subject": "agents have no create grant"})
    with pytest.raises(ValidationFailed) as missing:
        store.insert(p["nina"], "ticket", {"body": "no subject"})
    assert missing.value.errors["subject"][0].code == "required"


def test_rule_check_refuses_past_due_date(world) -> None:
    _, store, p, _ = world
    with pytest.raises(ValidationFailed) as refused:
        store.insert(p["nina"], "ticket", {"subject": "late", "due": "2001-01-01"})
    assert refused.value.errors["__all__"][0].code == "rule"


def test_parent_scope_on_messages(world) -> None:
    _, store, p, t = world
    invoice = t["Invoice 2026-114 is wrong"]
    outage = t["Outage in the order portal"]
    assert len(store.list(p["anna"], "message", parent=("ticket", invoice)).records) == 2
    assert store.list(p["nina"], "message", parent=("ticket", invoice)).records == ()
    assert len(store.list(p["nina"], "message").records) == 1
    with pytest.raises(ValidationFailed) as refused:
        store.insert(p["nina"], "message", {"ticket": invoice, "body": "hello"})
    assert refused.value.errors["ticket"][0].code == "not-found"
    made = store.insert(p["sam"], "message", {"ticket": outage, "body": "on it"})
    assert made["ticket"] == outage


def test_workflow_transitions(world) -> None:
    _, store, p, t = world
    address = t["Change of delivery address"]
    names = {a.transition.name: a for a in workflow.available(store, p["sam"], "ticket", address)}
    assert names["start"].allowed and not names["resolve"].allowed
    assert (
        "needs role"
        in {a.transition.name: a for a in workflow.available(store, p["nina"], "ticket", address)}[
            "start"
        ].reason
    )
    assert (
        workflow.transition(store, p["sam"], "ticket", address, "start")["status"] == "in_progress"
    )
    with pytest.raises(Forbidden) as denied:
        workflow.transition(store, p["nina"], "ticket", address, "resolve")
    assert "needs role agent" in denied.value.reason
    with pytest.raises(ValidationFailed) as needs:
        workflow.transition(store, p["sam"], "ticket", address, "resolve")
    assert "resolution" in needs.value.errors
    done = workflow.transition(
        store, p["sam"], "ticket", address, "resolve", values={"resolution": "Updated."}
    )
    assert done["status"] == "resolved" and done["resolution"] == "Updated."
    closed = workflow.transition(
        store, p["nina"], "ticket", address, "close", expected_version=done.version
    )
    assert closed["status"] == "closed"
    with pytest.raises(ValidationFailed):  # reopening asks why
        workflow.transition(store, p["nina"], "ticket", address, "reopen")
    reopened = workflow.transition(
        store, p["nina"], "ticket", address, "reopen", comment="Still broken"
    )
    assert reopened["status"] == "open"


def test_users_visibility_and_auth_columns_never_leave(world) -> None:
    _, store, p, _ = world
    anna_sees = {r["email"] for r in store.list(p["anna"], "user").records}
    # lena works for Acme (her home account) and Globex (a membership): Acme's users list her
    assert anna_sees == {"anna@acme.test", "ben@acme.test", "lena@acme.test"}
    assert {r["email"] for r in store.list(p["nina"], "user").records} == {"nina@globex.test"}
    for record in store.list(p["sam"], "user").records:
        assert "password_hash" not in record and "roles" not in record


def test_explain_gives_reasons(world) -> None:
    portal, store, p, t = world
    with store.engine.connect() as conn:
        record = store.raw_values(
            portal.model.entities["ticket"],
            conn.execute(
                sa.select(portal.tables["ticket"]).where(
                    portal.tables["ticket"].c.id == t["Outage in the order portal"]
                )
            )
            .mappings()
            .one(),
        )
        text = portal.policy.explain(p["anna"], "read", "ticket", record, lookup=store.lookup(conn))
    assert text.startswith("DENIED")
    assert "grant #1 of ticket: customer/account" in text
    assert (
        portal.policy.can(p["sam"], "read", "ticket", record).reason
        == "allowed by grant #4 of ticket: agent/all"
    )


def test_list_query_count_is_constant(world) -> None:
    _, store, p, _ = world
    for i in range(30):
        store.insert(p["nina"], "ticket", {"subject": f"bulk {i}"})
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        store.list(p["nina"], "ticket", page_size=10)
        small = len(statements)
        statements.clear()
        store.list(p["nina"], "ticket", page_size=100)
        large = len(statements)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert small == large == 1  # rows and the bounded count in one statement


def test_unique_index_holds_when_the_precheck_races(world, monkeypatch) -> None:
    portal, store, _, _ = world
    # a concurrent transaction has not committed yet when the pre-check runs: simulate it
    monkeypatch.setattr(users, "find_user", lambda conn, portal, email: None)
    with pytest.raises(ValidationFailed) as taken:
        with begin_write(store.engine) as conn:
            users.create_user(
                conn, portal, email="ben@acme.test", name="Ben 2", password=None, roles=["customer"]
            )
    assert taken.value.errors["email"][0].code == "unique"


def test_file_ids_are_no_permission(world) -> None:
    _, store, p, t = world
    mine = t["Cannot download my contract"]
    with pytest.raises(ValidationFailed) as refused:
        store.update(p["ben"], "ticket", mine, {"attachment": "someone-elses-file-id-0123"})
    assert refused.value.errors["attachment"][0].code == "not-found"
    allowed = store.model, store.tables, store.policy
    guarded = type(store)(
        *allowed,
        store.engine,
        file_guard=lambda conn, actor, fid: fid.startswith("own"),
        listeners=store.listeners,
    )
    assert guarded.update(p["ben"], "ticket", mine, {"attachment": "own-upload-0123456789"})[
        "attachment"
    ]


def test_bounded_count_rides_in_the_list_query(world, db_engine) -> None:
    _, store, p, _ = world
    statements: list[str] = []

    def before(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db_engine, "before_cursor_execute", before)
    try:
        first = store.list(p["sam"], "ticket", page_size=3)
        assert len(statements) == 1 and "count(" in statements[0].lower()
        assert (first.total, first.total_exact, first.has_next) == (4, True, True)
        bounded = store.list(p["sam"], "ticket", page_size=1, count_limit=2)
        assert (bounded.total, bounded.total_exact) == (2, False)
        statements.clear()
        # a page past the end carries no row to read the count from: it is counted apart
        past = store.list(p["nina"], "ticket", page=3, page_size=2)
        assert (past.records, past.total, past.total_exact) == ((), 2, True)
        assert len(statements) == 2
        statements.clear()
        uncounted = store.list(p["sam"], "ticket", page=2, page_size=3, count=False)
        assert "count(" not in statements[0].lower()
        assert (uncounted.total, uncounted.has_next) == (4, False)
    finally:
        event.remove(db_engine, "before_cursor_execute", before)
