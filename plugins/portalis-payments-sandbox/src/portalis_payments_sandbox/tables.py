"""The sandbox network's own tables (shared by all portals; a checkout carries its portal).

They stand for the database of a real payment network: its checkouts, its refunds and the
signing keys of its merchants. The keys table holds each entry's secret because the hosted
page — which plays the network — signs the events it sends with it, possibly in another
process than the one that created the checkout, long after (a settlement); a portal version
is not reachable from a platform-level page. It is the sandbox's trade-off: whoever can read
this table can sign sandbox events, and anybody can approve a sandbox payment anyway.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

#: Where a checkout is: `open` (waiting for the payer), `verifying` (the code step is shown),
#: then `pending` (approved, settles later), `succeeded`, `failed` or `canceled`.
OPEN_STATUSES = ("open", "verifying")
FINAL_STATUSES = ("succeeded", "failed", "canceled")


class DecimalText(sa.types.TypeDecorator[Decimal]):
    """An exact amount stored as its decimal text ("12.50"): the same on SQLite (which has
    no exact decimals) and PostgreSQL; sums are taken in Python under a row lock."""

    impl = sa.String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        """The text of a Decimal (never a float: it would not be exact)."""
        if value is None:
            return None
        if not isinstance(value, Decimal | int | str):
            raise TypeError(f"an amount must be a Decimal, not {type(value).__name__}")
        return str(Decimal(value))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        """The stored text as a Decimal."""
        return None if value is None else Decimal(str(value))


#: One row per `payments.providers` secret a checkout was created with, by `signing.key_id`.
keys = sa.Table(
    "portalis_sandbox_key",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

#: One row per hosted checkout (`Checkout.reference` is its id).
checkouts = sa.Table(
    "portalis_sandbox_checkout",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("payment_id", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(32), sa.ForeignKey(keys.c.key_id), nullable=False),
    sa.Column("amount", DecimalText(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("return_url", sa.Text, nullable=False),
    sa.Column("events_url", sa.Text, nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    #: the money movement (`tr_…`) of an approved payment: refunds name it
    sa.Column("transaction", sa.String(40), nullable=True, unique=True),
    sa.Column("method", sa.String(32), nullable=True),
    sa.Column("reason", sa.String(200), nullable=True),
    sa.Column("refunded", DecimalText(), nullable=False),
    #: the entry's `settle_after_seconds` when the checkout was made, and when a pending
    #: ("settle later") payment succeeds
    sa.Column("settle_after", sa.Integer, nullable=False),
    sa.Column("settle_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_portalis_sandbox_checkout_key", "key_id", "created_at"),
    sa.Index("ix_portalis_sandbox_checkout_settle", "status", "settle_at"),
)

#: One row per refund; `idempotency_key` is the core's key (a repeated request refunds once).
refunds = sa.Table(
    "portalis_sandbox_refund",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("checkout_id", sa.String(40), sa.ForeignKey(checkouts.c.id), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("amount", DecimalText(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
