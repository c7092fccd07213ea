"""What the payment service returns: payments, their refunds, and what a start, an event or
a reconciliation found — read from the payment tables (`data.system_tables`)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

from ..data.system_tables import aware
from ..definition.fieldtypes.money import Money, currency_places

#: What a payment is now (see `data.system_tables.payments`).
Status = Literal[
    "created",
    "open",
    "pending",
    "succeeded",
    "failed",
    "canceled",
    "partially_refunded",
    "refunded",
    "flagged",
]
#: Statuses whose money reached the portal: they count towards `paid_online`.
COUNTED: Final[frozenset[str]] = frozenset({"succeeded", "partially_refunded", "refunded"})
#: What an event did: `duplicate` (its id was seen before), `applied`, `ignored` (superseded
#: or already applied), `flagged` (amount or currency disagreed) or `unknown` (no payment of
#: this portal and provider).
EventResult = Literal["applied", "ignored", "flagged", "unknown", "duplicate"]
#: Where a refund is: asked for, done, waiting for the provider's event, or refused.
RefundStatus = Literal["requested", "succeeded", "pending", "failed"]


def new_id(prefix: str) -> str:
    """A fresh opaque id: `pay_…` for payments, `re_…` for refunds (URLs carry them)."""
    return f"{prefix}_{secrets.token_urlsafe(18)}"


def in_units(amount: Decimal, currency: str) -> Decimal:
    """`amount` with the decimal places of `currency` (12.5 EUR → 12.50)."""
    return amount.quantize(Decimal(1).scaleb(-currency_places(currency)))


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund of (part of) a payment."""

    id: str
    payment_id: str
    amount: Decimal
    currency: str
    reference: str | None
    status: str
    reason: str | None
    created_by: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Payment:
    """One online payment of a payable record, with its refunds (oldest first)."""

    id: str
    portal: str
    entity: str
    record_id: int
    provider: str
    provider_type: str
    reference: str | None
    transaction: str | None
    amount: Decimal
    currency: str
    status: str
    refunded: Decimal
    method: str | None
    reason: str | None
    flag: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    event_at: datetime | None
    refunds: tuple[Refund, ...] = ()
    #: the provider's hosted checkout page, once the provider made it
    checkout_url: str | None = None

    @property
    def money(self) -> Money:
        """The amount with its currency."""
        return Money(self.amount, self.currency)

    @property
    def counted(self) -> bool:
        """True when the money reached the portal (it counts towards `paid_online`)."""
        return self.status in COUNTED

    @property
    def net(self) -> Decimal:
        """What the payment brought in: its amount less refunds once counted, else 0."""
        return self.amount - self.refunded if self.counted else Decimal(0)


@dataclass(frozen=True, slots=True)
class StartedPayment:
    """A payment whose checkout the provider made: send the payer to `redirect_url`."""

    payment: Payment
    redirect_url: str
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """What an event did (`result`), to which payment, and the payment's status after it;
    `transition` names the `paid` or `reopened` transition it took, if any."""

    result: EventResult
    payment_id: str | None = None
    status: str | None = None
    transition: str | None = None
    note: str = ""


def _when(value: Any) -> datetime:
    moment = aware(value)
    assert moment is not None  # NOT NULL columns
    return moment


def refund_of(row: Mapping[Any, Any]) -> Refund:
    """A refund from its row."""
    currency = str(row["currency"])
    return Refund(
        id=str(row["id"]),
        payment_id=str(row["payment_id"]),
        amount=in_units(Decimal(row["amount"]), currency),
        currency=currency,
        reference=row["reference"],
        status=str(row["status"]),
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=_when(row["created_at"]),
    )


def payment_of(row: Mapping[Any, Any], refunds: tuple[Refund, ...] = ()) -> Payment:
    """A payment from its row (and its refunds)."""
    currency = str(row["currency"])
    return Payment(
        id=str(row["id"]),
        portal=str(row["portal"]),
        entity=str(row["entity"]),
        record_id=int(row["record_id"]),
        provider=str(row["provider"]),
        provider_type=str(row["provider_type"]),
        reference=row["reference"],
        transaction=row["transaction"],
        amount=in_units(Decimal(row["amount"]), currency),
        currency=currency,
        status=str(row["status"]),
        refunded=in_units(Decimal(row["refunded"]), currency),
        method=row["method"],
        reason=row["reason"],
        flag=row["flag"],
        created_by=row["created_by"],
        created_at=_when(row["created_at"]),
        updated_at=_when(row["updated_at"]),
        event_at=aware(row["event_at"]),
        refunds=refunds,
        checkout_url=row.get("checkout_url"),
    )
