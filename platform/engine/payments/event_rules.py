"""What an event does to a payment: the rules of exactly-once payments, without a database.

- A flagged payment waits for staff: later events are ignored.
- `succeeded` is final: a later `pending`, `failed` or `canceled` is ignored, and so is a
  second `succeeded`. A `succeeded` after `failed`, `canceled` or `pending` is applied (the
  money moved; some networks report a failed attempt before a successful one).
- `pending`, `failed` and `canceled` older than the last event applied are ignored.
- `succeeded`, `pending` and `failed` must report the payment's amount and currency; a
  `refunded` event no more than is left and the same currency. A mismatch flags the payment,
  and a flagged payment is never counted as paid (a counted one stops counting: its record
  is open again until staff have looked).
- A `refunded` event of a payment that never succeeded flags it (a `succeeded` went missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .provider import PaymentEvent
from .records import EventResult, Payment, in_units

#: Kinds that must report the payment's own amount.
_SAME_AMOUNT = frozenset({"succeeded", "pending", "failed"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do: `result`, the payment's new `status` when applied, the `flag` text when
    flagged, or a `note` saying why the event is ignored."""

    result: EventResult
    status: str | None = None
    flag: str | None = None
    note: str = ""


def judge(payment: Payment, event: PaymentEvent) -> Verdict:
    """The verdict on a verified event about `payment` (see the module docstring)."""
    if payment.status == "flagged":
        return Verdict("ignored", note="the payment is flagged: staff decide")
    if event.kind == "refunded":
        return _judge_refund(payment, event)
    if payment.counted:
        return Verdict("ignored", note=f"{event.kind} after the payment succeeded")
    mismatch = _mismatch(payment, event) if event.kind in _SAME_AMOUNT else None
    if mismatch is not None:
        return Verdict("flagged", "flagged", flag=mismatch)
    if event.kind == "succeeded":
        return Verdict("applied", "succeeded")
    if payment.event_at is not None and event.occurred_at < payment.event_at:
        return Verdict("ignored", note=f"{event.kind} is older than the last event applied")
    return Verdict("applied", event.kind)


def _judge_refund(payment: Payment, event: PaymentEvent) -> Verdict:
    if not payment.counted:
        return Verdict("flagged", "flagged", flag=f"a refund of a payment in {payment.status}")
    left = payment.amount - payment.refunded
    currency = event.currency.upper()
    amount = _units(event, payment.currency)
    if currency != payment.currency or amount is None or not 0 < amount <= left:
        told = f"{event.amount} {currency}"
        return Verdict(
            "flagged",
            "flagged",
            flag=f"event {event.event_id} refunded {told}; {left} {payment.currency} was left",
        )
    status = "refunded" if amount == left else "partially_refunded"
    return Verdict("applied", status)


def _mismatch(payment: Payment, event: PaymentEvent) -> str | None:
    """Why the event's amount or currency is not the payment's, or None when it is."""
    currency = event.currency.upper()
    amount = _units(event, payment.currency)
    if currency == payment.currency and amount == payment.amount:
        return None
    return (
        f"event {event.event_id} ({event.kind}) reported {event.amount} {currency}; "
        f"the payment is {payment.amount} {payment.currency}"
    )


def _units(event: PaymentEvent, currency: str) -> Decimal | None:
    """The event's amount in the currency's units, or None when it has more decimals (an
    amount that is not exactly the payment's is never rounded into it)."""
    try:
        exact = in_units(event.amount, currency)
    except ArithmeticError:
        return None
    return exact if exact == event.amount else None
