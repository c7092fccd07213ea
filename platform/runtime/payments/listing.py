"""A portal's payments for its operators: the admin page (`/admin/payments`) and `portalis
payments list` read them here — newest first, by status, provider entry and creation time.

No permission filter applies: both are for the portal's administrators, who see every
payment of the portal (the records they belong to keep their own rights). Each read is one
indexed query on `portalis_payment` (`portal`, then `provider` and `created_at`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, get_args

import sqlalchemy as sa

from portalis.engine.data.system_tables import payments
from portalis.engine.payments.records import Payment, Status, payment_of

#: Every payment status, in the order of a payment's life.
STATUSES: Final[tuple[str, ...]] = get_args(Status)


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    """Which payments: of one status, one provider entry, created at or after a time."""

    status: str | None = None
    provider: str | None = None
    since: datetime | None = None


def find_payments(
    conn: sa.Connection, slug: str, where: PaymentFilter, *, offset: int = 0, limit: int = 50
) -> list[Payment]:
    """The portal's payments that match `where`, newest first (without their refunds)."""
    query = sa.select(payments).where(payments.c.portal == slug)
    if where.status:
        query = query.where(payments.c.status == where.status)
    if where.provider:
        query = query.where(payments.c.provider == where.provider)
    if where.since is not None:
        query = query.where(payments.c.created_at >= where.since)
    query = query.order_by(payments.c.created_at.desc(), payments.c.id.desc())
    rows = conn.execute(query.offset(max(offset, 0)).limit(limit)).mappings()
    return [payment_of(row) for row in rows]


def stored_providers(conn: sa.Connection, slug: str) -> list[str]:
    """The provider entries the portal's payments name (also entries a later version of the
    definition no longer has), sorted."""
    query = sa.select(payments.c.provider).where(payments.c.portal == slug).distinct()
    return sorted(str(name) for name in conn.execute(query).scalars())
