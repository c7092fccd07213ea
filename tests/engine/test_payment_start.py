"""Starting a payment (SQLite and PostgreSQL): who may, how much, and what a provider's
refusal leaves behind; reading payments with the rights on their record."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from pay_world import World, pay_world

from portalis.engine.data.errors import Forbidden, NotFound, RuleConflict, ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import payments
from portalis.engine.flow.rights import record_rights
from portalis.engine.payments.errors import NothingToPay, PaymentUnavailable, ProviderFailed
from portalis.engine.payments.payments import payment, payments_of


@pytest.fixture
def world(db_engine: sa.Engine, tmp_path: Path) -> World:
    return pay_world(db_engine, tmp_path / "payshop")


def amount_error(exc: pytest.ExceptionInfo[ValidationFailed]) -> str:
    return exc.value.errors["amount"][0].code


def test_a_payment_starts_for_the_open_amount_at_a_hosted_checkout(world: World) -> None:
    invoice = world.invoice("120.00", note="slow payer, call first")
    number = world.seen(invoice)["number"]
    started = world.start("ann", invoice)
    paying = started.payment
    assert (paying.status, paying.amount, paying.currency) == ("open", Decimal("120.00"), "EUR")
    assert (paying.provider, paying.provider_type) == ("testpay", "testpay")
    assert (paying.entity, paying.record_id, paying.created_by) == (
        "invoice",
        invoice,
        world.ann.id,
    )
    assert paying.id.startswith("pay_") and paying.reference is not None
    assert started.redirect_url == f"https://pay.example.test/checkout/{paying.reference}"
    asked = world.provider.checkouts[paying.reference]
    assert (asked.payment_id, asked.portal, asked.amount, asked.currency) == (
        paying.id, "payshop", Decimal("120.00"), "EUR",
    )  # fmt: skip
    # "Invoice {number} {note}": the note is hidden from customers, so it stays empty
    assert asked.description == f"Invoice {number}"
    assert asked.return_url == f"https://shop.example.test/payshop/_payments/{paying.id}"
    assert asked.events_url == "https://shop.example.test/payshop/_payments/testpay/events"
    assert (asked.locale, asked.customer_email) == ("en", "ann@acme.test")
    # starting changes nothing on the record: only a provider's event is proof of payment
    seen = world.seen(invoice)
    assert (seen["status"], seen["paid_online"].amount, seen["version"]) == ("open", 0, 1)
    assert world.actions(invoice) == ["create", "payment_start"]


def test_starting_needs_pay_on_a_record_the_payer_reads(world: World) -> None:
    invoice = world.invoice()
    with pytest.raises(NotFound):
        world.start("gus", invoice)  # another account's invoice does not exist for him
    with pytest.raises(Forbidden):
        world.start("vic", invoice)  # reads it, may not pay
    with pytest.raises(Forbidden):
        world.start("cleo", invoice)  # staff refunds, never pays
    with pytest.raises(NotFound):
        world.start("ann", invoice + 1000)
    with pytest.raises(NotFound):
        world.start("ann", invoice, entity="account")  # not payable
    assert world.count(payments) == 0


def test_record_rights_report_pay_and_refund(world: World) -> None:
    invoice = world.invoice()
    rights = {
        who: record_rights(world.store, world.people[who], "invoice", invoice).actions
        for who in ("ann", "vic", "gus", "cleo")
    }
    assert rights == {
        "ann": {"read", "pay"},
        "vic": {"read"},
        "gus": frozenset(),
        "cleo": {"read", "refund"},
    }


def test_partial_payments_keep_to_the_minimum_and_the_open_amount(world: World) -> None:
    invoice = world.invoice("100.00")
    for amount, code in [("9.99", "min"), ("0", "min"), ("-5", "min"), ("100.01", "max"),
                         ("10.005", "places")]:  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            world.start("ann", invoice, amount)
        assert amount_error(refused) == code, amount
    part = world.start("ann", invoice, "40").payment
    assert part.amount == Decimal("40.00")
    world.pay(part.id, "40.00")
    assert world.seen(invoice)["open_amount"].amount == Decimal("60.00")
    world.pay(world.start("ann", invoice, "55.00").payment.id, "55.00")
    # less than the minimum is open: all of it may be paid, no part of it
    assert world.start("ann", invoice).payment.amount == Decimal("5.00")
    with pytest.raises(ValidationFailed) as refused:
        world.start("ann", invoice, "3")
    assert amount_error(refused) == "min"


def test_without_partial_only_the_whole_amount(world: World) -> None:
    acme = world.account("Acme")
    order = world.store.insert(Actor.system(), "order", {"account": acme, "total": "80"}).id
    with pytest.raises(ValidationFailed) as refused:
        world.start("ann", order, "50", entity="order")
    assert amount_error(refused) == "whole"
    started = world.start("ann", order, entity="order")
    assert (started.payment.amount, started.payment.provider) == (Decimal("80.00"), "backup")
    with pytest.raises(ValidationFailed) as refused:
        world.start("ann", order, entity="order", provider="testpay")
    assert list(refused.value.errors) == ["provider"]


def test_nothing_open_is_a_conflict(world: World) -> None:
    invoice = world.invoice("30.00")
    world.pay(world.start("ann", invoice).payment.id, "30.00")
    with pytest.raises(NothingToPay) as refused:
        world.start("ann", invoice)
    assert isinstance(refused.value, RuleConflict)
    with pytest.raises(NothingToPay):
        world.start("ann", world.invoice("0.00"))


def test_a_provider_refusal_leaves_a_failed_payment(world: World) -> None:
    invoice = world.invoice()
    world.provider.refuse = "the card network is down"
    with pytest.raises(ProviderFailed) as refused:
        world.start("ann", invoice)
    assert refused.value.message == "the card network is down"
    (failed,) = payments_of(world.store, world.ann, "invoice", invoice)
    assert (failed.status, failed.reason, failed.reference) == (
        "failed", "the card network is down", None,
    )  # fmt: skip
    assert world.actions(invoice)[-2:] == ["payment_start", "payment_failed"]
    assert world.start("ann", invoice).payment.status == "open"  # the next attempt works


def test_a_provider_no_plugin_serves_is_unavailable(world: World) -> None:
    invoice = world.invoice()
    del world.bound["testpay"]
    with pytest.raises(PaymentUnavailable):
        world.start("ann", invoice)
    assert world.count(payments) == 0


def test_payments_are_read_with_the_rights_on_their_record(world: World) -> None:
    invoice = world.invoice()
    started = world.start("ann", invoice).payment
    for who in ("ann", "vic", "cleo"):
        assert [p.id for p in payments_of(world.store, world.people[who], "invoice", invoice)] == [
            started.id
        ]
        assert payment(world.store, world.people[who], started.id).id == started.id
    # IDOR: another account's customer finds neither the record's payments nor the payment
    with pytest.raises(NotFound):
        payments_of(world.store, world.gus, "invoice", invoice)
    with pytest.raises(NotFound):
        payment(world.store, world.gus, started.id)
    with pytest.raises(NotFound):
        payment(world.store, world.ann, "pay_doesnotexist")


def test_another_portals_payment_does_not_exist_here(world: World) -> None:
    invoice = world.invoice()
    world.elsewhere(invoice, "5")
    with pytest.raises(NotFound):
        payment(world.store, world.cleo, "pay_elsewhere")
    assert payments_of(world.store, world.cleo, "invoice", invoice) == []
