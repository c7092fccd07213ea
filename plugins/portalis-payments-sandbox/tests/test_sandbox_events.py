"""Event bodies: every type the sandbox sends is read into the core's `PaymentEvent`; other
types are acknowledged and ignored (None); a signed body that is not a sandbox event is
refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from portalis_payments_sandbox import EventData, event_body, sign
from sandbox_support import CONFIG, PROVIDER, SECRET

from portalis.api import EventRejected, PaymentEvent

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AT = int(NOW.timestamp())


def parse_document(document: dict[str, Any]) -> PaymentEvent | None:
    body = json.dumps(document).encode()
    return PROVIDER.parse_event(CONFIG, body, sign(SECRET, body, AT), NOW)


def document(kind: str, **data: Any) -> dict[str, Any]:
    values = {"payment_id": "pay_1", "checkout": "cs_1", "amount": "12.50", "currency": "EUR"}
    return {"id": f"evt_{kind}", "type": kind, "created": AT - 5, "data": {**values, **data}}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("payment.succeeded", "succeeded"),
        ("payment.pending", "pending"),
        ("payment.failed", "failed"),
        ("payment.refunded", "refunded"),
        ("payment.canceled", "canceled"),
    ],
)
def test_each_type_becomes_its_kind(kind: str, expected: str) -> None:
    extra = {
        "method": "card",
        "transaction": "tr_9",
        "refund": "re_3" if expected == "refunded" else None,
        "reason": "card_declined" if expected == "failed" else None,
    }
    event = parse_document(document(kind, **extra))
    assert event == PaymentEvent(
        event_id=f"evt_{kind}",
        kind=expected,  # type: ignore[arg-type]
        payment_id="pay_1",
        reference="cs_1",
        amount=Decimal("12.50"),
        currency="EUR",
        occurred_at=datetime.fromtimestamp(AT - 5, UTC),
        method="card",
        transaction="tr_9",
        refund_reference=extra["refund"],
        reason=extra["reason"],
    )


@pytest.mark.parametrize("kind", ["payment.created", "checkout.expired", "PAYMENT.SUCCEEDED"])
def test_unknown_types_are_ignored(kind: str) -> None:
    assert parse_document(document(kind)) is None


def test_optional_fields_may_be_missing() -> None:
    event = parse_document(
        {"id": "evt_x", "type": "payment.canceled", "created": AT,
         "data": {"amount": "0", "currency": "CHF"}}
    )  # fmt: skip
    assert event is not None
    assert (event.payment_id, event.reference, event.method, event.transaction) == (None,) * 4
    assert event.amount == 0 and event.currency == "CHF"


@pytest.mark.parametrize(
    "change",
    [
        {"data": {"amount": 12.5, "currency": "EUR"}},  # a float: not exact
        {"data": {"amount": "twelve", "currency": "EUR"}},
        {"data": {"amount": "-1", "currency": "EUR"}},
        {"data": {"amount": "NaN", "currency": "EUR"}},
        {"data": {"amount": True, "currency": "EUR"}},
        {"data": {"amount": "1", "currency": "eur"}},
        {"data": {"amount": "1", "currency": "EUR", "payment_id": 7}},
        {"data": {"amount": "1", "currency": "EUR", "reason": "x" * 201}},
        {"data": "nope"},
        {"created": "yesterday"},
        {"created": True},
        {"created": 10**20},
        {"id": ""},
        {"type": 3},
    ],
)
def test_signed_bodies_that_are_no_events_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(EventRejected):
        parse_document({**document("payment.succeeded"), **change})


@pytest.mark.parametrize("body", [b"[]", b'"event"', b"\xff\xfe", b"{" * 70000])
def test_bodies_that_are_not_objects_are_refused(body: bytes) -> None:
    with pytest.raises(EventRejected):
        PROVIDER.parse_event(CONFIG, body, sign(SECRET, body, AT), NOW)


def test_event_body_round_trip() -> None:
    data = EventData(
        event_id="evt_a", kind="refunded", created=AT, payment_id="pay_1", checkout="cs_1",
        amount=Decimal("3.10"), currency="EUR", method="card", transaction="tr_1",
        refund="re_1", reason=None,
    )  # fmt: skip
    body = event_body(data)
    assert json.loads(body)["data"]["amount"] == "3.10"
    assert json.loads(body)["type"] == "payment.refunded"
    event = PROVIDER.parse_event(CONFIG, body, sign(SECRET, body, AT), NOW)
    assert event is not None
    assert (event.kind, event.amount, event.refund_reference) == (
        "refunded",
        Decimal("3.10"),
        "re_1",
    )
