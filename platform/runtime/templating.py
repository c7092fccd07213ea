"""Jinja set-up of the runtime: translations, formatting filters and portal helpers.

Templates are compiled once per process (no auto-reload); a test asserts that serving a page
after warm-up compiles nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request
from markupsafe import Markup

from portalis.engine.definition.auth_config import AuthProvider
from portalis.engine.definition.values import Label

from .context import current_actor, state
from .i18n import format_date, format_datetime, format_money, format_number
from .security import CSRF_FIELD, csrf_token
from .urls import page_url, portal_url


def _locale() -> str:
    return str(g.get("locale") or "en")


def gettext(message: str, **params: Any) -> str:
    """Translate a UI string into the request's locale."""
    return state().i18n.gettext(_locale(), message, **params)


def pgettext(context: str, message: str, **params: Any) -> str:
    """Translate a UI string whose meaning its `context` tells (msgctxt)."""
    return state().i18n.pgettext(_locale(), context, message, **params)


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    """Translate a UI string with plural forms."""
    return state().i18n.ngettext(_locale(), singular, plural, n, **params)


def label(value: Label | None, fallback: str = "") -> str:
    """A definition label in the request's locale."""
    if value is None:
        return fallback
    portal = g.get("portal")
    default = portal.compiled.model.default_locale if portal is not None else "en"
    return value.get(_locale(), default) or fallback


def provider_label(entry: AuthProvider) -> str:
    """An auth provider entry's `label` in the request's locale, else its name."""
    raw = entry.options.get("label")
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping):
        default = str(raw.get("en") or next(iter(raw.values()), entry.name))
        return str(raw.get(_locale(), default))
    return entry.name


def csrf_input() -> Markup:
    """The hidden CSRF field for forms (Flask-WTF's signed token of this session)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token())


def navigation() -> list[dict[str, Any]]:
    """Navigation entries the actor may open."""
    portal = g.get("portal")
    if portal is None:
        return []
    actor = current_actor()
    model = portal.compiled.model
    items = []
    for name in model.navigation:
        page = model.pages[name]
        if page.roles & actor.roles:
            items.append(
                {
                    "name": name,
                    "title": label(page.title, name),
                    "url": page_url(name),
                    "current": False,
                }
            )
    # the current entry is the one whose URL is the longest prefix of this path
    # (the home page only counts when it is the page itself)
    path = request.path.rstrip("/") or "/"
    home = portal_url("/").rstrip("/") or "/"

    def matches(url: str) -> bool:
        url = url.rstrip("/") or "/"
        return path == url or (url != home and path.startswith(url + "/"))

    candidates = [item for item in items if matches(str(item["url"]))]
    if candidates:
        max(candidates, key=lambda item: len(str(item["url"])))["current"] = True
    return items


def configure_jinja(app: Flask) -> None:
    """Install translation callables, filters and globals."""
    env = app.jinja_env
    env.auto_reload = False
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True, pgettext=pgettext
    )
    env.globals.update(
        label=label,
        provider_label=provider_label,
        csrf_input=csrf_input,
        purl=portal_url,
        page_url=page_url,
        navigation=navigation,
        actor=current_actor,
        locale=_locale,
    )
    env.filters.update(
        date=lambda v, fmt="medium": format_date(v, _locale(), fmt),
        datetime=lambda v, fmt="medium": format_datetime(v, _locale(), fmt=fmt),
        number=lambda v: format_number(v, _locale()),
        money=lambda v, cur="EUR": format_money(v, cur, _locale()),
    )
