"""Applying a verified payment event exactly once, in one transaction.

The provider's `parse_event` has checked the signature and the timestamp. Then, in one
write transaction: the event id is stored (a replay — also one arriving at the same moment —
meets the unique key and is acknowledged as `duplicate`, changing nothing); the payment is
found by the id the provider echoes (or its checkout reference) among this portal's and this
provider's payments and its row locked (`unknown` when there is none); the rules of
`event_rules` decide; an applied or flagged event updates the payment, its refunds and —
through `settle`, as the system actor — its record, and writes one audit entry.

PostgreSQL: the second of two concurrent inserts of one event id waits for the first and
then fails on the unique key; the payment row is locked FOR UPDATE. SQLite: every write
transaction starts with BEGIN IMMEDIATE, so they run one after another.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

import sqlalchemy as sa

from ..data.db import begin_write
from ..data.permissions import Actor
from ..data.system_tables import payment_events, payments
from ..data.tables import utcnow
from .event_rules import Verdict, judge
from .journal import update, write_audit
from .provider import PaymentEvent
from .records import EventOutcome, EventResult, Payment, in_units, payment_of
from .refunds import refund_recorded, take_refund_event
from .settle import settle_logged

if TYPE_CHECKING:
    from ..data.store import RecordStore

#: Longest event id stored as it is; longer ones are stored by their SHA-256.
_MAX_EVENT_ID: Final = 200
#: Largest amount an event row stores (the money columns hold 14 digits before the point).
_MAX_AMOUNT: Final = Decimal(10) ** 14


class _Duplicate(Exception):
    """The event id is stored already: leave the transaction, changing nothing."""


def apply_event(store: RecordStore, provider: str, event: PaymentEvent) -> EventOutcome:
    """Apply a verified event that provider entry `provider` of the store's portal received
    (see the module docstring). Never raises for an event it cannot use: the outcome says."""
    slug = store.model.slug
    event = replace(event, occurred_at=_aware(event.occurred_at))
    try:
        with begin_write(store.engine) as conn:
            claim = _claim(conn, slug, provider, event)
            row = _locked_payment(conn, slug, provider, event)
            if row is None:
                _close(conn, claim, "unknown", None)
                return EventOutcome("unknown", note="no payment of this portal and provider")
            payment = payment_of(row)
            verdict = judge(payment, event)
            reference = event.refund_reference
            if event.kind == "refunded" and reference and refund_recorded(conn, payment, reference):
                verdict = Verdict("ignored", note=f"refund {reference} is recorded already")
            if verdict.result == "ignored":
                _close(conn, claim, "ignored", payment.id)
                return EventOutcome("ignored", payment.id, payment.status, note=verdict.note)
            outcome = _apply(store, conn, payment, event, verdict)
            _close(conn, claim, outcome.result, payment.id)
            return outcome
    except _Duplicate:
        return EventOutcome("duplicate", note=f"event {event.event_id} was received before")


def _claim(conn: sa.Connection, slug: str, provider: str, event: PaymentEvent) -> int:
    """Store the event id (in a savepoint: a duplicate leaves the transaction usable until
    it is rolled back); _Duplicate when it is stored already."""
    amount = event.amount
    storable = amount.is_finite() and abs(amount) < _MAX_AMOUNT
    try:
        with conn.begin_nested():
            result = conn.execute(
                payment_events.insert().values(
                    portal=slug,
                    provider=provider,
                    event_id=event_key(event.event_id),
                    kind=str(event.kind)[:20],
                    amount=amount.quantize(Decimal("0.0001")) if storable else Decimal(0),
                    currency=event.currency.upper()[:3],
                    occurred_at=event.occurred_at,
                    received_at=utcnow(),
                    outcome="received",
                )
            )
    except sa.exc.IntegrityError:
        raise _Duplicate from None
    key = result.inserted_primary_key
    assert key is not None and key[0] is not None  # every dialect returns it
    return int(key[0])


def event_key(event_id: str) -> str:
    """How an event id is stored: as it is, or by its SHA-256 when it is very long."""
    if len(event_id) <= _MAX_EVENT_ID:
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()


def _close(conn: sa.Connection, claim: int, result: EventResult, payment_id: str | None) -> None:
    conn.execute(
        payment_events.update()
        .where(payment_events.c.id == claim)
        .values(outcome=result, payment_id=payment_id)
    )


def _locked_payment(
    conn: sa.Connection, slug: str, provider: str, event: PaymentEvent
) -> sa.RowMapping | None:
    """This portal's and provider's payment the event is about, locked; None when there is
    none (or the event's checkout reference is another than the payment's)."""
    mine = sa.and_(payments.c.portal == slug, payments.c.provider == provider)
    if event.payment_id:
        where = sa.and_(mine, payments.c.id == event.payment_id[:40])
    elif event.reference:
        where = sa.and_(mine, payments.c.reference == event.reference)
    else:
        return None
    row = conn.execute(sa.select(payments).where(where).with_for_update()).mappings().first()
    if row is None or (event.reference and row["reference"] not in (None, event.reference)):
        return None
    return row


def _apply(
    store: RecordStore, conn: sa.Connection, payment: Payment, event: PaymentEvent, v: Verdict
) -> EventOutcome:
    """Write what the verdict says: the payment, a refund, the record, the audit entry."""
    was_counted = payment.counted
    values: dict[str, Any] = {"status": v.status}
    detail: dict[str, Any] = {"event": event.event_id, "kind": event.kind, "flag": v.flag}
    if v.result == "flagged":
        values["flag"] = v.flag
    else:
        values.update(_facts(payment, event))
    if v.result == "applied" and event.kind == "refunded":
        amount = in_units(event.amount, payment.currency)
        values["refunded"] = payment.refunded + amount
        detail["refund"] = take_refund_event(conn, payment, event)
        detail["refund_amount"] = f"{amount} {payment.currency}"
    payment = update(conn, payment, values)
    action = "payment_flagged" if v.result == "flagged" else f"payment_{event.kind}"
    system = Actor.system()
    if not (was_counted or payment.counted):  # paid_online stays as it is
        write_audit(store, conn, system, action, payment, detail)
        return EventOutcome(v.result, payment.id, payment.status)
    after: Literal["payment", "refund"] = "payment" if event.kind == "succeeded" else "refund"
    payment, transition = settle_logged(
        store, conn, payment, system, after=after, action=action, detail=detail
    )
    result: EventResult = "flagged" if payment.status == "flagged" else v.result
    return EventOutcome(result, payment.id, payment.status, transition)


def _facts(payment: Payment, event: PaymentEvent) -> dict[str, Any]:
    """What an applied event tells about the payment besides its status."""
    facts: dict[str, Any] = {}
    if payment.event_at is None or event.occurred_at > payment.event_at:
        facts["event_at"] = event.occurred_at
    if event.kind != "refunded":
        if event.transaction:
            facts["transaction"] = event.transaction[:255]
        if event.method:
            facts["method"] = event.method[:40]
        if event.kind in ("failed", "canceled"):
            facts["reason"] = (event.reason or "")[:500] or None
    if payment.reference is None and event.reference:
        facts["reference"] = event.reference[:255]
    return facts


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
