"""Reads and writes of the sandbox's checkouts and keys (each write one transaction).

A checkout changes state by conditional updates (`… WHERE status IN (…)`): of two requests
that finish the same checkout — a double click, two tabs, two workers sweeping the same
settlement — exactly one changes it and sends the event; the other sees it finished.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from portalis.api import CheckoutRequest, PaymentEventKind, begin_write

from .events import EventData
from .tables import OPEN_STATUSES, checkouts, keys


def new_id(prefix: str) -> str:
    """A random id (`cs_…`, `tr_…`, `re_…`): 128 bits, URL-safe."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def aware(moment: datetime) -> datetime:
    """`moment` in UTC (SQLite gives back what was stored without its zone: UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class CheckoutRow:
    """One checkout as stored."""

    id: str
    portal: str
    payment_id: str
    key_id: str
    amount: Decimal
    currency: str
    description: str
    return_url: str
    events_url: str
    locale: str
    status: str
    transaction: str | None
    method: str | None
    reason: str | None
    refunded: Decimal
    settle_after: int
    settle_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> CheckoutRow:
        """The checkout of a result row."""
        values = dict(row)
        for key in ("settle_at", "created_at", "updated_at"):
            if values[key] is not None:
                values[key] = aware(values[key])
        return cls(**values)

    @property
    def is_open(self) -> bool:
        """True while the payer may still choose."""
        return self.status in OPEN_STATUSES

    def event(self, kind: PaymentEventKind, created: datetime) -> EventData:
        """The event that reports this checkout as `kind`. Its id is fixed per checkout and
        kind: a retried or repeated delivery is the same event, which the core stores once."""
        return EventData(
            event_id=f"evt_{self.id.removeprefix('cs_')}_{kind}",
            kind=kind,
            created=int(created.timestamp()),
            payment_id=self.payment_id,
            checkout=self.id,
            amount=self.amount,
            currency=self.currency,
            method=self.method,
            transaction=self.transaction,
            reason=self.reason,
        )


def ensure_key(engine: sa.Engine, key_id: str, secret: str, now: datetime) -> None:
    """Keep `secret` under `key_id` (once; a concurrent first insert wins, the same row)."""
    with engine.connect() as conn:
        if conn.execute(sa.select(keys.c.key_id).where(keys.c.key_id == key_id)).first():
            return
    try:
        with begin_write(engine) as conn:
            conn.execute(keys.insert().values(key_id=key_id, secret=secret, created_at=now))
    except sa.exc.IntegrityError:
        pass  # inserted by a concurrent checkout: the same secret under the same id


def signing_key(conn: sa.Connection, key_id: str) -> str | None:
    """The secret stored under `key_id`."""
    found = conn.execute(sa.select(keys.c.secret).where(keys.c.key_id == key_id)).scalar()
    return None if found is None else str(found)


def insert_checkout(
    engine: sa.Engine, key_id: str, request: CheckoutRequest, settle_after: int, now: datetime
) -> CheckoutRow:
    """A new open checkout for `request` (a "settle later" choice settles `settle_after`
    seconds after it is made)."""
    values = {
        "id": new_id("cs"),
        "portal": request.portal,
        "payment_id": request.payment_id,
        "key_id": key_id,
        "amount": request.amount,
        "currency": request.currency,
        "description": request.description,
        "return_url": request.return_url,
        "events_url": request.events_url,
        "locale": request.locale or "en",
        "status": "open",
        "transaction": None,
        "method": None,
        "reason": None,
        "refunded": Decimal(0),
        "settle_after": settle_after,
        "settle_at": None,
        "created_at": now,
        "updated_at": now,
    }
    with begin_write(engine) as conn:
        conn.execute(checkouts.insert().values(**values))
    return CheckoutRow.of(values)


def load(conn: sa.Connection, checkout_id: str) -> CheckoutRow | None:
    """The checkout `checkout_id`, or None."""
    row = conn.execute(sa.select(checkouts).where(checkouts.c.id == checkout_id)).mappings().first()
    return None if row is None else CheckoutRow.of(row)


def _change(
    conn: sa.Connection, checkout_id: str, from_statuses: Iterable[str], **values: Any
) -> CheckoutRow | None:
    """Set `values` on the checkout if its status is one of `from_statuses`; the changed
    checkout, or None when it was not (any more) in one of them."""
    done = conn.execute(
        checkouts.update()
        .where(checkouts.c.id == checkout_id, checkouts.c.status.in_(tuple(from_statuses)))
        .values(**values)
    )
    return load(conn, checkout_id) if done.rowcount == 1 else None


def start_verification(engine: sa.Engine, checkout_id: str, now: datetime) -> bool:
    """Show the code step of an open checkout; False when it is finished."""
    with begin_write(engine) as conn:
        changed = _change(conn, checkout_id, OPEN_STATUSES, status="verifying", updated_at=now)
    return changed is not None


def decide(
    engine: sa.Engine,
    checkout_id: str,
    status: str,
    now: datetime,
    *,
    method: str | None = None,
    reason: str | None = None,
) -> CheckoutRow | None:
    """Finish an open checkout as `status` (`pending` settles the checkout's
    `settle_after` seconds from now); an approval gets its transaction id. None when it was
    finished already."""
    approved = status in ("succeeded", "pending")
    values: dict[str, Any] = {
        "status": status,
        "method": method,
        "reason": reason,
        "transaction": new_id("tr") if approved else None,
        "updated_at": now,
    }
    with begin_write(engine) as conn:
        if status == "pending":
            current = load(conn, checkout_id)
            if current is None:
                return None
            values["settle_at"] = now + timedelta(seconds=current.settle_after)
        return _change(conn, checkout_id, OPEN_STATUSES, **values)


def due_settlements(engine: sa.Engine, now: datetime) -> list[str]:
    """Ids of pending checkouts whose settlement time has come (an indexed look-up)."""
    query = sa.select(checkouts.c.id).where(
        checkouts.c.status == "pending", checkouts.c.settle_at <= now
    )
    with engine.connect() as conn:
        return [
            str(found) for found in conn.execute(query.order_by(checkouts.c.settle_at)).scalars()
        ]


def settle(engine: sa.Engine, checkout_id: str, now: datetime) -> CheckoutRow | None:
    """Turn a due pending checkout into a succeeded one; None when another request or
    process settled it first (or it is not due)."""
    with begin_write(engine) as conn:
        done = conn.execute(
            checkouts.update()
            .where(
                checkouts.c.id == checkout_id,
                checkouts.c.status == "pending",
                checkouts.c.settle_at <= now,
            )
            .values(status="succeeded", updated_at=now)
        )
        return load(conn, checkout_id) if done.rowcount == 1 else None


def since(engine: sa.Engine, key_id: str, moment: datetime) -> list[CheckoutRow]:
    """The checkouts of `key_id` created at or after `moment`, oldest first."""
    query = (
        sa.select(checkouts)
        .where(checkouts.c.key_id == key_id, checkouts.c.created_at >= moment)
        .order_by(checkouts.c.created_at, checkouts.c.id)
    )
    with engine.connect() as conn:
        return [CheckoutRow.of(row) for row in conn.execute(query).mappings()]
