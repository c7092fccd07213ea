"""Payment events exactly once (SQLite and PostgreSQL): replays, concurrent replays, events
out of order, wrong amounts and currencies, events for payments that are not this portal's —
and through all of it, a record paid at most once with its `paid` transition taken once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from pay_world import World, later, pay_world

from portalis.engine.data import audit
from portalis.engine.data.system_tables import audit as audit_table
from portalis.engine.data.system_tables import payment_events, payments
from portalis.engine.payments.payments import payment
from portalis.testing.concurrency import race

ROUNDS = 3


@pytest.fixture
def world(db_engine: sa.Engine, tmp_path: Path) -> World:
    return pay_world(db_engine, tmp_path / "payshop")


def started(world: World, total: str = "100.00", amount: str | None = None) -> tuple[int, str]:
    invoice = world.invoice(total)
    return invoice, world.start("ann", invoice, amount).payment.id


def assert_paid_once(world: World, invoice: int, paid: str = "100.00") -> None:
    """The record is paid, by `paid`, and its `paid` transition was taken exactly once."""
    seen = world.seen(invoice)
    assert (seen["status"], seen["paid_online"].amount, seen["open_amount"].amount) == (
        "paid", Decimal(paid), Decimal(seen["total"].amount) - Decimal(paid),
    )  # fmt: skip
    actions = world.actions(invoice)
    assert actions.count("transition") == 1
    assert actions.count("payment_succeeded") == 1


def test_a_succeeded_event_pays_the_record(world: World) -> None:
    invoice, pid = started(world)
    outcome = world.pay(pid, "100.00", method="card", transaction="pi_1")
    assert (outcome.result, outcome.status, outcome.transition) == (
        "applied",
        "succeeded",
        "settle",
    )
    paid = payment(world.store, world.ann, pid)
    assert (paid.status, paid.transaction, paid.method, paid.event_at is not None) == (
        "succeeded", "pi_1", "card", True,
    )  # fmt: skip
    assert_paid_once(world, invoice)
    # paid_online is written as the system: an update, then the transition, then the entry
    assert world.actions(invoice) == [
        "create", "payment_start", "update", "transition", "payment_succeeded",
    ]  # fmt: skip
    with world.engine.connect() as conn:
        entry = audit.history(conn, portal="payshop", entity="invoice", record_id=invoice)[0]
    assert entry.detail["payment"] == pid and entry.detail["transition"] == "settle"
    assert entry.detail["paid_online"] == "100.00 EUR" and entry.actor_id is None


def test_the_same_event_twice_changes_nothing(world: World) -> None:
    invoice, pid = started(world)
    event = world.event("succeeded", pid, "100.00", transaction="pi_1")
    assert world.post(event).result == "applied"
    before = (world.seen(invoice)["version"], world.count(audit_table))
    again = world.post(event)
    assert again.result == "duplicate"
    assert (world.seen(invoice)["version"], world.count(audit_table)) == before
    assert world.count(payment_events) == 1
    assert_paid_once(world, invoice)


def test_the_same_event_twice_at_once_is_applied_once(world: World) -> None:
    for _ in range(ROUNDS):
        invoice, pid = started(world)
        event = world.event("succeeded", pid, "100.00", transaction="pi_race")
        results = race(lambda e=event: world.post(e), lambda e=event: world.post(e))
        assert not any(isinstance(r, Exception) for r in results), results
        assert sorted(r.result for r in results) == ["applied", "duplicate"]
        assert_paid_once(world, invoice)


def test_two_success_events_of_one_payment_at_once_pay_once(world: World) -> None:
    for _ in range(ROUNDS):
        invoice, pid = started(world)
        first = world.event("succeeded", pid, "100.00", transaction="pi_a")
        second = world.event("succeeded", pid, "100.00", transaction="pi_a")
        results = race(lambda e=first: world.post(e), lambda e=second: world.post(e))
        assert sorted(r.result for r in results) == ["applied", "ignored"], results
        assert_paid_once(world, invoice)


def test_two_payments_of_one_record_at_once_both_count(world: World) -> None:
    invoice = world.invoice("100.00")
    one = world.start("ann", invoice, "40").payment.id
    two = world.start("ann", invoice, "60").payment.id
    results = race(lambda: world.pay(one, "40.00"), lambda: world.pay(two, "60.00"))
    assert [r.result for r in results] == ["applied", "applied"], results
    # the second to settle summed what the first committed, found nothing open and settled
    assert sorted(str(r.transition) for r in results) == ["None", "settle"]
    seen = world.seen(invoice)
    assert (seen["status"], seen["paid_online"].amount) == ("paid", Decimal("100.00"))
    assert world.actions(invoice).count("transition") == 1


def test_succeeded_after_failed_is_applied(world: World) -> None:
    invoice, pid = started(world)
    failed = world.post(world.event("failed", pid, "100.00", reason="card_declined"))
    assert (failed.result, failed.status) == ("applied", "failed")
    assert payment(world.store, world.ann, pid).reason == "card_declined"
    assert world.seen(invoice)["status"] == "open"
    assert world.pay(pid, "100.00", at=later(5)).result == "applied"
    assert_paid_once(world, invoice)


def test_failed_pending_or_canceled_after_succeeded_are_ignored(world: World) -> None:
    invoice, pid = started(world)
    world.pay(pid, "100.00")
    for kind in ("failed", "pending", "canceled"):
        outcome = world.post(world.event(kind, pid, "100.00", at=later(60)))
        assert (outcome.result, outcome.status) == ("ignored", "succeeded"), kind
    assert_paid_once(world, invoice)


def test_an_older_event_does_not_undo_a_newer_one(world: World) -> None:
    invoice, pid = started(world)
    world.post(world.event("failed", pid, "100.00", at=later(10)))
    stale = world.post(world.event("pending", pid, "100.00", at=later(-10)))
    assert (stale.result, stale.status) == ("ignored", "failed")


def test_a_wrong_amount_flags_the_payment_and_pays_nothing(world: World) -> None:
    invoice, pid = started(world)
    outcome = world.pay(pid, "90.00")
    assert (outcome.result, outcome.status) == ("flagged", "flagged")
    flagged = payment(world.store, world.cleo, pid)
    assert flagged.flag is not None and "90.00 EUR" in flagged.flag
    seen = world.seen(invoice)
    assert (seen["status"], seen["paid_online"].amount) == ("open", 0)
    assert world.actions(invoice)[-1] == "payment_flagged"
    # a flagged payment waits for staff: not even the right amount counts now
    assert world.pay(pid, "100.00").result == "ignored"
    assert world.seen(invoice)["paid_online"].amount == 0


def test_a_wrong_currency_flags_the_payment(world: World) -> None:
    invoice, pid = started(world)
    assert world.pay(pid, "100.00", currency="USD").result == "flagged"
    assert "USD" in (payment(world.store, world.cleo, pid).flag or "")
    assert world.seen(invoice)["status"] == "open"


def test_an_amount_with_more_decimals_than_the_currency_is_not_rounded_into_it(
    world: World,
) -> None:
    invoice, pid = started(world)
    assert world.pay(pid, "100.004").result == "flagged"
    assert world.seen(invoice)["paid_online"].amount == 0


def test_events_of_payments_that_are_not_this_portals_are_unknown(world: World) -> None:
    invoice, pid = started(world)
    world.elsewhere(invoice, "100")
    assert world.pay("pay_elsewhere", "100.00").result == "unknown"
    assert world.pay("pay_nothing", "100.00").result == "unknown"
    # a payment of this portal, posted to the other provider entry's events
    assert world.post(world.event("succeeded", pid, "100.00"), provider="backup").result == (
        "unknown"
    )
    with world.engine.connect() as conn:
        status = conn.execute(
            sa.select(payments.c.status).where(payments.c.id == "pay_elsewhere")
        ).scalar_one()
        outcomes = conn.execute(sa.select(payment_events.c.outcome, payment_events.c.payment_id))
        assert status == "open"
        assert sorted(tuple(row) for row in outcomes) == [("unknown", None)] * 3
    assert world.seen(invoice)["status"] == "open"
    assert world.actions(invoice) == ["create", "payment_start"]


def test_an_event_may_name_the_checkout_instead_of_the_payment(world: World) -> None:
    invoice, pid = started(world)
    reference = payment(world.store, world.ann, pid).reference
    event = world.event("succeeded", None, "100.00", reference=reference, transaction="pi_9")
    assert world.post(event).result == "applied"
    assert_paid_once(world, invoice)
    other = world.event("succeeded", pid, "100.00", reference="cs_another")
    assert world.post(other).result == "unknown"


def test_a_part_paid_leaves_the_record_open(world: World) -> None:
    invoice, pid = started(world, amount="40")
    outcome = world.pay(pid, "40.00")
    assert (outcome.result, outcome.transition) == ("applied", None)
    seen = world.seen(invoice)
    assert (seen["status"], seen["open_amount"].amount) == ("open", Decimal("60.00"))


def test_a_record_that_refuses_the_payment_flags_it(world: World) -> None:
    # two checkouts of the whole amount, both paid: the invoice's rule refuses the second
    invoice = world.invoice("100.00")
    one = world.start("ann", invoice).payment.id
    two = world.start("ann", invoice).payment.id
    assert world.pay(one, "100.00").result == "applied"
    refused = world.pay(two, "100.00")
    assert (refused.result, refused.status) == ("flagged", "flagged")
    assert "refused" in (payment(world.store, world.cleo, two).flag or "")
    assert_paid_once(world, invoice)
