"""Refunds (with the core's idempotency key) and the list of payments for reconciliation,
against the loopback Stripe."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from stripe_cases import StripeWorld
from stripe_loopback import Failure

from portalis.api import ProviderError, ProviderPayment, RefundResult

REFUNDS = "/v1/refunds"
SESSIONS = "/v1/checkout/sessions"


def refund_refused(world: StripeWorld, intent: str, amount: str, key: str) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        world.refund(intent, amount, key)
    return raised.value


def test_a_refund_sends_minor_units_and_the_key(world: StripeWorld) -> None:
    intent = world.paid()
    result = world.refund(intent, "4.20", "pay_T3st-refund-1")
    (sent,) = world.api.to("POST", REFUNDS)
    assert sent.params == {"payment_intent": intent, "amount": "420"}
    assert sent.header("Idempotency-Key") == "pay_T3st-refund-1"
    assert result == RefundResult(reference=result.reference, status="succeeded")
    assert world.api.refunds[result.reference]["amount"] == 420


def test_the_same_key_twice_refunds_once(world: StripeWorld) -> None:
    intent = world.paid()
    first = world.refund(intent, "4.20", "refund-key")
    assert world.refund(intent, "4.20", "refund-key") == first
    assert len(world.api.to("POST", REFUNDS)) == 2 and len(world.api.refunds) == 1
    (charge,) = world.api.charges.values()
    assert charge["amount_refunded"] == 420
    other = world.refund(intent, "4.20", "another-key")
    assert other.reference != first.reference and charge["amount_refunded"] == 840


def test_a_key_reused_for_another_amount_is_refused(world: StripeWorld) -> None:
    intent = world.paid()
    world.refund(intent, "1.00", "refund-key")
    error = refund_refused(world, intent, "2.00", "refund-key")
    assert "idempotency_error" in error.message and not error.retryable


def test_r4_a_retry_after_a_rate_limit_refunds_once(world: StripeWorld) -> None:
    intent = world.paid()
    world.api.fail_next(Failure(429, "invalid_request_error", "rate_limit", "Too many requests."))
    assert refund_refused(world, intent, "10.50", "full").retryable
    world.refund(intent, "10.50", "full")
    world.refund(intent, "10.50", "full")
    assert len(world.api.refunds) == 1


def test_a_debit_refund_is_pending(world: StripeWorld) -> None:
    reference = world.checkout(methods=("sepa_debit",)).reference
    world.api.pay(reference, method="sepa_debit", settled=False)
    intent = world.api.settle(reference, succeeded=True)["payment_intent"]
    assert world.refund(intent, "10.50", "debit").status == "pending"


def test_refunds_stripe_refuses(world: StripeWorld) -> None:
    intent = world.paid()
    error = refund_refused(world, intent, "20.00", "too-much")
    assert "invalid_request_error, amount_too_large" in error.message and not error.retryable
    error = refund_refused(world, "pi_unknown", "1.00", "unknown")
    assert "No such payment_intent: 'pi_unknown'" in error.message
    error = refund_refused(world, intent, "1.005", "inexact")
    assert "more precision than EUR" in error.message
    assert world.api.refunds == {}


def test_a_zero_decimal_refund(world: StripeWorld) -> None:
    intent = world.paid(amount=Decimal("1500"), currency="JPY")
    world.refund(intent, "500", "yen", currency="JPY")
    assert world.api.to("POST", REFUNDS)[0].params["amount"] == "500"


# -- list_payments -----------------------------------------------------------------------
def test_payments_are_listed_across_pages(world: StripeWorld) -> None:
    """205 sessions since the cut-off (and ten before it): three pages of up to 100."""
    start = 1_900_000_000
    made: list[str] = []
    for i in range(215):
        world.api.clock = lambda i=i: start - 10 * 60 + i * 60  # type: ignore[misc]
        made.append(world.checkout(payment_id=f"pay_{i:04d}").reference)
        if i % 2 == 0:
            world.api.pay(made[-1])
    since = datetime.fromtimestamp(start, UTC)

    listed = world.payments(since)

    pages = world.api.to("GET", SESSIONS)
    assert len(pages) == 3
    assert pages[0].params == {
        "created": {"gte": str(start)},
        "limit": "100",
        "expand": ["data.payment_intent", "data.payment_intent.latest_charge"],
    }
    newest_first = list(reversed(made[10:]))  # sessions 10… were made at or after `start`
    assert pages[1].params["starting_after"] == newest_first[99]
    assert pages[2].params["starting_after"] == newest_first[199]
    paid = [r for r in newest_first if world.api.sessions[r]["status"] == "complete"]
    assert [p.reference for p in listed] == paid  # the open ones are left out
    assert len(listed) == 103
    assert listed[-1] == ProviderPayment(
        reference=made[10],
        payment_id="pay_0010",
        amount=Decimal("10.50"),
        currency="EUR",
        status="succeeded",
        created_at=since,
        refunded=Decimal("0.00"),
    )


def test_listed_statuses(world: StripeWorld) -> None:
    refunded, partly = world.paid(payment_id="pay_R"), world.paid(payment_id="pay_P")
    world.refund(refunded, "10.50", "all")
    world.refund(partly, "4.00", "part")
    expired, debit, failed = (
        world.checkout(payment_id=p).reference for p in ("pay_E", "pay_D", "pay_F")
    )
    world.api.expire(expired)
    world.api.pay(debit, method="sepa_debit", settled=False)
    world.api.pay(failed, method="sepa_debit", settled=False)
    world.api.settle(failed, succeeded=False)

    assert {p.payment_id: (p.status, p.refunded) for p in world.payments()} == {
        "pay_R": ("refunded", Decimal("10.50")),
        "pay_P": ("succeeded", Decimal("4.00")),
        "pay_E": ("canceled", Decimal("0.00")),
        "pay_D": ("pending", Decimal("0.00")),
        "pay_F": ("failed", Decimal("0.00")),
    }


def test_r4_a_failing_page_is_a_provider_error(world: StripeWorld) -> None:
    world.api.fail_next(Failure(503, "api_error", None, "Stripe is unavailable."))
    with pytest.raises(ProviderError) as raised:
        world.payments(datetime.now(UTC))
    assert raised.value.retryable and "listing the checkout sessions" in raised.value.message
    with pytest.raises(ProviderError) as raised:
        world.with_config(secret_key="sk_test_nope").payments()
    assert not raised.value.retryable
