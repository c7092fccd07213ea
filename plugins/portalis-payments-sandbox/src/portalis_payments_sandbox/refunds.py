"""Refunds of sandbox payments: all or part of what was paid, once per idempotency key.

One transaction: the checkout row is locked first (`FOR UPDATE` on PostgreSQL; SQLite's
`BEGIN IMMEDIATE` serialises writers), then the key is looked up, so two concurrent
requests with one key refund once and two with different keys never give back more than
was paid. A key already used for another refund is refused, as a network refuses a reused
idempotency key with other parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from portalis.api import ProviderError, begin_write

from .store import CheckoutRow, new_id
from .tables import checkouts, refunds


@dataclass(frozen=True, slots=True)
class RefundAsk:
    """A refund as the core asks for it, for the payments of one key."""

    key_id: str
    transaction: str
    amount: Decimal
    currency: str
    idempotency_key: str


def _existing(conn: sa.Connection, idempotency_key: str) -> sa.RowMapping | None:
    query = sa.select(refunds).where(refunds.c.idempotency_key == idempotency_key)
    return conn.execute(query).mappings().first()


def _replay(found: sa.RowMapping, checkout_id: str, ask: RefundAsk) -> str:
    """The id of the refund an idempotency key already made — if it asked for the same."""
    if (found["checkout_id"], found["amount"], found["currency"]) != (
        checkout_id,
        ask.amount,
        ask.currency,
    ):
        raise ProviderError("this idempotency key was used for another refund")
    return str(found["id"])


def refund(engine: sa.Engine, ask: RefundAsk, now: datetime) -> str:
    """Give back `ask.amount` of the payment `ask.transaction`; the refund's id.
    `ProviderError` when the payment is unknown to this key, not succeeded, in another
    currency, or when the amount is not positive or more than what is left."""
    if not ask.idempotency_key:
        raise ProviderError("a refund needs an idempotency key")
    try:
        with begin_write(engine) as conn:
            return _refund(conn, ask, now)
    except sa.exc.IntegrityError:
        # a concurrent request with the same key on another payment inserted it first
        with engine.connect() as conn:
            found = _existing(conn, ask.idempotency_key)
        if found is None:
            raise
        raise ProviderError("this idempotency key was used for another refund") from None


def _refund(conn: sa.Connection, ask: RefundAsk, now: datetime) -> str:
    query = (
        sa.select(checkouts)
        .where(checkouts.c.transaction == ask.transaction, checkouts.c.key_id == ask.key_id)
        .with_for_update()
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        raise ProviderError(f"the sandbox knows no payment {ask.transaction!r} of this provider")
    paid = CheckoutRow.of(row)
    found = _existing(conn, ask.idempotency_key)
    if found is not None:
        return _replay(found, paid.id, ask)
    amount, currency = ask.amount, ask.currency
    if paid.status != "succeeded":
        raise ProviderError(f"the payment is {paid.status}, not succeeded: nothing to refund")
    if currency != paid.currency:
        raise ProviderError(f"the payment is in {paid.currency}, not {currency}")
    if not amount.is_finite() or amount <= 0:
        raise ProviderError("a refund must be more than 0")
    left = paid.amount - paid.refunded
    if amount > left:
        raise ProviderError(
            f"a refund of {amount} {currency} is more than the {left} {currency} left to refund"
        )
    refund_id = new_id("re")
    conn.execute(
        refunds.insert().values(
            id=refund_id,
            checkout_id=paid.id,
            idempotency_key=ask.idempotency_key,
            amount=amount,
            currency=currency,
            created_at=now,
        )
    )
    conn.execute(
        checkouts.update()
        .where(checkouts.c.id == paid.id)
        .values(refunded=paid.refunded + amount, updated_at=now)
    )
    return refund_id
