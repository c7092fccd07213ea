"""Actions that reach further, on SQLite and PostgreSQL: automations that take workflow
transitions (same transaction, audit entries, refusal, a bounded loop), copying a record with
its children through the record store as the user, and notification recipients named by ref
paths, each recipient seeing only what they may read, in their own locale."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from actions_world import World, make_world

from portalis.engine.data import audit
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import Forbidden, NotFound, ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import copying, workflow
from portalis.engine.flow.automations import AutomationFailed, run_scheduled
from portalis.engine.outbox import notify


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> World:
    return make_world(db_engine, portalis_checker, tmp_path / "actions")


# -- automations take transitions --------------------------------------------------------------
def test_update_automation_takes_the_transition_in_the_same_write(world: World) -> None:
    invoice = world.invoice()
    world.store.update(world.sam, "invoice", invoice, {"open_amount": "20.00"})
    assert world.raw("invoice", invoice)["status"] == "issued"  # the condition is false
    world.store.update(world.sam, "invoice", invoice, {"open_amount": "0"})
    after = world.raw("invoice", invoice)
    assert after["status"] == "paid"
    with world.engine.connect() as conn:
        entries = audit.history(conn, portal=world.portal.slug, entity="invoice", record_id=invoice)
    taken = [e for e in entries if e.action == "transition"]
    assert len(taken) == 1
    assert taken[0].detail["transition"] == "pay"
    assert taken[0].detail["via"] == "automation settle_invoice"
    assert taken[0].actor_id == world.sam.id  # the system acted for sam: the log names him


def test_a_transition_that_cannot_be_taken_refuses_the_write(world: World) -> None:
    order = world.order(world.sam)  # a draft: `deliver` starts from placed only
    with pytest.raises(AutomationFailed) as caught:
        world.store.update(world.sam, "sales_order", order, {"note": "deliver now"})
    assert caught.value.automation == "deliver_on_note"
    assert "deliver" in caught.value.error and "not available" in caught.value.error
    assert world.raw("sales_order", order)["note"] == "blue ones"  # nothing was written
    workflow.take(world.store, world.sam, "sales_order", order, "place")
    world.store.update(world.sam, "sales_order", order, {"note": "deliver now"})
    assert world.raw("sales_order", order)["status"] == "delivered"


def test_a_scheduled_automation_takes_the_transition_per_record(world: World) -> None:
    settled, open_ = world.invoice(), world.invoice(number="R-8")
    world.store.update(world.sam, "invoice", settled, {"open_amount": "0"})  # paid at once
    workflow.take(world.store, world.sam, "invoice", settled, "reopen")
    assert world.raw("invoice", settled)["status"] == "reopened"
    nightly = world.portal.model.automations["settle_nightly"]
    with begin_write(world.engine) as conn:
        assert run_scheduled(world.store, nightly, conn=conn) == 1
    assert world.raw("invoice", settled)["status"] == "paid"
    assert world.raw("invoice", open_)["status"] == "issued"
    with world.engine.connect() as conn:
        entries = audit.history(conn, portal=world.portal.slug, entity="invoice", record_id=settled)
    assert entries[0].detail["via"] == "automation settle_nightly"
    assert entries[0].actor_id is None  # nobody acts in a schedule


def test_transitions_taking_each_other_are_bounded(world: World) -> None:
    invoice = world.invoice(number="LOOP")
    with pytest.raises(AutomationFailed, match="levels deep"):
        world.store.update(world.sam, "invoice", invoice, {"open_amount": "0"})
    after = world.raw("invoice", invoice)
    assert after["status"] == "issued" and str(after["open_amount"]).startswith("79")
    with world.engine.connect() as conn:
        entries = audit.history(conn, portal=world.portal.slug, entity="invoice", record_id=invoice)
    assert [e.action for e in entries] == ["create"]


# -- copying -----------------------------------------------------------------------------------
def test_copy_duplicates_the_record_and_its_children_as_the_user(world: World) -> None:
    order = world.order(world.sam, internal_note="call first")
    source = world.raw("sales_order", order)
    copy = copying.copy_record(world.store, world.ben, "sales_order", order)
    assert copy.id != order
    raw = world.raw("sales_order", copy.id)
    assert raw["number"] is None  # reset
    assert raw["status"] == "draft"  # the initial state
    assert raw["note"] == "blue ones"
    assert raw["internal_note"] is None  # ben may not read it, so it is not his to copy
    assert raw["created_by"] == world.ben.id and raw["account"] == world.acme
    assert raw["total"] == source["total"]  # the rollup filled in by the copied lines
    lines = world.store.list(world.sam, "sales_order_line", parent=("order", copy.id), sort="id")
    assert [(r["product"], r["quantity"], r["delivered"]) for r in lines.records] == [
        ("Widget 1", 1, False),
        ("Widget 2", 2, False),
    ]
    assert world.count("sales_order") == 2 and world.count("sales_order_line") == 4


def test_copy_of_an_invisible_record_or_an_uncopyable_entity_is_not_found(world: World) -> None:
    order = world.order(world.sam)
    with pytest.raises(NotFound):
        copying.copy_record(world.store, world.nina, "sales_order", order)  # Globex
    invoice = world.invoice()
    with pytest.raises(NotFound):
        copying.copy_record(world.store, world.sam, "invoice", invoice)
    assert world.count("sales_order") == 1


def test_copy_without_create_rights_is_refused_and_writes_nothing(world: World) -> None:
    order = world.order(world.sam)
    viewer, clerk = world.as_role("viewer"), world.as_role("clerk")
    assert not copying.can_copy(world.store, viewer, "sales_order")
    with pytest.raises(Forbidden):
        copying.copy_record(world.store, viewer, "sales_order", order)
    # the clerk may create the order but not its lines: the copy is refused as a whole
    assert not copying.can_copy(world.store, clerk, "sales_order")
    with pytest.raises(Forbidden):
        copying.copy_record(world.store, clerk, "sales_order", order)
    assert world.count("sales_order") == 1 and world.count("sales_order_line") == 2
    assert copying.can_copy(world.store, world.ben, "sales_order")


def test_a_refused_child_leaves_no_copy(world: World) -> None:
    order = world.order(world.sam)
    # a line that breaks its field rule now (as if the limit had been lowered since)
    table = world.portal.tables["sales_order_line"]
    with world.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.order == order).values(quantity=5000))
    with pytest.raises(ValidationFailed):
        copying.copy_record(world.store, world.ben, "sales_order", order)
    assert world.count("sales_order") == 1 and world.count("sales_order_line") == 2


# -- recipients by ref path --------------------------------------------------------------------
def resolve(world: World, to: list[str], entity: str, record_id: int, actor: Actor) -> list[str]:
    record = world.raw(entity, record_id)
    with world.engine.connect() as conn:
        users = notify.recipients(
            world.store, conn, to=to, entity=world.store.entity(entity), record=record,
            actor=actor,
        )  # fmt: skip
    return [u.email for u in users]


def test_recipients_follow_ref_paths_to_users_and_accounts(world: World) -> None:
    invoice = world.invoice(order=world.order(world.sam))
    system = Actor.system()
    assert resolve(world, ["account.sales_rep"], "invoice", invoice, system) == []  # no rep yet
    world.set_sales_rep(world.acme, world.sam)
    assert resolve(world, ["account.sales_rep"], "invoice", invoice, system) == ["sam@support.test"]
    # a ref to account alone, or a path ending at one: the account's active users
    acme = ["anna@acme.test", "ben@acme.test", "lena@acme.test"]
    assert resolve(world, ["account"], "invoice", invoice, system) == acme
    assert resolve(world, ["order.account.sales_rep", "order.account"], "invoice", invoice,
                   system) == ["sam@support.test", *acme]  # fmt: skip
    # a path through an empty ref reaches nobody
    no_order = world.invoice(number="R-9")
    assert resolve(world, ["order.account.sales_rep", "order.account"], "invoice", no_order,
                   system) == []  # fmt: skip
    # the acting user is still only told when `actor` is listed
    assert resolve(world, ["account.sales_rep"], "invoice", invoice, world.sam) == []
    with pytest.raises(notify.NotificationFailed, match="no ref field"):
        resolve(world, ["account.nope"], "invoice", invoice, system)


def test_path_recipients_see_only_what_they_may_read_in_their_locale(world: World) -> None:
    world.set_sales_rep(world.acme, world.nina)  # a rep who may not read Acme's invoices
    invoice = world.invoice()
    world.store.update(world.sam, "invoice", invoice, {"open_amount": "0"})
    by_user = {}
    with world.engine.connect() as conn:
        for actor in (world.nina, world.anna, world.ben):
            assert actor.id is not None
            (item,) = notify.list_for(conn, portal=world.portal.slug, user_id=actor.id, limit=5)
            by_user[actor.email] = item
    nina = by_user["nina@globex.test"]
    assert "R-7" not in nina.subject + nina.body and "79" not in nina.body
    anna = by_user["anna@acme.test"]
    assert anna.subject == "Bezahlt: R-7 (79,00 €)"  # subjects are one line of plain spaces
    assert anna.body == "Rechnung R-7 über 79,00\xa0€, fällig am 31.10.2026, ist paid."
    ben = by_user["ben@acme.test"]
    assert ben.subject == "Paid: R-7 (€79.00)"
    assert ben.body == "Invoice R-7 over €79.00, due Oct 31, 2026, is paid."
    mails = {m["to"]: m for m in world.mails()}
    assert set(mails) == {"nina@globex.test", "anna@acme.test", "ben@acme.test", "lena@acme.test"}
    assert mails["anna@acme.test"]["locale"] == "de"
