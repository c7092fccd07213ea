"""Reading payments: whoever may read a record reads its payments and their refunds.

The record is read first with the actor's rights, so the payments of a record the actor
cannot see do not exist for them (NotFound), nor does a payment of another portal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.errors import NotFound
from ..data.permissions import Actor
from ..data.system_tables import payment_refunds, payments
from .payable import payable_entity
from .records import Payment, Refund, payment_of, refund_of

if TYPE_CHECKING:
    from ..data.store import RecordStore


def payments_of(
    store: RecordStore, actor: Actor, entity_name: str, record_id: Any
) -> list[Payment]:
    """The payments of a record the actor may read, newest first, with their refunds."""
    entity, _ = payable_entity(store, entity_name)
    with store.reading() as conn:
        rid = store.get(actor, entity.name, record_id, conn=conn).id
        query = (
            sa.select(payments)
            .where(
                payments.c.portal == store.model.slug,
                payments.c.entity == entity.name,
                payments.c.record_id == rid,
            )
            .order_by(payments.c.created_at.desc(), payments.c.id)
        )
        rows = list(conn.execute(query).mappings())
        refunds = _refunds(conn, [str(row["id"]) for row in rows])
    return [payment_of(row, refunds.get(str(row["id"]), ())) for row in rows]


def payment(store: RecordStore, actor: Actor, payment_id: str) -> Payment:
    """One payment of a record the actor may read; NotFound otherwise."""
    with store.reading() as conn:
        row = (
            conn.execute(
                sa.select(payments).where(
                    payments.c.id == payment_id[:40], payments.c.portal == store.model.slug
                )
            )
            .mappings()
            .first()
        )
        if row is None or row["entity"] not in store.model.entities:
            raise NotFound(f"no payment {payment_id}")
        store.get(actor, str(row["entity"]), row["record_id"], conn=conn)
        refunds = _refunds(conn, [str(row["id"])])
    return payment_of(row, refunds.get(str(row["id"]), ()))


def _refunds(conn: sa.Connection, payment_ids: Iterable[str]) -> dict[str, tuple[Refund, ...]]:
    """The refunds of the payments, by payment, oldest first."""
    ids = list(payment_ids)
    if not ids:
        return {}
    out: dict[str, tuple[Refund, ...]] = {}
    query = (
        sa.select(payment_refunds)
        .where(payment_refunds.c.payment_id.in_(ids))
        .order_by(payment_refunds.c.created_at, payment_refunds.c.id)
    )
    for row in conn.execute(query).mappings():
        refund = refund_of(row)
        out[refund.payment_id] = (*out.get(refund.payment_id, ()), refund)
    return out
