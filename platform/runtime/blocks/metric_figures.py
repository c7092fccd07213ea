"""The figures of one metric, laid out for a card, a table and a chart: groups (values of a
field or time buckets) by series (one per currency for money, else one), and how each figure
and each bucket is written in the reader's locale."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_skeleton

from portalis.engine.data.time_buckets import bucket_range
from portalis.engine.definition.fieldtypes.money import Money

from ..i18n import format_date, format_datetime, format_money, format_number
from ..templating import gettext

#: Written where a figure is unknown (no value, or no exchange rate).
NO_VALUE = "–"
#: Empty periods are filled in up to this many periods in all (about three years of days).
MAX_BUCKETS = 1100
#: Between the figures of several currencies.
SEPARATOR = " · "
#: CLDR skeletons of bucket labels: "Jan 2026" (en), "Jan. 2026" (de), "Q1 2026", "2026".
_SKELETONS = {"day": "yMMMd", "month": "yMMM", "quarter": "yQQQ", "year": "y"}


@dataclass(slots=True)
class Figures:
    """Values by (group, series) in group order; `series` are currency codes for money
    (in code order), else the single series ""."""

    groups: list[Any] = field(default_factory=list)
    series: list[str] = field(default_factory=list)
    cells: dict[tuple[Any, str], Any] = field(default_factory=dict)

    def value(self, group: Any, series: str) -> Any:
        """The value of one cell (None when the group has none in that series)."""
        return self.cells.get((group, series))

    def totals(self) -> list[Any]:
        """Per series, the sum of its groups (None when one of them is unknown)."""
        out = []
        for name in self.series:
            values = [self.cells[(g, name)] for g in self.groups if (g, name) in self.cells]
            out.append(None if None in values else _add(values, name))
        return out


def collect(rows: Iterable[tuple[Any, Any]], currency: str = "") -> Figures:
    """Figures from (group, value) rows; a Money value goes to the series of its currency,
    an unknown one (None) to `currency`'s (the reporting currency of a converted metric)."""
    figures = Figures()
    seen: set[Any] = set()
    currencies: set[str] = set()
    for group, value in rows:
        if group not in seen:
            seen.add(group)
            figures.groups.append(group)
        name = value.currency if isinstance(value, Money) else currency
        currencies.add(name)
        figures.cells[(group, name)] = value
    figures.series = sorted(currencies) or [""]
    return figures


def fill_buckets(figures: Figures, bucket: str, zero: bool) -> None:
    """Every bucket from the first to the last; new ones hold 0 (`zero`) or nothing."""
    days = [g for g in figures.groups if isinstance(g, date)]
    if not days:
        return
    full = bucket_range(min(days), max(days), bucket, MAX_BUCKETS)
    if full[-1] < max(days):  # too many periods to list every empty one: show those with data
        return
    rest = [g for g in figures.groups if not isinstance(g, date)]
    for day in full:
        for name in figures.series:
            if zero and (day, name) not in figures.cells:
                figures.cells[(day, name)] = Money(Decimal(0), name) if name else 0
    figures.groups = [*full, *rest]


def _add(values: list[Any], currency: str) -> Any:
    if currency:
        return Money(sum((v.amount for v in values), Decimal(0)), currency)
    return sum(values, 0)


def bucket_label(day: date, bucket: str, locale: str) -> str:
    """A time bucket as the locale writes it: "Jan 2026" / "Jan. 2026", "Q1 2026"."""
    if bucket == "week":
        return gettext("week of %(day)s", day=format_skeleton("yMMMd", day, locale=locale))
    return str(format_skeleton(_SKELETONS[bucket], day, locale=locale))


def figure_text(value: Any, locale: str) -> str:
    """One figure in the locale's style: a count, a number, an amount, a date or a time."""
    if value is None:
        return NO_VALUE
    if isinstance(value, Money):
        return format_money(value.amount, value.currency, locale)
    if isinstance(value, datetime):
        return format_datetime(value, locale)
    if isinstance(value, date):
        return format_date(value, locale)
    if isinstance(value, Decimal) and value == value.to_integral():
        return format_number(int(value), locale)
    return format_number(value, locale)


def joined(values: Iterable[Any], locale: str) -> str:
    """Several figures (one per currency) on one line: "1.204,50 € · 310,00 $"."""
    texts = [figure_text(v, locale) for v in values]
    return SEPARATOR.join(texts) if texts else NO_VALUE


def plotted(value: Any) -> float | None:
    """A figure as the chart's number (display only: the table keeps the exact text)."""
    if value is None or isinstance(value, (date, datetime)):
        return None
    return float(value.amount if isinstance(value, Money) else value)


def money_writer(currency: str, locale: str) -> Callable[[float], str]:
    """How a chart writes a plotted amount of `currency` ("€1,000.00")."""

    def write(value: float) -> str:
        return figure_text(Money(Decimal(repr(value)), currency), locale)

    return write
