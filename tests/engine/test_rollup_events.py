"""A rollup that changes a parent is an update of the parent, on SQLite and PostgreSQL: `on:
update` automations of the parent run (an invoice settles when its payments reach the total),
the audit log names the rollup, nothing fires when the rollup value stays, a chain fires once
per parent, automations feeding their own rollup stop at the depth limit, deploys and seeds fire
nothing, and a parent nobody listens to costs no statement more. The portal is
tests/engine/portals/settling."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data import audit
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.fieldtypes import Money
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow.automations import AutomationFailed
from portalis.engine.outbox.jobs import jobs as jobs_table
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, deploy_dir
from portalis.testing.web import database_use

FOLDER = Path(__file__).parent / "portals" / "settling"
SLUG = "settling"

#: Replaces the portal's automations: an `on: create` automation and a disabled `on: update`
#: one listen to no update of invoice or customer.
NO_LISTENERS = """\
automations:
  greet:
    entity: invoice
    on: create
    actions:
      - create: {entity: log, values: {about: created, number: {expr: "record['id']"}}}
  dormant:
    entity: invoice
    on: update
    enabled: false
    actions:
      - transition: settle
"""

#: Added to the portal's automations: every update of an issued invoice pays one more euro,
#: which updates the invoice again (through its rollup) — until the depth limit refuses it.
TOP_UP = """\
  top_up:
    entity: invoice
    on: update
    when: "record['status'] == 'issued'"
    actions:
      - create: {entity: payment, values: {invoice: {expr: "record['id']"}, amount: "1.00"}}
"""


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


@dataclass
class Settling:
    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore
    clara: Actor

    def invoice(self, total: str = "100.00", **values: Any) -> int:
        fields = {"number": "I-1", "total": total, **values}
        return self.store.insert(self.clara, "invoice", fields).id

    def pay(self, invoice: int, amount: str, **values: Any) -> int:
        fields = {"invoice": invoice, "amount": amount, **values}
        return self.store.insert(self.clara, "payment", fields).id

    def get(self, entity: str, record_id: int) -> dict[str, Any]:
        return dict(self.store.get(self.clara, entity, record_id).values)

    def rows(self, table: sa.Table, **where: Any) -> list[dict[str, Any]]:
        """The rows of `table` whose columns equal `where`, by id."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(table).filter_by(**where).order_by(table.c.id))
            return [dict(row) for row in found.mappings()]

    def logs(self, about: str) -> list[Decimal]:
        """The amounts the `log_*` automations logged about `about` (one per run)."""
        return [row["open"] for row in self.rows(self.portal.tables["log"], about=about)]

    def history(self, entity: str, record_id: int) -> list[audit.AuditEntry]:
        with self.engine.connect() as conn:
            return audit.history(conn, portal=SLUG, entity=entity, record_id=record_id)

    def count(self, entity: str) -> int:
        return len(self.rows(self.portal.tables[entity]))


def settling(
    engine: sa.Engine, checker: Checker, tmp_path: Path, *, automations: str | None = None,
    more: str = "",
) -> Settling:  # fmt: skip
    """Deploy (with seed) the settling portal, its automations replaced or extended."""
    folder = tmp_path / "settling"
    shutil.copytree(FOLDER, folder)
    text = (folder / "portal.yaml").read_text(encoding="utf-8")
    head, rest = text.split("automations:\n", 1)
    own, tail = rest.split("pages:\n", 1)
    section = automations if automations is not None else "automations:\n" + own + more
    (folder / "portal.yaml").write_text(f"{head}{section}pages:\n{tail}", encoding="utf-8")
    portal = deploy_dir(engine, checker, folder)
    store = portal.store(engine)
    return Settling(engine, portal, store, actor_for(engine, portal, "clara@settling.test"))


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> Settling:
    return settling(db_engine, portalis_checker, tmp_path)


def test_invoice_settles_when_its_payments_reach_the_total(world: Settling) -> None:
    invoice = world.invoice("100.00")
    world.pay(invoice, "60.00")
    got = world.get("invoice", invoice)
    assert (got["paid"], got["open_amount"], got["status"]) == (eur("60"), eur("40"), "issued")
    world.pay(invoice, "-20.00")  # a refund: further from settled, still issued
    got = world.get("invoice", invoice)
    assert (got["paid"], got["open_amount"], got["status"]) == (eur("40"), eur("60"), "issued")
    world.pay(invoice, "60.00")
    got = world.get("invoice", invoice)
    assert (got["paid"], got["open_amount"], got["status"]) == (eur("100"), eur("0"), "paid")
    # log_invoice saw each of the three changes of `paid`, with the new open amount
    assert world.logs("invoice") == [40, 60, 0]


def test_audit_entry_names_the_rollup_and_the_user(world: Settling) -> None:
    invoice = world.invoice("50.00")
    payment = world.pay(invoice, "50.00")
    settled, refreshed, created = world.history("invoice", invoice)
    assert created.action == "create"
    assert refreshed.action == "update" and refreshed.detail == {"via": "rollup of payment"}
    assert refreshed.changes == {
        "paid": [
            {"paid": "0.00", "paid_currency": "EUR"},
            {"paid": "50.00", "paid_currency": "EUR"},
        ],
        "open_amount": [
            {"open_amount": "50.00", "open_amount_currency": "EUR"},
            {"open_amount": "0.00", "open_amount_currency": "EUR"},
        ],
    }
    assert (refreshed.actor_id, refreshed.actor_email) == (world.clara.id, "clara@settling.test")
    assert settled.action == "transition" and settled.detail["transition"] == "settle"
    assert settled.detail["via"] == "automation settle_when_paid"
    assert settled.actor_id == world.clara.id
    # the payment's own entry comes first: the log reads in the order things happened
    (paid,) = world.history("payment", payment)
    assert paid.id < refreshed.id < settled.id


def test_nothing_fires_when_the_rollup_value_stays(world: Settling) -> None:
    invoice = world.invoice("100.00")
    payment = world.pay(invoice, "0.00")
    world.store.update(world.clara, "payment", payment, {"memo": "cash"})
    world.store.update(world.clara, "payment", payment, {"amount": "0"})
    assert world.logs("invoice") == []
    assert [e.action for e in world.history("invoice", invoice)] == ["create"]
    world.store.update(world.clara, "payment", payment, {"amount": "30.00"})
    assert world.logs("invoice") == [70]
    assert world.get("invoice", invoice)["status"] == "issued"


def test_a_chain_fires_once_per_parent_per_write(world: Settling) -> None:
    acme = world.store.insert(world.clara, "customer", {"name": "Acme"}).id
    first = world.invoice("100.00", customer=acme)
    second = world.invoice("30.00", number="I-2", customer=acme)
    assert world.get("customer", acme)["owed"] == eur("130")
    assert world.logs("customer") == [100, 130]  # a new invoice adds to what is owed
    world.pay(first, "25.00")  # payment → invoice.paid → invoice.open_amount → customer.owed
    assert len(world.logs("invoice")) == 1
    assert world.logs("customer") == [100, 130, 105]
    *_, job = hooks = world.rows(jobs_table, kind="webhook")
    assert len(hooks) == 3  # one per update of the customer
    assert job["payload"]["event"] == "customer.owed"
    assert job["payload"]["body"]["record"]["owed"] == "105.00 EUR"
    # a payment moved between two invoices of the customer changes both, but not what is owed
    moved = world.pay(second, "5.00")
    world.store.update(world.clara, "payment", moved, {"invoice": first})
    assert len(world.logs("invoice")) == 3 + 1  # the new payment, then the move: both invoices
    assert len(world.logs("customer")) == 4  # the new payment only
    assert world.get("customer", acme)["owed"] == eur("100")


def test_a_parent_reached_twice_in_one_write_gets_one_event(world: Settling) -> None:
    acme = world.store.insert(world.clara, "customer", {"name": "Acme"}).id
    invoice = world.invoice("80.00", customer=acme)
    # payment → customer.received (level 1) and payment → invoice → customer.owed (level 2)
    world.pay(invoice, "30.00", customer=acme)
    assert world.logs("customer") == [80, 50]
    newest = world.history("customer", acme)[0]
    assert newest.detail == {"via": "rollup of invoice, payment"}
    assert set(newest.changes) == {"owed", "received"}
    got = world.get("customer", acme)
    assert (got["owed"], got["received"]) == (eur("50"), eur("30"))


def test_an_automation_feeding_its_own_rollup_stops_at_the_depth_limit(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    world = settling(db_engine, portalis_checker, tmp_path, more=TOP_UP)
    invoice = world.invoice("100.00")
    with pytest.raises(AutomationFailed) as refused:
        world.pay(invoice, "10.00")
    # the automation whose write went one level too deep fails, and with it the payment
    assert refused.value.automation in ("top_up", "log_invoice")
    assert "more than 3 levels deep" in refused.value.error
    assert world.count("payment") == 2  # the seeded ones: nothing of the write persists
    got = world.get("invoice", invoice)
    assert (got["paid"], got["status"]) == (eur("0"), "issued")
    assert world.logs("invoice") == []


def test_deploy_with_seed_repairs_rollups_without_firing_automations(world: Settling) -> None:
    (seeded,) = world.rows(world.portal.tables["invoice"], number="S-1")
    got = world.get("invoice", seeded["id"])
    assert (got["paid"], got["open_amount"]) == (eur("100"), eur("0"))
    assert got["status"] == "issued"  # settle_when_paid would have settled it
    assert world.rows(world.portal.tables["log"]) == []
    assert world.rows(jobs_table, kind="webhook") == []
    assert [e.action for e in world.history("invoice", seeded["id"])] == []


def test_deploying_again_fires_nothing_either(
    world: Settling, db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    again = settling(db_engine, portalis_checker, tmp_path / "again")
    (seeded,) = again.rows(again.portal.tables["invoice"], number="S-1")
    assert again.get("invoice", seeded["id"])["status"] == "issued"
    assert again.rows(again.portal.tables["log"]) == []


def statements_of_payment(world: Settling, invoice: int, amount: str) -> list[str]:
    with database_use(world.engine) as use:
        world.pay(invoice, amount)
    return use.statements


def test_a_parent_nobody_listens_to_costs_no_statement_more(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    quiet = settling(db_engine, portalis_checker, tmp_path / "quiet", automations=NO_LISTENERS)
    invoice = quiet.invoice("100.00")
    unchanged = statements_of_payment(quiet, invoice, "0.00")
    changed = statements_of_payment(quiet, invoice, "10.00")
    # the rollup moved: its UPDATE of the invoice is the only statement more
    assert len(changed) == len(unchanged) + 1
    assert len([s for s in changed if "portalis_audit" in s]) == 1  # the payment's own entry
    assert quiet.get("invoice", invoice)["paid"] == eur("10")
    # the same writes where an automation listens: an event, an audit entry, the automation
    loud = settling(db_engine, portalis_checker, tmp_path / "loud")
    other = loud.invoice("100.00")
    unchanged = statements_of_payment(loud, other, "0.00")
    changed = statements_of_payment(loud, other, "10.00")
    assert len([s for s in changed if "portalis_audit" in s]) > 1
    assert len(changed) > len(unchanged) + 1
