"""Refunds (SQLite and PostgreSQL): full and partial, with `reopened`; who may refund;
the provider's refund events never counting a refund twice; reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from pay_world import World, pay_world

from portalis.engine.data.errors import Forbidden, NotFound, ValidationFailed
from portalis.engine.data.system_tables import payment_refunds
from portalis.engine.payments.errors import ProviderFailed, RefundRefused
from portalis.engine.payments.payments import payment
from portalis.engine.payments.provider import ProviderPayment
from portalis.engine.payments.reconcile import reconcile
from portalis.engine.payments.records import Refund
from portalis.engine.payments.refunds import refund_payment


@pytest.fixture
def world(db_engine: sa.Engine, tmp_path: Path) -> World:
    return pay_world(db_engine, tmp_path / "payshop")


def paid(world: World, total: str = "100.00") -> tuple[int, str]:
    invoice = world.invoice(total)
    pid = world.start("ann", invoice).payment.id
    assert world.pay(pid, total, transaction="pi_" + pid[-6:]).result == "applied"
    return invoice, pid


def refund(world: World, pid: str, amount: str | None = None, who: str = "cleo") -> Refund:
    return refund_payment(
        world.store, world.people[who], pid, None if amount is None else Decimal(amount),
        "the customer asked", context=world.context, providers=world.bound,
    )  # fmt: skip


def state(world: World, invoice: int) -> tuple[str, Decimal, Decimal]:
    seen = world.seen(invoice)
    return seen["status"], seen["paid_online"].amount, seen["open_amount"].amount


def test_a_full_refund_reopens_the_record(world: World) -> None:
    invoice, pid = paid(world)
    done = refund(world, pid)
    assert (done.status, done.amount, done.created_by) == ("succeeded", Decimal(100), world.cleo.id)
    assert done.reference is not None and done.reason == "the customer asked"
    # the refund's id is the provider's idempotency key
    assert world.provider.refunds[done.id] == (done.reference, Decimal("100.00"))
    after = payment(world.store, world.cleo, pid)
    assert (after.status, after.refunded, after.refunds) == ("refunded", Decimal(100), (done,))
    assert state(world, invoice) == ("open", 0, Decimal(100))
    assert world.actions(invoice)[-4:] == ["refund_request", "update", "transition",
                                           "payment_refunded"]  # fmt: skip
    assert world.actions(invoice).count("transition") == 2  # settle, then reopen


def test_partial_refunds_up_to_what_is_left(world: World) -> None:
    invoice, pid = paid(world)
    assert refund(world, pid, "30").amount == Decimal("30.00")
    assert payment(world.store, world.cleo, pid).status == "partially_refunded"
    assert state(world, invoice) == ("open", Decimal(70), Decimal(30))  # reopened
    with pytest.raises(ValidationFailed) as refused:
        refund(world, pid, "70.01")
    assert refused.value.errors["amount"][0].code == "max"
    refund(world, pid, "70")
    after = payment(world.store, world.cleo, pid)
    assert (after.status, after.refunded, len(after.refunds)) == ("refunded", Decimal(100), 2)
    assert state(world, invoice) == ("open", 0, Decimal(100))
    assert world.actions(invoice).count("transition") == 2  # reopened once only
    with pytest.raises(RefundRefused):
        refund(world, pid)


def test_refunding_needs_the_refund_action(world: World) -> None:
    invoice, pid = paid(world)
    with pytest.raises(Forbidden):
        refund(world, pid, who="ann")  # pays, reads, may not refund
    with pytest.raises(Forbidden):
        refund(world, pid, who="vic")
    with pytest.raises(NotFound):
        refund(world, pid, who="gus")  # IDOR: another account's payment does not exist
    with pytest.raises(NotFound):
        refund(world, "pay_doesnotexist")
    assert world.count(payment_refunds) == 0
    assert state(world, invoice) == ("paid", Decimal(100), 0)


def test_only_a_succeeded_payment_is_refunded(world: World) -> None:
    invoice = world.invoice()
    pid = world.start("ann", invoice).payment.id
    with pytest.raises(RefundRefused):
        refund(world, pid)


def test_the_providers_event_of_our_refund_is_ignored(world: World) -> None:
    invoice, pid = paid(world)
    done = refund(world, pid, "40")
    echo = world.event("refunded", pid, "40.00", refund_reference=done.reference)
    assert world.post(echo).result == "ignored"
    after = payment(world.store, world.cleo, pid)
    assert (after.refunded, len(after.refunds)) == (Decimal(40), 1)
    assert state(world, invoice) == ("open", Decimal(60), Decimal(40))


def test_a_pending_refund_is_completed_by_the_providers_event(world: World) -> None:
    invoice, pid = paid(world)
    world.provider.pending_refunds = True
    waiting = refund(world, pid)
    assert waiting.status == "pending"
    assert payment(world.store, world.cleo, pid).refunded == 0
    # a second refund would be more than is left: the pending one counts as outstanding
    with pytest.raises(RefundRefused):
        refund(world, pid, "1")
    event = world.event("refunded", pid, "100.00", refund_reference=waiting.reference)
    assert world.post(event).result == "applied"
    after = payment(world.store, world.cleo, pid)
    assert (after.status, after.refunded) == ("refunded", Decimal(100))
    assert [r.status for r in after.refunds] == ["succeeded"]
    assert state(world, invoice) == ("open", 0, Decimal(100))


def test_a_refund_made_at_the_provider_arrives_as_an_event(world: World) -> None:
    invoice, pid = paid(world)
    event = world.event("refunded", pid, "20.00", refund_reference="re_dashboard")
    assert world.post(event).result == "applied"
    after = payment(world.store, world.cleo, pid)
    assert (after.status, after.refunded) == ("partially_refunded", Decimal(20))
    (made,) = after.refunds
    assert (made.reference, made.created_by, made.status) == ("re_dashboard", None, "succeeded")
    assert state(world, invoice) == ("open", Decimal(80), Decimal(20))
    # the same refund reported again under a new event id
    again = world.event("refunded", pid, "20.00", refund_reference="re_dashboard")
    assert world.post(again).result == "ignored"
    too_much = world.event("refunded", pid, "80.01", refund_reference="re_more")
    assert world.post(too_much).result == "flagged"


def test_a_refused_refund_is_stored_failed_and_counts_nothing(world: World) -> None:
    invoice, pid = paid(world)
    world.provider.refuse = "insufficient balance"
    with pytest.raises(ProviderFailed):
        refund(world, pid)
    (failed,) = payment(world.store, world.cleo, pid).refunds
    assert (failed.status, failed.reason) == ("failed", "insufficient balance")
    assert state(world, invoice) == ("paid", Decimal(100), 0)
    assert world.actions(invoice)[-1] == "refund_failed"
    assert refund(world, pid).status == "succeeded"  # a failed refund is no outstanding one


def test_reconciliation_reports_what_differs(world: World) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    _, agreed = paid(world)
    _, cheaper = paid(world)
    _, unlisted = paid(world)
    unpaid = world.start("ann", world.invoice()).payment.id

    def listed(pid: str, amount: str, status: str = "succeeded") -> ProviderPayment:
        reference = payment(world.store, world.cleo, pid).reference
        assert reference is not None
        return ProviderPayment(reference, pid, Decimal(amount), "EUR", status,  # type: ignore[arg-type]
                               datetime.now(UTC))  # fmt: skip

    world.provider.listed = [
        listed(agreed, "100.00"),
        listed(cheaper, "90.00"),
        listed(unpaid, "100.00"),  # the network says it succeeded; no event told the portal
        ProviderPayment("cs_stranger", None, Decimal(5), "EUR", "succeeded", datetime.now(UTC)),
    ]
    # both entries use this provider (one account): each reconciles its own payments
    found = reconcile(world.engine, world.portal.model, world.bound, since, world.context)
    mine = [d for d in found if d.provider == "testpay"]
    assert [(d.kind, d.reference) for d in found if d.provider == "backup"] == [
        ("missing_here", "cs_stranger")
    ]
    found = mine
    kinds = sorted((d.kind, d.payment_id or d.reference) for d in found)
    assert kinds == sorted([
        ("amount", cheaper), ("status", unpaid), ("missing_there", unlisted),
        ("missing_here", "cs_stranger"),
    ])  # fmt: skip
