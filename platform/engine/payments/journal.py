"""Writing down what happened to a payment, in the caller's transaction: its row and the
audit entry on its record (one per change: `payment_start`, `payment_succeeded`, …)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data import audit
from ..data.permissions import Actor
from ..data.system_tables import payments
from ..data.tables import utcnow
from .records import Payment, payment_of

if TYPE_CHECKING:
    from ..data.store import RecordStore


def locked(conn: sa.Connection, portal: str, payment_id: str) -> Payment | None:
    """The portal's payment `payment_id`, its row locked for this transaction (None when
    the portal has no such payment)."""
    query = sa.select(payments).where(payments.c.id == payment_id[:40], payments.c.portal == portal)
    row = conn.execute(query.with_for_update()).mappings().first()
    return None if row is None else payment_of(row)


def update(conn: sa.Connection, payment: Payment, values: Mapping[str, Any]) -> Payment:
    """Change the payment's row (and its `updated_at`); the payment as it is now."""
    table = payments
    conn.execute(
        table.update().where(table.c.id == payment.id).values(**values, updated_at=utcnow())
    )
    row = conn.execute(sa.select(table).where(table.c.id == payment.id)).mappings().one()
    return payment_of(row, payment.refunds)


def write_audit(
    store: RecordStore,
    conn: sa.Connection,
    actor: Actor,
    action: str,
    payment: Payment,
    detail: Mapping[str, Any],
) -> None:
    """One audit entry about a payment, on its record (empty details left out)."""
    base = {
        "payment": payment.id,
        "provider": payment.provider,
        "amount": str(payment.money),
        "status": payment.status,
    }
    audit.record_action(
        store, conn, actor, action, entity=payment.entity, record_id=payment.record_id,
        detail={**base, **{k: v for k, v in detail.items() if v is not None}},
    )  # fmt: skip
