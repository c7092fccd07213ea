"""Money aggregates converted into one reporting currency with the portal's dated rates.

A rate row says: from its day on, one unit of its currency is worth `rate` units of the base
currency (`ExchangeRates.base`, worth 1). An amount in C becomes `amount × rate(C) / rate(T)`
in the target T, with the latest rate of each currency valid on or before the day that
matters: the first day of a time bucket, else `today`. Each currency's part is converted in
exact Decimal arithmetic and the group's figure rounded half-even once, to the target's minor
units. A currency without a rate on that day is reported (`MissingRate`) and the group's figure
is None: never a total that silently leaves an amount out.

The rates are read through the same policy as every record (one SELECT for all currencies
and days), so a reader who may not read the rate entity gets notes, not rates.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..definition.exchange_rates import ExchangeRates
from ..definition.fieldtypes.money import Money
from .aggregates import EXACT, Part, decimal, rounded
from .permissions import Actor
from .query import RecordQuery


@dataclass(frozen=True, slots=True, order=True)
class MissingRate:
    """No rate for `currency` on `day` (or the rate may not be read)."""

    currency: str
    day: date


@dataclass(slots=True)
class RateBook:
    """The rates of some currencies up to some day, by currency, in date order."""

    base: str
    rates: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)

    def rate(self, currency: str, day: date) -> Decimal | None:
        """Units of the base currency one unit of `currency` is worth on `day`."""
        if currency == self.base:
            return Decimal(1)
        history = self.rates.get(currency) or []
        index = bisect.bisect_right(history, day, key=lambda entry: entry[0])
        return history[index - 1][1] if index else None


@dataclass(frozen=True, slots=True)
class Converted:
    """(group, Money or None) rows in the target currency, and the rates that were missing."""

    rows: list[tuple[Any, Money | None]]
    missing: tuple[MissingRate, ...]


def rates_select(
    query: RecordQuery,
    actor: Actor,
    declared: ExchangeRates,
    currencies: Iterable[str],
    until: date,
) -> sa.Select[Any] | None:
    """(currency, day, rate) rows of the wanted currencies valid by `until`, oldest first;
    None when the actor may read no rate."""
    entity = query.model.entities[declared.entity]
    where = query.where(actor, entity, None, None, None, None)
    mask = query.policy.field_mask(actor, entity.name, "read")
    names = (declared.currency, declared.date, declared.rate)
    if where is None or not set(names) <= mask:
        return None
    table = query.tables[entity.name]
    code, day, rate = (
        query._where_readable(actor, entity, n, table.c[entity.fields[n].columns[0]]) for n in names
    )
    return (
        sa.select(code, day, rate)
        .where(where, code.in_(sorted(set(currencies))), day <= until, rate.is_not(None))
        .order_by(code, day)
    )


def rate_book(base: str, rows: Iterable[Any]) -> RateBook:
    """The rates read by `rates_select`."""
    book = RateBook(base)
    for code, day, rate in rows:
        # a zero or negative rate is no rate: converting with it would divide by zero or flip
        if code is not None and day is not None and rate is not None and decimal(rate) > 0:
            book.rates.setdefault(str(code).upper(), []).append((day, decimal(rate)))
    return book


def convert(
    parts: list[Part],
    function: str,
    target: str,
    book: RateBook,
    day_of: Callable[[Any], date],
) -> Converted:
    """The parts (one per group and currency) as one figure per group in `target`."""
    groups: dict[Any, list[Part]] = {}
    for part in parts:
        if part.currency is not None:
            groups.setdefault(part.group, []).append(part)
    missing: set[MissingRate] = set()
    rows: list[tuple[Any, Money | None]] = []
    for group, members in groups.items():
        day = day_of(group)
        into = book.rate(target, day)
        values: list[Decimal] = []
        for part in members:
            rate = book.rate(str(part.currency), day) if part.currency != target else None
            if part.currency != target and (rate is None or into is None):
                missing.add(MissingRate(str(part.currency) if rate is None else target, day))
                continue
            amount = decimal(part.value) if part.value is not None else Decimal(0)
            factor = EXACT.divide(rate, into) if rate is not None and into else Decimal(1)
            values.append(EXACT.multiply(amount, factor))
        if len(values) < len(members):
            rows.append((group, None))
        else:
            rows.append(
                (group, Money(rounded(_combine(function, values, members), target), target))
            )
    return Converted(rows, tuple(sorted(missing)))


def _combine(function: str, values: list[Decimal], parts: list[Part]) -> Decimal:
    if function == "min":
        return min(values)
    if function == "max":
        return max(values)
    total = sum(values, Decimal(0))
    if function == "avg":
        return EXACT.divide(total, Decimal(sum(p.count for p in parts)))
    return total
