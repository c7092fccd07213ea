"""The admin payments page's chart "Payments per day and method": for each currency, the
amounts that succeeded on each of the last 30 days (UTC), one series per payment method,
drawn like the metrics block's charts (pygal SVG without scripts, a wide and a narrow
drawing) and given as a table too — the chart's accessible alternative.

Amounts are never added across currencies: each currency has its own chart and table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.dates import format_skeleton

from portalis.engine.definition.fieldtypes.money import Money

from ..blocks.metric_charts import ChartImages, Series, cached_images, chart_svg
from ..blocks.metric_figures import figure_text, money_writer
from ..context import state
from ..i18n import format_date
from ..payments.daily import DayAmount, day_range, succeeded_per_day
from ..payments.labels import method_label
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..templating import gettext

#: How many days the chart shows, today included.
DAYS = 30
#: At most this many day labels on the wide drawing (every third day of 30).
DAY_LABELS = 10


@dataclass(frozen=True, slots=True)
class CurrencyChart:
    """One currency's chart and its figures: a row per day that took payments (day, an
    amount per method, the day's total), and the total of the period."""

    currency: str
    methods: list[str]
    rows: list[tuple[str, list[str], str]]
    total: str
    chart: ChartImages

    @property
    def summary(self) -> str:
        """The chart in one line, for its text alternative."""
        days = "; ".join(f"{day}: {total}" for day, _, total in self.rows)
        return gettext("%(total)s in all", total=self.total) + (f" — {days}" if days else "")


def method_name(method: str) -> str:
    """A payment method as people read it, also when the provider named none."""
    return method_label(method) or gettext("Unknown method")


def daily_charts(portal: RuntimePortal, locale: str, today: date) -> list[CurrencyChart]:
    """A chart per currency of what succeeded in the `DAYS` days up to `today`, by method;
    none when nothing succeeded."""
    days = day_range(today, DAYS)
    with read_connection(state().engine) as conn:
        found = succeeded_per_day(conn, portal.slug, days[0], days[-1])
    return [
        _chart(portal, locale, currency, days, [f for f in found if f.currency == currency])
        for currency in sorted({f.currency for f in found})
    ]


def _chart(
    portal: RuntimePortal, locale: str, currency: str, days: list[date], found: list[DayAmount]
) -> CurrencyChart:
    methods = sorted({f.method for f in found}, key=lambda m: (m == "", m))
    cells = {(f.day, f.method): f.amount for f in found}

    def money(amount: Decimal) -> str:
        return figure_text(Money(amount, currency), locale)

    rows = []
    for day in days:
        amounts = [cells.get((day, m), Decimal(0)) for m in methods]
        if any(amounts):
            total = money(sum(amounts, Decimal(0)))
            rows.append((format_date(day, locale), [money(a) for a in amounts], total))
    names = [method_name(m) for m in methods]
    labels = [str(format_skeleton("MMMd", day, locale=locale)) for day in days]
    writer = money_writer(currency, locale)
    series = [
        # a day without payments of a method has no bar (and no "€0.00" printed on it)
        Series(name, tuple(_plotted(cells.get((day, m))) for day in days), writer)
        for name, m in zip(names, methods)
    ]
    title = gettext("Payments per day and method (%(currency)s)", currency=currency)
    drawn = tuple((s.name, s.values) for s in series)
    key = ("admin_payments", locale, currency, tuple(labels), drawn)
    theme = portal.compiled.model.theme
    chart = cached_images(
        portal.cache,
        key,
        lambda narrow: chart_svg(
            "bar",
            title,
            labels,
            series,
            theme,
            narrow=narrow,
            number=writer,
            most_x_labels=DAY_LABELS,
        ),  # fmt: skip
    )
    total = money(sum(cells.values(), Decimal(0)))
    return CurrencyChart(currency, names, rows, total, chart)


def _plotted(amount: Decimal | None) -> float | None:
    return float(amount) if amount else None
