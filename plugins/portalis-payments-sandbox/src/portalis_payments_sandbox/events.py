"""The sandbox's event bodies: written by the hosted page, read back by `parse_event`.

    {"id": "evt_…", "type": "payment.succeeded", "created": 1767225600,
     "data": {"payment_id": "pay_…", "checkout": "cs_…", "amount": "12.50",
              "currency": "EUR", "method": "card", "transaction": "tr_…",
              "refund": null, "reason": null}}

Amounts travel as decimal strings (a JSON number would pass through binary floating point).
`read_event` runs only on a body whose signature was verified; it still checks every value,
since a signed body may come from a script with a mistake in it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from portalis.api import EventRejected, PaymentEvent, PaymentEventKind

#: Event `type` → the core's kind; other types are verified, acknowledged and ignored.
TYPES: dict[str, PaymentEventKind] = {
    "payment.succeeded": "succeeded",
    "payment.pending": "pending",
    "payment.failed": "failed",
    "payment.refunded": "refunded",
    "payment.canceled": "canceled",
}
KIND_TYPES: dict[PaymentEventKind, str] = {kind: name for name, kind in TYPES.items()}
MAX_BODY_BYTES = 64 * 1024
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TEXT_FIELDS = ("payment_id", "checkout", "method", "transaction", "refund", "reason")


@dataclass(frozen=True, slots=True)
class EventData:
    """What an event says, before it is written as JSON."""

    event_id: str
    kind: PaymentEventKind
    created: int
    payment_id: str | None
    checkout: str | None
    amount: Decimal
    currency: str
    method: str | None = None
    transaction: str | None = None
    refund: str | None = None
    reason: str | None = None


def event_body(data: EventData) -> bytes:
    """The JSON body of an event (compact, UTF-8): what is signed and posted."""
    document = {
        "id": data.event_id,
        "type": KIND_TYPES[data.kind],
        "created": data.created,
        "data": {
            "payment_id": data.payment_id,
            "checkout": data.checkout,
            "amount": str(data.amount),
            "currency": data.currency,
            "method": data.method,
            "transaction": data.transaction,
            "refund": data.refund,
            "reason": data.reason,
        },
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise EventRejected(f"data.{key} is not a short string")
    return value


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventRejected("data.amount is not a decimal string")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise EventRejected("data.amount is not a decimal string") from exc
    if not amount.is_finite() or amount < 0:
        raise EventRejected("data.amount is not a finite amount of 0 or more")
    return amount


def read_event(body: bytes) -> PaymentEvent | None:
    """The event of a verified body; None for a type the core does not act on;
    `EventRejected` for a body that is not a sandbox event."""
    if len(body) > MAX_BODY_BYTES:
        raise EventRejected("the body is too large")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventRejected("the body is not JSON") from exc
    if not isinstance(document, dict):
        raise EventRejected("the body is not a JSON object")
    event_id, kind_name = document.get("id"), document.get("type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 200:
        raise EventRejected("the event has no id")
    if not isinstance(kind_name, str):
        raise EventRejected("the event has no type")
    kind = TYPES.get(kind_name)
    if kind is None:
        return None
    created, data = document.get("created"), document.get("data")
    if isinstance(created, bool) or not isinstance(created, int) or created < 0:
        raise EventRejected("created is not a unix time")
    if not isinstance(data, dict):
        raise EventRejected("the event has no data object")
    currency = data.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise EventRejected("data.currency is not an ISO 4217 code")
    texts = {key: _text(data, key) for key in _TEXT_FIELDS}
    try:
        occurred_at = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise EventRejected("created is out of range") from exc
    return PaymentEvent(
        event_id=event_id,
        kind=kind,
        payment_id=texts["payment_id"],
        reference=texts["checkout"],
        amount=_amount(data.get("amount")),
        currency=currency,
        occurred_at=occurred_at,
        method=texts["method"],
        transaction=texts["transaction"],
        refund_reference=texts["refund"],
        reason=texts["reason"],
    )
