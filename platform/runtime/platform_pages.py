"""What the views of a platform-level blueprint (`portalis_platform_blueprints`) need that a
portal request gets from the dispatcher: the UI language of the page.

A platform page belongs to no portal, so no portal's locales bound its language: it is one
of the UI catalogs' (`UI_LOCALES`).
"""

from __future__ import annotations

from flask import g, request

from .i18n import UI_LOCALES, select_locale


def use_locale(preferred: str | None = None) -> str:
    """Choose the UI language of this platform-level request and return it: `preferred`
    (`de`, `de-CH`) when the UI catalogs cover it, else the browser's `Accept-Language`,
    else English. Templates (`_()`, the `money` and `date` filters) then use it."""
    wanted = (preferred or "").replace("_", "-").split("-")[0].lower() or None
    g.locale = select_locale(UI_LOCALES, wanted, request.accept_languages)
    return str(g.locale)
