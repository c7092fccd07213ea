"""Telling the portal what happened: the signed event of a finished checkout, and the
settlement of "settle later" payments.

Settling is durable: the choice stores the checkout as `pending` with its `settle_at`, and
whoever comes first after that time settles it — the timer the choice started in its process
(punctual while the process lives), or the sweep at the start of every later request to the
hosted page (after a restart, or when another worker took the choice). The conditional update
of `store.settle` lets exactly one of them send the `succeeded` event. A timer alone would
lose the settlement with its process; a sweep alone would wait for a visitor.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from urllib.parse import urljoin

import sqlalchemy as sa

from portalis.api import PaymentEventKind, utcnow

from . import store
from .delivery import Deliveries
from .events import event_body

#: The timer fires this much after the settlement time (clocks of the timer and the
#: database's comparison agree, but not to the microsecond).
TIMER_MARGIN_SECONDS = 0.2


def announce(
    engine: sa.Engine,
    deliveries: Deliveries,
    row: store.CheckoutRow,
    kind: PaymentEventKind,
    origin: str,
    at: datetime | None = None,
) -> None:
    """Send the `kind` event of `row` to its events URL (a path is taken on `origin`, this
    server) in the background."""
    with engine.connect() as conn:
        secret = store.signing_key(conn, row.key_id)
    if secret is None:  # the key row is written before its checkouts: never happens
        raise LookupError(f"no signing key for checkout {row.id}")
    event = row.event(kind, at or row.updated_at)
    deliveries.send(urljoin(origin, row.events_url), secret, event_body(event), event.event_id)


def settle_due(engine: sa.Engine, deliveries: Deliveries, origin: str) -> int:
    """Settle every pending checkout whose time has come and announce it; how many this
    call settled."""
    now = utcnow()
    settled = 0
    for checkout_id in store.due_settlements(engine, now):
        row = store.settle(engine, checkout_id, now)
        if row is not None:
            announce(engine, deliveries, row, "succeeded", origin)
            settled += 1
    return settled


def settle_later(
    engine: sa.Engine, deliveries: Deliveries, row: store.CheckoutRow, origin: str
) -> None:
    """Start the timer that settles the pending `row` on time."""
    if row.settle_at is None:
        return
    delay = max(0.0, (row.settle_at - utcnow()).total_seconds()) + TIMER_MARGIN_SECONDS
    deliveries.later(delay, partial(settle_due, engine, deliveries, origin))
