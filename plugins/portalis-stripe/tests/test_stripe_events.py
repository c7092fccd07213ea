"""Webhook events: verified by the Stripe library (signature, then timestamp) before anything
is read, then mapped per type. The events carry Stripe's objects as the loopback Stripe holds
them after a checkout the provider created, signed as Stripe signs them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from stripe_cases import StripeWorld
from stripe_loopback import Json, sign

from portalis.api import EventRejected, PaymentEvent

#: 2030-03-17 17:46:40 UTC, when the mapped events say they happened.
CREATED = 1_900_000_000


@pytest.fixture
def session(world: StripeWorld) -> str:
    """A checkout of 10.50 EUR for `pay_T3st`, made through the provider."""
    return world.checkout().reference


@pytest.fixture
def completed(world: StripeWorld, session: str) -> bytes:
    """The body of `checkout.session.completed` for the paid `session`."""
    return world.api.event("checkout.session.completed", world.api.pay(session))


def rejected(world: StripeWorld, body: bytes, **kwargs: object) -> str:
    """The reason `body` (signed as Stripe signs, unless `signature` is given) is refused."""
    with pytest.raises(EventRejected) as raised:
        world.parse(body, **kwargs)  # type: ignore[arg-type]
    return raised.value.reason


def mapped(world: StripeWorld, kind: str, obj: Json, **kwargs: Json) -> PaymentEvent:
    """The event of type `kind` about `obj`, parsed."""
    event = world.parse(world.api.event(kind, obj, created=CREATED, **kwargs))
    assert event is not None
    return event


# -- verification ------------------------------------------------------------------------
def test_a_signed_event_is_accepted(world: StripeWorld, completed: bytes) -> None:
    event = world.parse(completed)
    assert event is not None and event.event_id == json.loads(completed)["id"]


def test_lower_case_header_names_are_found(world: StripeWorld, completed: bytes) -> None:
    headers = {"stripe-signature": sign(completed)}
    assert world.provider.parse_event(world.config, completed, headers, datetime.now(UTC))


def test_r3_a_tampered_body_is_rejected(world: StripeWorld, completed: bytes) -> None:
    tampered = completed.replace(b'"amount_total": 1050', b'"amount_total": 5')
    assert tampered != completed
    reason = rejected(world, tampered, signature=sign(completed))
    assert reason.startswith("signature: No signatures found matching the expected signature")


def test_r3_a_wrong_secret_is_rejected(world: StripeWorld, completed: bytes) -> None:
    forged = sign(completed, secret="whsec_someone_else")
    assert rejected(world, completed, signature=forged).startswith("signature: No signatures")


def test_r3_a_stale_event_is_rejected_by_the_library(world: StripeWorld, completed: bytes) -> None:
    """Signed correctly but 301 s old (tolerance 300): a replay."""
    stale = sign(completed, timestamp=int(time.time()) - 301)
    assert "Timestamp outside the tolerance zone" in rejected(world, completed, signature=stale)


def test_r3_the_timestamp_is_also_checked_against_the_given_now(
    world: StripeWorld, completed: bytes
) -> None:
    """The library only measures age against the wall clock; `now` is the contract's."""
    signed = int(time.time())
    future = sign(completed, timestamp=signed + 600)  # the library lets future timestamps pass
    assert "outside the tolerance" in rejected(world, completed, signature=future)
    later = datetime.fromtimestamp(signed, UTC) + timedelta(seconds=400)
    header = sign(completed, timestamp=signed)
    assert "outside the tolerance" in rejected(world, completed, signature=header, now=later)


def test_r3_the_configured_tolerance_counts(world: StripeWorld, completed: bytes) -> None:
    two_minutes_old = sign(completed, timestamp=int(time.time()) - 120)
    assert world.parse(completed, signature=two_minutes_old) is not None
    strict = world.with_config(tolerance_seconds=60)
    assert "Timestamp outside" in rejected(strict, completed, signature=two_minutes_old)


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "No Stripe-Signature header"),
        ({"Stripe-Signature": ""}, "No Stripe-Signature header"),
        ({"Stripe-Signature": "garbage"}, "Unable to extract timestamp"),
        ({"Stripe-Signature": "t=1700000000,v0=abc"}, "No signatures found with expected scheme"),
    ],
)
def test_r3_a_missing_or_malformed_header_is_rejected(
    world: StripeWorld, completed: bytes, headers: dict[str, str], why: str
) -> None:
    with pytest.raises(EventRejected) as raised:
        world.provider.parse_event(world.config, completed, headers, datetime.now(UTC))
    assert why in raised.value.reason


def test_r3_a_signed_body_that_is_not_an_event_is_rejected(world: StripeWorld) -> None:
    for body in (b"not json at all", b"\xff\xfe", b'{"object": "event"}'):
        assert rejected(world, body) == "the body is not a Stripe event"


def test_verifying_sends_no_request(world: StripeWorld, completed: bytes) -> None:
    before = len(world.api.requests)
    world.parse(completed)
    assert len(world.api.requests) == before


# -- mapping -----------------------------------------------------------------------------
def test_a_paid_checkout_succeeds(world: StripeWorld, session: str) -> None:
    paid = world.api.pay(session)
    event = mapped(world, "checkout.session.completed", paid)
    assert event == PaymentEvent(
        event_id=event.event_id,
        kind="succeeded",
        payment_id="pay_T3st",
        reference=session,
        amount=Decimal("10.50"),
        currency="EUR",
        occurred_at=datetime(2030, 3, 17, 17, 46, 40, tzinfo=UTC),
        method=None,  # the session offered the account's methods: which one paid is not said
        transaction=paid["payment_intent"],
    )
    assert paid["payment_intent"].startswith("pi_test_")


def test_a_debit_on_its_way_is_pending_then_succeeds_or_fails(world: StripeWorld) -> None:
    ok = world.checkout(methods=("sepa_debit",)).reference
    bad = world.checkout(methods=("sepa_debit",), payment_id="pay_B4d").reference
    for reference in (ok, bad):
        completed = world.api.pay(reference, method="sepa_debit", settled=False)
        event = mapped(world, "checkout.session.completed", completed)
        assert (event.kind, event.method, event.amount) == (
            "pending",
            "sepa_debit",
            Decimal("10.50"),
        )
    api = world.api
    succeeded = mapped(
        world, "checkout.session.async_payment_succeeded", api.settle(ok, succeeded=True)
    )
    failed = mapped(
        world, "checkout.session.async_payment_failed", api.settle(bad, succeeded=False)
    )
    assert (succeeded.kind, succeeded.payment_id, succeeded.reference) == (
        "succeeded",
        "pay_T3st",
        ok,
    )
    assert (failed.kind, failed.payment_id, failed.reference) == ("failed", "pay_B4d", bad)
    assert failed.reason == "the payment method's asynchronous payment failed"
    assert failed.transaction == api.sessions[bad]["payment_intent"]


def test_an_expired_checkout_is_canceled(world: StripeWorld, session: str) -> None:
    event = mapped(world, "checkout.session.expired", world.api.expire(session))
    assert (event.kind, event.payment_id, event.reference) == ("canceled", "pay_T3st", session)
    assert event.transaction is None and event.reason == "the checkout expired"


def test_a_yen_checkout_reads_back_in_yen(world: StripeWorld) -> None:
    reference = world.checkout(amount=Decimal("1500"), currency="JPY").reference
    event = mapped(world, "checkout.session.completed", world.api.pay(reference))
    assert (event.amount, event.currency) == (Decimal("1500"), "JPY")


def test_the_payment_id_falls_back_to_the_client_reference(
    world: StripeWorld, session: str
) -> None:
    paid = world.api.pay(session)
    paid["metadata"] = {}
    assert mapped(world, "checkout.session.completed", paid).payment_id == "pay_T3st"


def test_a_refund_names_the_newest_refund(world: StripeWorld) -> None:
    intent = world.paid(method="card")
    world.refund(intent, "3.00", "refund-1")
    second = world.refund(intent, "2.50", "refund-2")
    (charge,) = world.api.charges.values()
    event = mapped(world, "charge.refunded", charge)
    assert event.kind == "refunded"
    assert (event.amount, event.currency) == (Decimal("2.50"), "EUR")
    assert event.refund_reference == second.reference
    assert (event.transaction, event.payment_id, event.method) == (intent, "pay_T3st", "card")
    assert event.reference is None


def test_a_refund_without_the_refund_list_reads_previous_attributes(world: StripeWorld) -> None:
    """Charges in events of current API versions do not list their refunds: the event's
    `previous_attributes` says what was refunded before."""
    intent = world.paid()
    world.refund(intent, "3.00", "refund-1")
    world.refund(intent, "2.50", "refund-2")
    (charge,) = world.api.charges.values()
    charge = {k: v for k, v in charge.items() if k != "refunds"}
    event = mapped(world, "charge.refunded", charge, previous={"amount_refunded": 300})
    assert event.amount == Decimal("2.50") and event.refund_reference is None
    without = world.api.event("charge.refunded", charge)
    assert "neither its refunds nor" in rejected(world, without)


@pytest.mark.parametrize(
    "kind", ["payment_intent.succeeded", "charge.succeeded", "customer.created"]
)
def test_other_types_are_verified_and_ignored(world: StripeWorld, session: str, kind: str) -> None:
    assert world.parse(world.api.event(kind, world.api.pay(session))) is None
    with pytest.raises(EventRejected):  # but still verified first
        world.parse(world.api.event(kind, {}), signature=sign(b"other body"))


def test_a_completed_checkout_without_payment_is_ignored(world: StripeWorld, session: str) -> None:
    paid = world.api.pay(session)
    paid["payment_status"] = "no_payment_required"
    assert world.parse(world.api.event("checkout.session.completed", paid)) is None


def test_an_event_without_its_object_is_rejected(world: StripeWorld) -> None:
    broken = json.loads(world.api.event("checkout.session.completed", {}))
    broken["data"] = {}
    assert "without its object" in rejected(world, json.dumps(broken).encode())
    body = world.api.event("checkout.session.completed", {"id": "cs_1", "payment_status": "paid"})
    assert rejected(world, body) == "checkout.session.completed: currency is missing"
