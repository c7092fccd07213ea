"""What a portal took in online per day: the amounts of payments that succeeded on each day,
by payment method and currency (the admin page's chart "Payments per day and method").

A payment counts on the day its `succeeded` event happened (the provider's `occurred_at`,
by its UTC day) — not the day it started: a bank debit may succeed days later. It counts
while the money is the portal's (succeeded, partly or wholly refunded: the amount that was
paid, before refunds); a payment flagged afterwards does not. One grouped query: a payment
has at most one applied `succeeded` event (a second one is ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from portalis.engine.data.system_tables import payment_events, payments
from portalis.engine.data.time_buckets import bucket_day, bucket_sql
from portalis.engine.payments.records import COUNTED


@dataclass(frozen=True, slots=True)
class DayAmount:
    """The amount that succeeded on one day with one method in one currency (`method` ""
    when the provider named none)."""

    day: date
    method: str
    currency: str
    amount: Decimal


def day_range(last: date, days: int) -> list[date]:
    """The `days` days up to and including `last`, oldest first."""
    return [last - timedelta(days=n) for n in range(days - 1, -1, -1)]


def succeeded_per_day(conn: sa.Connection, slug: str, first: date, last: date) -> list[DayAmount]:
    """The portal's succeeded amounts per UTC day from `first` to `last` (both included), by
    method and currency, ordered by day, currency and method."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    day = bucket_sql(conn.dialect.name, "day", payment_events.c.occurred_at, "datetime")
    query = (
        sa.select(day, payments.c.method, payments.c.currency, sa.func.sum(payments.c.amount))
        .select_from(payment_events.join(payments, payments.c.id == payment_events.c.payment_id))
        .where(
            payment_events.c.portal == slug,
            payment_events.c.kind == "succeeded",
            payment_events.c.outcome == "applied",
            payment_events.c.occurred_at >= start,
            payment_events.c.occurred_at < end,
            payments.c.portal == slug,
            payments.c.status.in_(sorted(COUNTED)),
        )
        .group_by(day, payments.c.method, payments.c.currency)
    )
    found = []
    for when, how, currency, amount in conn.execute(query):
        moment = bucket_day(when)
        if moment is not None:
            found.append(DayAmount(moment, how or "", str(currency), Decimal(amount or 0)))
    return sorted(found, key=lambda d: (d.day, d.currency, d.method))
