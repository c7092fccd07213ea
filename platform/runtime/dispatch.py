"""The dispatcher: the one Flask view behind every portal mount.

It finds the portal (by host name or first path segment), matches the rest of the path in the
portal's per-version Werkzeug map, loads the actor and locale, checks CSRF on cookie-based
state changes, and calls the endpoint's view. Endpoints are classified: pages (`page:`),
system views (`sys:`) and API views (`api:`); an unclassified endpoint is a 404.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import abort, g, redirect, request, session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from . import api, auth, dataviews, notifications, pages, theme
from .context import current_actor, current_user_row, state
from .i18n import select_locale
from .security import csrf_valid

View = Callable[..., Any]

#: Every non-page endpoint and its view; a test asserts each map endpoint is classified here.
VIEWS: Mapping[str, View] = {
    **auth.VIEWS,
    **dataviews.VIEWS,
    **theme.VIEWS,
    **api.VIEWS,
    **notifications.VIEWS,
}
#: Endpoints anyone may call (the others check the actor themselves or are pages with roles).
PUBLIC_ENDPOINTS = frozenset(
    {
        "sys:login",
        "sys:register",
        "sys:reset_request",
        "sys:reset",
        "sys:verify",
        "sys:invite",
        "sys:theme_css",
        "sys:logo",
        "api:openapi",
    }
)


def portal_view(path: str = "") -> Any:
    """Serve one request of a portal."""
    if _has_nul(request.args) or (request.method != "GET" and _has_nul(request.form)):
        abort(400, description="NUL characters are not allowed")
    registry = state().registry
    portal = registry.for_host(request.host)
    if portal is not None:
        prefix, rest = "", "/" + path
    else:
        slug, _, remainder = path.partition("/")
        portal = registry.get(slug)
        if portal is None:
            abort(404)
        prefix, rest = f"/{slug}", "/" + remainder
    g.portal = portal
    g.portal_prefix = prefix
    adapter = portal.url_map.bind(
        request.host, script_name=prefix or "/", url_scheme=request.scheme
    )
    try:
        endpoint, args = adapter.match(rest, method=request.method)
    except RequestRedirect as exc:
        return redirect(exc.new_url, 308)
    except MethodNotAllowed:
        raise
    except NotFound:
        abort(404)
    g.endpoint = endpoint
    actor = current_actor()
    row = current_user_row()
    locales = portal.compiled.model.locales
    requested = request.args.get("lang")
    if requested in locales:
        # the language switcher: an explicit choice holds for the rest of the session
        session["lang"] = requested
    chosen = session.get("lang") if session.get("lang") in locales else None
    g.locale = select_locale(locales, chosen or (row or {}).get("locale"), request.accept_languages)
    kind, _, name = endpoint.partition(":")
    if request.method != "GET" and kind != "api" and not csrf_valid(request):
        abort(400, description="missing or invalid CSRF token")
    forced = auth.password_change_redirect(portal, endpoint, row)
    if forced is not None:
        return forced
    if kind == "page":
        return pages.page_view(portal, actor, name, args)
    view = VIEWS.get(endpoint)
    if view is None:
        abort(404)
    return view(portal, actor, **args)


def _has_nul(values: MultiDict[str, str]) -> bool:
    """True when a query or form value (or name) contains a NUL character."""
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))
