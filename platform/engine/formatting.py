"""Locale-aware formatting of dates, numbers and money (Babel), for pages and mail alike.

The runtime's pages (`portalis.runtime.i18n` re-exports these) and the engine's notification
mails format with the same functions, so a German reader sees `79,00 €` and `31.10.2026` in
both. Pure functions of (value, locale): the hot ones are memoized.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError, dates, numbers


@lru_cache(maxsize=64)
def babel_locale(locale: str) -> Locale:
    """Babel's locale for `de`, `pt-BR` (English for anything Babel does not know)."""
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse("en")


def format_date(value: date | None, locale: str, fmt: str = "medium") -> str:
    """A date in the locale's style (`24.11.2026`, `Nov 24, 2026`)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return _format_date(value, locale, fmt)


@lru_cache(maxsize=8192)
def _format_date(value: date, locale: str, fmt: str) -> str:
    # pure and hot on list pages: the same date in the same locale is formatted once
    return str(dates.format_date(value, format=fmt, locale=babel_locale(locale)))


def format_datetime(
    value: datetime | None, locale: str, tz: str = "UTC", fmt: str = "medium"
) -> str:
    """A timestamp in the locale's style and the given time zone."""
    if value is None:
        return ""
    return dates.format_datetime(
        value, format=fmt, tzinfo=dates.get_timezone(tz), locale=babel_locale(locale)
    )


def format_number(value: int | float | Decimal | None, locale: str) -> str:
    """A number with the locale's separators."""
    if value is None:
        return ""
    if type(value) is int:  # counts and ranges of every list page: memoized
        return _format_int(value, locale)
    return numbers.format_decimal(value, locale=babel_locale(locale))


@lru_cache(maxsize=4096)
def _format_int(value: int, locale: str) -> str:
    return numbers.format_decimal(value, locale=babel_locale(locale))


def format_fixed(value: int | float | Decimal | None, places: int, locale: str) -> str:
    """A number with exactly `places` decimals in the locale's style (`38,70`, `1,234.50`):
    a `decimal` field shows the places it stores, trailing zeros included."""
    if value is None:
        return ""
    return numbers.format_decimal(
        value, format=_fixed_pattern(locale, places), locale=babel_locale(locale)
    )


@lru_cache(maxsize=256)
def _fixed_pattern(locale: str, places: int) -> numbers.NumberPattern:
    """The locale's decimal pattern (its grouping: `1.234`, `12,34,567`) with `places`
    fraction digits, no fewer and no more."""
    base = numbers.parse_pattern(babel_locale(locale).decimal_formats[None].pattern)
    fixed = copy.copy(base)
    fixed.frac_prec = (places, places)
    return fixed


def format_money(amount: Decimal | None, currency: str, locale: str) -> str:
    """An amount with its currency in the locale's style (`129,00 €`, `€129.00`)."""
    if amount is None:
        return ""
    return numbers.format_currency(amount, currency, locale=babel_locale(locale))


def format_relative(value: datetime | None, now: datetime, locale: str) -> str:
    """`3 hours ago` in the locale's words."""
    if value is None:
        return ""
    return dates.format_timedelta(value - now, add_direction=True, locale=babel_locale(locale))
