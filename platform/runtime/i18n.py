"""Translations and locale-aware formatting (Babel).

UI strings come from the catalogs under `translations/` (English, German, French, Spanish);
definition labels carry their own texts. The locale is the user's profile locale, then the
browser's `Accept-Language`, then the portal's default — always one of the portal's locales.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from werkzeug.datastructures import LanguageAccept

# the formatting lives in the engine (notification mails use it too); pages import it from here
from portalis.engine.formatting import (
    _format_int,
    format_date,
    format_datetime,
    format_fixed,
    format_money,
    format_number,
    format_relative,
)

__all__ = [
    "I18n",
    "UI_LOCALES",
    "_format_int",
    "format_date",
    "format_datetime",
    "format_fixed",
    "format_money",
    "format_number",
    "format_relative",
    "select_locale",
]

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
