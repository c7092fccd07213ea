"""Translations and locale-aware formatting (Babel).

UI strings come from the catalogs under `translations/` (English, German, French, Spanish);
definition labels carry their own texts. The locale is the user's profile locale, then the
browser's `Accept-Language`, then the portal's default — always one of the portal's locales.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError, dates, numbers
from babel.support import NullTranslations, Translations
from werkzeug.datastructures import LanguageAccept

#: Locales the UI catalogs cover.
UI_LOCALES = ("en", "de", "fr", "es")
TRANSLATIONS_DIR = Path(__file__).parent / "translations"


class I18n:
    """UI catalogs, loaded once per application."""

    def __init__(self, directory: Path = TRANSLATIONS_DIR) -> None:
        self._catalogs: dict[str, NullTranslations] = {}
        for locale in UI_LOCALES:
            loaded = Translations.load(str(directory), [locale], domain="messages")
            self._catalogs[locale] = loaded

    def catalog(self, locale: str) -> NullTranslations:
        """The catalog for `locale` (English/identity for unknown locales)."""
        return self._catalogs.get(locale.split("-")[0], self._catalogs["en"])

    def gettext(self, locale: str, message: str, **params: Any) -> str:
        """Translate `message` and fill `%(name)s` parameters."""
        text = self.catalog(locale).gettext(message)
        return text % params if params else text

    def pgettext(self, locale: str, context: str, message: str, **params: Any) -> str:
        """Translate `message` in `context` (one English word, two meanings: "Open" the
        button and "Open" the state) and fill `%(name)s` parameters."""
        text = str(self.catalog(locale).pgettext(context, message))
        return text % params if params else text

    def ngettext(self, locale: str, singular: str, plural: str, n: int, **params: Any) -> str:
        """Translate with plural forms; `num` is available as a parameter."""
        text = self.catalog(locale).ngettext(singular, plural, n)
        return text % {"num": n, **params}


def select_locale(
    portal_locales: Iterable[str], user_locale: str | None, accept: LanguageAccept | None
) -> str:
    """Profile locale, then Accept-Language, then the portal default."""
    available = list(portal_locales)
    if user_locale and user_locale in available:
        return user_locale
    if accept is not None:
        # in the browser's order of preference: es-MX before en;q=0.1 means Spanish
        for value, _quality in accept:
            if value in available:
                return value
            base = value.split("-")[0].lower()
            if base in available:
                return base
    return available[0]


@lru_cache(maxsize=64)
def _babel_locale(locale: str) -> Locale:
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
    return str(dates.format_date(value, format=fmt, locale=_babel_locale(locale)))


def format_datetime(
    value: datetime | None, locale: str, tz: str = "UTC", fmt: str = "medium"
) -> str:
    """A timestamp in the locale's style and the given time zone."""
    if value is None:
        return ""
    return dates.format_datetime(
        value, format=fmt, tzinfo=dates.get_timezone(tz), locale=_babel_locale(locale)
    )


def format_number(value: int | float | Decimal | None, locale: str) -> str:
    """A number with the locale's separators."""
    if value is None:
        return ""
    if type(value) is int:  # counts and ranges of every list page: memoized
        return _format_int(value, locale)
    return numbers.format_decimal(value, locale=_babel_locale(locale))


@lru_cache(maxsize=4096)
def _format_int(value: int, locale: str) -> str:
    return numbers.format_decimal(value, locale=_babel_locale(locale))


def format_fixed(value: int | float | Decimal | None, places: int, locale: str) -> str:
    """A number with exactly `places` decimals in the locale's style (`38,70`, `1,234.50`):
    a `decimal` field shows the places it stores, trailing zeros included."""
    if value is None:
        return ""
    return numbers.format_decimal(
        value, format=_fixed_pattern(locale, places), locale=_babel_locale(locale)
    )


@lru_cache(maxsize=256)
def _fixed_pattern(locale: str, places: int) -> numbers.NumberPattern:
    """The locale's decimal pattern (its grouping: `1.234`, `12,34,567`) with `places`
    fraction digits, no fewer and no more."""
    base = numbers.parse_pattern(_babel_locale(locale).decimal_formats[None].pattern)
    fixed = copy.copy(base)
    fixed.frac_prec = (places, places)
    return fixed


def format_money(amount: Decimal | None, currency: str, locale: str) -> str:
    """An amount with its currency in the locale's style (`129,00 €`, `€129.00`)."""
    if amount is None:
        return ""
    return numbers.format_currency(amount, currency, locale=_babel_locale(locale))


def format_relative(value: datetime | None, now: datetime, locale: str) -> str:
    """`3 hours ago` in the locale's words."""
    if value is None:
        return ""
    return dates.format_timedelta(value - now, add_direction=True, locale=_babel_locale(locale))
