"""Reading Stripe's objects (as plain JSON dicts) in the core's terms: Checkout Sessions and
charges into `PaymentEvent`s and `ProviderPayment`s. No IO: `events` and `provider` hand in
what the library verified or fetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from portalis.api import PaymentEvent, PaymentEventKind, ProviderPayment

from .amounts import from_minor
from .checkout import PAYMENT_ID_KEY

Json = Mapping[str, Any]


def text(obj: Json, key: str) -> str | None:
    """`obj[key]` when it is a non-empty string."""
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def ident(value: Any) -> str | None:
    """The id of a reference that may be expanded (`"pi_1"` or `{"id": "pi_1", …}`)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        return text(value, "id")
    return None


def integer(obj: Json, key: str) -> int:
    """`obj[key]` as an int (ValueError when it is none: the object is not Stripe's)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} is not an integer")
    return value


def when(timestamp: int) -> datetime:
    """A Stripe timestamp (Unix seconds) as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC)


def money(obj: Json, key: str) -> tuple[Decimal, str]:
    """(amount, upper-case currency) of `obj[key]` in `obj["currency"]`'s minor units."""
    currency = text(obj, "currency")
    if currency is None:
        raise ValueError("currency is missing")
    return from_minor(integer(obj, key), currency), currency.upper()


def payment_id(obj: Json) -> str | None:
    """The core's payment id the object carries (metadata, else `client_reference_id`)."""
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        found = text(metadata, PAYMENT_ID_KEY)
        if found is not None:
            return found
    return text(obj, "client_reference_id")


def session_method(session: Json) -> str | None:
    """The payment method of a session when it offered exactly one (with several, which one
    was used is only on the payment intent, which events do not carry)."""
    types = session.get("payment_method_types")
    if isinstance(types, list) and len(types) == 1 and isinstance(types[0], str):
        return types[0]
    return None


def session_event(
    event_id: str, kind: PaymentEventKind, session: Json, occurred_at: datetime, reason: str | None
) -> PaymentEvent:
    """A `PaymentEvent` about a Checkout Session."""
    amount, currency = money(session, "amount_total")
    return PaymentEvent(
        event_id=event_id,
        kind=kind,
        payment_id=payment_id(session),
        reference=text(session, "id"),
        amount=amount,
        currency=currency,
        occurred_at=occurred_at,
        method=session_method(session),
        transaction=ident(session.get("payment_intent")),
        reason=reason,
    )


def refund_event(
    event_id: str, charge: Json, previous: Json | None, occurred_at: datetime
) -> PaymentEvent:
    """A `refunded` event from a `charge.refunded` event's charge: the newest refund's amount
    and id when the charge lists its refunds (newest first), else the growth of
    `amount_refunded` since the event's `previous_attributes`."""
    currency = text(charge, "currency")
    if currency is None:
        raise ValueError("currency is missing")
    refunds = charge.get("refunds")
    data = refunds.get("data") if isinstance(refunds, Mapping) else None
    newest = data[0] if isinstance(data, list) and data and isinstance(data[0], Mapping) else None
    if newest is not None:
        minor, reference = integer(newest, "amount"), text(newest, "id")
    elif previous is not None and isinstance(previous.get("amount_refunded"), int):
        minor = integer(charge, "amount_refunded") - integer(previous, "amount_refunded")
        reference = None
    else:
        raise ValueError("the charge names neither its refunds nor the amount refunded before")
    if minor <= 0:
        raise ValueError("the refund has no positive amount")
    details = charge.get("payment_method_details")
    method = text(details, "type") if isinstance(details, Mapping) else None
    return PaymentEvent(
        event_id=event_id,
        kind="refunded",
        payment_id=payment_id(charge),
        reference=None,
        amount=from_minor(minor, currency),
        currency=currency.upper(),
        occurred_at=occurred_at,
        method=method,
        transaction=ident(charge.get("payment_intent")) or text(charge, "id"),
        refund_reference=reference,
    )


def listed_payment(session: Json) -> ProviderPayment | None:
    """A Checkout Session as a `ProviderPayment` (its payment intent and the intent's latest
    charge expanded); None for a session still open — nothing was paid or tried yet — and for
    one without an amount."""
    status = text(session, "status")
    if status == "open" or session.get("amount_total") is None:
        return None
    amount, currency = money(session, "amount_total")
    intent = session.get("payment_intent")
    intent = intent if isinstance(intent, Mapping) else {}
    charge = intent.get("latest_charge")
    refunded_minor = charge.get("amount_refunded") if isinstance(charge, Mapping) else 0
    refunded = from_minor(refunded_minor if isinstance(refunded_minor, int) else 0, currency)
    kind: PaymentEventKind
    if status == "expired":
        kind = "canceled"
    elif session.get("payment_status") in ("paid", "no_payment_required"):
        kind = "refunded" if refunded and refunded >= amount else "succeeded"
    elif intent.get("status") in ("requires_payment_method", "canceled"):
        kind = "failed"  # an asynchronous payment (a debit) that did not go through
    else:
        kind = "pending"
    return ProviderPayment(
        reference=str(session.get("id")),
        payment_id=payment_id(session),
        amount=amount,
        currency=currency,
        status=kind,
        created_at=when(integer(session, "created")),
        refunded=refunded,
    )
