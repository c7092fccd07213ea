"""Jinja set-up of the runtime: translations, formatting filters and portal helpers.

Templates are compiled once per process (no auto-reload); a test asserts that serving a page
after warm-up compiles nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, g, request
from markupsafe import Markup, escape

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
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf_token())}">')


def navigation() -> list[dict[str, Any]]:
    """Navigation entries the actor may open, the current one marked."""
    portal = g.get("portal")
    if portal is None:
        return []
    entries = nav_entries(portal.cache, current_actor().roles)
    current = current_nav(entries)
    return [
        {"name": name, "title": title, "url": url, "current": i == current}
        for i, (name, title, url) in enumerate(entries)
    ]


def nav_entries(cache: dict[Any, Any], roles: frozenset[str]) -> tuple[tuple[str, str, str], ...]:
    """(name, title, url) of the navigation entries `roles` may open, in this request's
    locale and URL prefix; built once per portal version and kept in its `cache`."""
    key = ("nav", _locale(), g.get("portal_prefix"), roles)
    found: tuple[tuple[str, str, str], ...] | None = cache.get(key)
    if found is None:
        model = g.portal.compiled.model
        found = tuple(
            (name, label(model.pages[name].title, name), page_url(name))
            for name in model.navigation
            if model.pages[name].roles & roles
        )
        cache[key] = found
    return found


def current_nav(entries: tuple[tuple[str, str, str], ...]) -> int | None:
    """The index of the current entry: the one whose URL is the longest prefix of this
    request's path (the home page only counts when it is the page itself)."""
    return _current_nav(tuple(url for _, _, url in entries), request.path, portal_url("/"))


@lru_cache(maxsize=4096)
def _current_nav(urls: tuple[str, ...], path: str, home_url: str) -> int | None:
    path = path.rstrip("/") or "/"
    home = home_url.rstrip("/") or "/"
    best: int | None = None
    for i, raw in enumerate(urls):
        url = raw.rstrip("/") or "/"
        if (path == url or (url != home and path.startswith(url + "/"))) and (
            best is None or len(raw) > len(urls[best])
        ):
            best = i
    return best


#: `app.extensions` key of an application's page overlay: a callable giving markup shown at
#: the top of every page (the builder's preview banner sets one on its inner applications).
OVERLAY = "portalis-overlay"


def portal_overlay() -> Markup:
    """The application's page overlay (empty when it has none)."""
    render = current_app.extensions.get(OVERLAY)
    return Markup(render()) if render is not None else Markup("")


def initial(who: str | None) -> str:
    """The letter of a user's avatar."""
    return (who or "?")[:1].upper()


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
        initial=initial,
        portal_overlay=portal_overlay,
        actor=current_actor,
        locale=_locale,
    )
    env.filters.update(
        date=lambda v, fmt="medium": format_date(v, _locale(), fmt),
        datetime=lambda v, fmt="medium": format_datetime(v, _locale(), fmt=fmt),
        number=lambda v: format_number(v, _locale()),
        money=lambda v, cur="EUR": format_money(v, cur, _locale()),
    )
