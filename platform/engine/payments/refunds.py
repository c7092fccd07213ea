"""Refunds: staff give back all or part of a succeeded payment.

`refund_payment` needs the `refund` action on the payment's record (whoever cannot read the
record gets NotFound). The refund row is written first (`requested`, committed with its audit
entry), then the provider is asked with the refund id as idempotency key — no transaction is
held across the network — and its answer is applied in one transaction: the refund, the
payment's refunded sum and status, the record's `paid_online` and `reopened` transition
(`settle`), the audit entry. A `refunded` event of the provider completes a pending refund,
or adopts a requested one it overtook, so a refund is never counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.db import begin_write
from ..data.errors import FieldMessage, NotFound
from ..data.permissions import Actor
from ..data.system_tables import payment_refunds
from ..data.tables import utcnow
from ..definition.fieldtypes.money import Money
from .errors import PaymentUnavailable, ProviderFailed, RefundRefused
from .journal import locked, update, write_audit
from .payable import payment_amount
from .provider import PaymentEvent, ProviderContext, ProviderError, RefundResult
from .records import Payment, Refund, in_units, new_id, refund_of
from .registry import BoundProvider
from .settle import settle_logged

if TYPE_CHECKING:
    from ..data.store import RecordStore

#: Refunds asked for but not yet counted in the payment's `refunded`.
_OUTSTANDING = ("requested", "pending")


def refund_payment(
    store: RecordStore,
    actor: Actor,
    payment_id: str,
    amount: Decimal | None,
    reason: str | None,
    *,
    context: ProviderContext,
    providers: Mapping[str, BoundProvider],
) -> Refund:
    """Refund `amount` (default: all that is left) of a payment; see the module docstring.

    NotFound (no such payment of this portal, or its record is invisible to the actor),
    Forbidden (no `refund` grant on the record), RefundRefused (nothing left, not succeeded,
    no transaction known), ValidationFailed (key `amount`), PaymentUnavailable (no loaded
    plugin serves the provider), ProviderFailed (the provider refused: the refund is stored
    as failed).
    """
    slug = store.model.slug
    with begin_write(store.engine) as conn:
        payment = locked(conn, slug, payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        store.get(actor, payment.entity, payment.record_id, action="refund", conn=conn)
        bound = providers.get(payment.provider)
        if bound is None:
            raise PaymentUnavailable(f"payment provider {payment.provider!r} is not loaded")
        value = _refund_amount(conn, payment, amount)
        refund = Refund(new_id("re"), payment.id, value, payment.currency, None, "requested",
                        (reason or "").strip()[:500] or None, actor.id, utcnow())  # fmt: skip
        conn.execute(payment_refunds.insert().values(**_row(refund)))
        detail = {"refund": refund.id, "refund_amount": f"{value} {payment.currency}"}
        write_audit(
            store, conn, actor, "refund_request", payment, {**detail, "reason": refund.reason}
        )
    assert payment.transaction is not None  # _refund_amount refused a payment without one
    try:
        result = bound.provider.refund(
            bound.config, payment.transaction, value, payment.currency, refund.id, context
        )
    except ProviderError as exc:
        _failed(store, actor, payment, refund, exc.message)
        raise ProviderFailed(exc.message, retryable=exc.retryable) from exc
    except Exception as exc:  # a broken provider: the refund must not stay `requested`
        _failed(store, actor, payment, refund, f"unexpected error: {exc.__class__.__name__}")
        raise
    return _apply(store, actor, refund, result)


def _refund_amount(conn: sa.Connection, payment: Payment, given: Decimal | None) -> Decimal:
    """What may be refunded: the payment succeeded and names its transaction; `given` (or
    all that is left) is above zero and at most what is left after earlier refunds."""
    if not payment.counted:
        raise RefundRefused(FieldMessage("not-refundable", "only a paid payment is refunded"))
    if payment.transaction is None:
        raise RefundRefused(
            FieldMessage("not-refundable", "the provider named no transaction to refund")
        )
    outstanding = conn.execute(
        sa.select(payment_refunds.c.amount).where(
            payment_refunds.c.payment_id == payment.id,
            payment_refunds.c.status.in_(_OUTSTANDING),
        )
    ).scalars()
    left = payment.amount - payment.refunded - sum(outstanding, Decimal(0))
    if left <= 0:
        raise RefundRefused(FieldMessage("refunded", "nothing is left to refund"))
    return payment_amount(given, Money(left, payment.currency), partial=True)


def _row(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "reference": refund.reference,
        "status": refund.status,
        "reason": refund.reason,
        "created_by": refund.created_by,
        "created_at": refund.created_at,
    }


def _failed(store: RecordStore, actor: Actor, payment: Payment, refund: Refund, why: str) -> None:
    with begin_write(store.engine) as conn:
        conn.execute(
            payment_refunds.update()
            .where(payment_refunds.c.id == refund.id)
            .values(status="failed", reason=why[:500])
        )
        write_audit(
            store, conn, actor, "refund_failed", payment, {"refund": refund.id, "reason": why}
        )


def _apply(store: RecordStore, actor: Actor, refund: Refund, result: RefundResult) -> Refund:
    """The provider's answer, in one transaction (see the module docstring)."""
    slug = store.model.slug
    with begin_write(store.engine) as conn:
        payment = locked(conn, slug, refund.payment_id)
        assert payment is not None  # payments are never deleted
        row = (
            conn.execute(
                sa.select(payment_refunds)
                .where(payment_refunds.c.id == refund.id)
                .with_for_update()
            )
            .mappings()
            .one()
        )
        if row["status"] == "succeeded":
            return refund_of(row)  # the provider's event came first and applied it
        status = "pending" if result.status == "pending" else "succeeded"
        _set(conn, refund.id, status, result.reference)
        if status == "succeeded":
            count(store, conn, payment, refund.amount, actor, refund.id)
        return refund_of(_refund_row(conn, refund.id))


def count(
    store: RecordStore,
    conn: sa.Connection,
    payment: Payment,
    amount: Decimal,
    actor: Actor,
    refund_id: str,
) -> Payment:
    """Count a succeeded refund of `amount` made by `actor`: the payment's refunded sum and
    status, its record and the audit entry (`settle_logged`)."""
    refunded = payment.refunded + amount
    values: dict[str, Any] = {"refunded": refunded}
    if payment.counted:
        values["status"] = "refunded" if refunded >= payment.amount else "partially_refunded"
    payment = update(conn, payment, values)
    detail = {"refund": refund_id, "refund_amount": f"{amount} {payment.currency}"}
    payment, _ = settle_logged(
        store, conn, payment, actor, after="refund", action="payment_refunded", detail=detail
    )
    return payment


def _set(conn: sa.Connection, refund_id: str, status: str, reference: str | None) -> None:
    values: dict[str, Any] = {"status": status}
    if reference:
        values["reference"] = reference[:255]
    conn.execute(payment_refunds.update().where(payment_refunds.c.id == refund_id).values(**values))


def _refund_row(conn: sa.Connection, refund_id: str) -> sa.RowMapping:
    query = sa.select(payment_refunds).where(payment_refunds.c.id == refund_id)
    return conn.execute(query).mappings().one()


# -- the provider's refunded events (`events`) ------------------------------------------------
def refund_recorded(conn: sa.Connection, payment: Payment, reference: str) -> bool:
    """True when the payment has a succeeded refund with the provider's `reference`."""
    query = sa.select(payment_refunds.c.id).where(
        payment_refunds.c.payment_id == payment.id,
        payment_refunds.c.reference == reference,
        payment_refunds.c.status == "succeeded",
    )
    return conn.execute(query).first() is not None


def take_refund_event(conn: sa.Connection, payment: Payment, event: PaymentEvent) -> str:
    """The refund an applied `refunded` event completes, marked succeeded: our pending refund
    with its reference, else our oldest requested one of the same amount it overtook, else a
    new row (a refund made in the provider's dashboard). Returns its id."""
    amount = in_units(event.amount, payment.currency)
    mine = sa.and_(
        payment_refunds.c.payment_id == payment.id,
        payment_refunds.c.status.in_(_OUTSTANDING),
    )
    candidates = []
    if event.refund_reference:
        candidates.append(sa.and_(mine, payment_refunds.c.reference == event.refund_reference))
    candidates.append(
        sa.and_(mine, payment_refunds.c.reference.is_(None), payment_refunds.c.amount == amount)
    )
    for where in candidates:
        query = sa.select(payment_refunds.c.id).where(where)
        found = conn.execute(query.order_by(payment_refunds.c.created_at).limit(1)).scalar()
        if found is not None:
            _set(conn, str(found), "succeeded", event.refund_reference)
            return str(found)
    refund = Refund(new_id("re"), payment.id, amount, payment.currency, event.refund_reference,
                    "succeeded", (event.reason or "")[:500] or None, None, utcnow())  # fmt: skip
    conn.execute(payment_refunds.insert().values(**_row(refund)))
    return refund.id
