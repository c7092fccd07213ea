"""A payment's effect on its record, in the caller's transaction: `paid_online` set to the
net of the record's counted payments, written through the record store as the system (so
computed fields, rollups, automations, notifications and the audit log see it), then the
`paid` transition when nothing is open any more, or `reopened` when a refund opened an
amount again on a paid record.

The record row is locked before the payments are summed: two payments of one record settling
at once queue up, and the second sums what the first committed. A record that no longer
exists, or that refuses the value (a rule), raises `RecordRefused` with nothing of the write
kept; the caller flags the payment. A transition that is not available, or refused, is
skipped and said so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from ..data.errors import Forbidden, NotFound, ValidationFailed
from ..data.permissions import Actor
from ..data.system_tables import payments
from ..definition.fieldtypes.money import Money
from ..definition.model import Entity
from ..definition.payable_spec import PAID_ONLINE, Payable
from ..flow.workflow_apply import take
from ..flow.workflow_rules import find
from .journal import update, write_audit
from .payable import as_system, open_amount
from .records import COUNTED, Payment, in_units

if TYPE_CHECKING:
    from ..data.rows import Record
    from ..data.store import RecordStore


class RecordRefused(Exception):
    """The record cannot take the payment: gone, no longer payable, or refused by a rule."""


@dataclass(frozen=True, slots=True)
class Settled:
    """What settling did: `paid_online` now, the transition taken (or why none was)."""

    paid_online: Money
    transition: str | None = None
    note: str = ""


def settle(
    store: RecordStore,
    conn: sa.Connection,
    payment: Payment,
    actor: Actor,
    *,
    after: Literal["payment", "refund"],
    via: str,
) -> Settled:
    """Bring the payment's record up to date (see the module docstring); `actor` is the
    system actor the writes are made as."""
    entity = store.model.entities.get(payment.entity)
    if entity is None or entity.payable is None:
        raise RecordRefused(f"{payment.entity} is no longer payable")
    try:
        with conn.begin_nested():
            current, _ = store.locked(conn, actor, entity, payment.record_id, "update")
            value = Money(net_paid(conn, payment), payment.currency)
            if current.get(PAID_ONLINE) != value:
                changes = {PAID_ONLINE: value}
                store.update(actor, entity.name, payment.record_id, changes, conn=conn, via=via)
            record = as_system(store, conn, entity, payment.record_id)
    except NotFound:
        raise RecordRefused(f"{entity.name} #{payment.record_id} no longer exists") from None
    except (ValidationFailed, Forbidden) as exc:
        raise RecordRefused(f"{entity.name} #{payment.record_id} refused it: {exc}") from None
    name = _follow_up(store, entity, entity.payable, record, after)
    if name is None:
        return Settled(value)
    try:
        with conn.begin_nested():
            take(store, actor, entity.name, payment.record_id, name, conn=conn, via=via)
    except (Forbidden, ValidationFailed) as exc:
        reason = getattr(exc, "reason", "") or str(exc)
        return Settled(value, None, f"transition {name} not taken: {reason}")
    return Settled(value, name)


def settle_logged(
    store: RecordStore,
    conn: sa.Connection,
    payment: Payment,
    actor: Actor,
    *,
    after: Literal["payment", "refund"],
    action: str,
    detail: dict[str, Any],
) -> tuple[Payment, str | None]:
    """`settle` as the system (on behalf of `actor`, a person who acted) and write the
    audit entry `action` as `actor`; a record that refuses flags the payment (the entry is
    then `payment_flagged`). Returns the payment and the transition taken."""
    system = Actor.system(on_behalf_of=None if actor.is_system else actor.id, ip=actor.ip)
    transition = None
    try:
        settled = settle(store, conn, payment, system, after=after, via=f"payment {payment.id}")
        transition = settled.transition
        detail.update(paid_online=str(settled.paid_online), transition=transition)
        detail.update(note=settled.note or None)
    except RecordRefused as exc:
        payment = update(conn, payment, {"status": "flagged", "flag": str(exc)})
        action, detail["flag"] = "payment_flagged", str(exc)
    write_audit(store, conn, actor, action, payment, detail)
    return payment, transition


def net_paid(conn: sa.Connection, payment: Payment) -> Decimal:
    """The net of the counted payments of the payment's record in its currency (a handful of
    rows: summed here, exactly, on both databases)."""
    rows = conn.execute(
        sa.select(payments.c.amount, payments.c.refunded).where(
            payments.c.portal == payment.portal,
            payments.c.entity == payment.entity,
            payments.c.record_id == payment.record_id,
            payments.c.currency == payment.currency,
            payments.c.status.in_(sorted(COUNTED)),
        )
    )
    return in_units(sum((Decimal(a) - Decimal(r) for a, r in rows), Decimal(0)), payment.currency)


def _follow_up(
    store: RecordStore,
    entity: Entity,
    spec: Payable,
    record: Record,
    after: Literal["payment", "refund"],
) -> str | None:
    """The transition to take now: `paid` once nothing is open after a payment, `reopened`
    when a refund opened an amount on a record in `paid`'s target state; None when neither
    applies or the record is not in one of its source states."""
    left = open_amount(record, spec)
    if left is None:
        return None  # an amount that could not be computed decides nothing
    name = None
    if after == "payment" and left.amount <= 0:
        name = spec.paid
    elif after == "refund" and left.amount > 0 and spec.reopened is not None:
        name = spec.reopened
        if spec.paid is not None:
            paid_wf, paid = find(store.model, entity, spec.paid)
            if record.get(paid_wf.field) != paid.target:
                return None
    if name is None:
        return None
    wf, transition = find(store.model, entity, name)
    return name if record.get(wf.field) in transition.sources else None
