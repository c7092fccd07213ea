"""The dispatcher: the one Flask view behind every portal mount.

It finds the portal (by host name or first path segment), matches the rest of the path in the
portal's per-version Werkzeug map, loads the actor and locale, checks CSRF on cookie-based
state changes (Flask-WTF's `CSRFProtect`, decided per endpoint: a bad token is a 400), and
calls the endpoint's view. Endpoints are classified: pages (`page:`), system views (`sys:`)
and API views (`api:`); an unclassified endpoint is a 404. Before any
of that, the plugins' request guards (collected at start-up) may refuse the request: 403.
`HEAD` is answered like `GET` (same view, status and headers; no body).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import abort, g, redirect, request, session
from flask_login import AnonymousUserMixin
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from portalis.engine.data.permissions import Actor
from portalis.engine.guards import GuardRequest

from . import (
    admin,
    api,
    auth,
    bulk_views,
    dataviews,
    documents,
    ics,
    import_views,
    live,
    notifications,
    pages,
    printouts,
    theme,
)
from .api import bulk as api_bulk
from .context import (
    PASSIVE_PATHS,
    current_actor,
    current_session_user,
    request_client_ip,
    state,
)
from .i18n import select_locale
from .payments import views as payment_views
from .registry import RuntimePortal
from .security import protect_request

View = Callable[..., Any]
log = logging.getLogger("portalis.runtime")

#: Every non-page endpoint and its view; a test asserts each map endpoint is classified here.
VIEWS: Mapping[str, View] = {
    **auth.VIEWS,
    **dataviews.VIEWS,
    **bulk_views.VIEWS,
    **import_views.VIEWS,
    **documents.VIEWS,
    **printouts.VIEWS,
    **ics.VIEWS,
    **theme.VIEWS,
    **api.VIEWS,
    **api_bulk.VIEWS,
    **notifications.VIEWS,
    **live.VIEWS,
    **admin.VIEWS,
    **payment_views.VIEWS,
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
        "sys:two_factor",
        "sys:auth",
        "api:openapi",
        "sys:payment_events",
    }
)
#: Endpoints a third party POSTs to without the user's session; they authenticate their
#: input by signature (payment providers' events), so no CSRF token is asked for.
SIGNED_ENDPOINTS = frozenset({"sys:payment_events"})


def portal_view(path: str = "") -> Any:
    """Serve one request of a portal."""
    if request.method != "GET" and (None in request.form or None in request.files):
        # a multipart part without a name is no field: refused before anything reads the form
        abort(400, description="every part of a form needs a name")
    if _has_nul(request.args) or (request.method != "GET" and _has_nul(request.form)):
        abort(400, description="NUL characters are not allowed")
    registry = state().registry
    portal = registry.for_host(request.host)
    # the script root leads every portal link when the app is mounted under a prefix (the
    # builder serves previews so: links stay inside the preview)
    root = request.script_root
    if portal is not None:
        prefix, rest = root, "/" + path
    else:
        slug, _, remainder = path.partition("/")
        portal = registry.get(slug)
        if portal is None:
            abort(404)
        prefix, rest = f"{root}/{slug}", "/" + remainder
    g.portal = portal
    g.portal_prefix = prefix
    g.passive_request = rest.startswith(PASSIVE_PATHS)
    if not _guards_allow(portal, rest):
        _forget_portal()
        abort(403)
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
    if request.method == "HEAD":
        # Werkzeug matches HEAD wherever GET is allowed; the views then run as for GET (never
        # a state-changing branch), and the WSGI layer drops the body of the HEAD response
        request.method = "GET"
    actor = current_actor()
    user = current_session_user()
    locales = portal.compiled.model.locales
    requested = request.args.get("lang")
    if requested in locales and session.get("lang") != requested:
        # the language switcher: an explicit choice holds for the rest of the session
        session["lang"] = requested
    chosen = session.get("lang") if session.get("lang") in locales else None
    preferred = user.locale if user is not None else None
    g.locale = select_locale(locales, chosen or preferred, request.accept_languages)
    kind, _, name = endpoint.partition(":")
    if (
        request.method != "GET"
        and kind != "api"
        and endpoint not in SIGNED_ENDPOINTS
        and not auth.csrf_exempt(portal, endpoint, args)
    ):
        # Flask-WTF's check, decided per endpoint (the API checks its header itself: 403)
        protect_request()
    forced = auth.password_change_redirect(portal, endpoint, user)
    if forced is not None:
        return forced
    if kind == "page":
        return pages.page_view(portal, actor, name, args)
    view = VIEWS.get(endpoint)
    if view is None:
        return _plugin_view(portal, actor, endpoint, args)
    return view(portal, actor, **args)


def _plugin_view(
    portal: RuntimePortal, actor: Actor, endpoint: str, args: Mapping[str, Any]
) -> Any:
    """A plugin route's view, after its `access` check."""
    route = state().registry.route(endpoint)
    if route is None:
        abort(404)
    if route.access == "user" and not actor.is_authenticated:
        return auth.login_redirect()
    if (
        route.access == "pending"
        and not actor.is_authenticated
        and auth.pending_user(portal) is None
    ):
        return auth.login_redirect()
    return route.view(portal, actor, **args)


def _guards_allow(portal: RuntimePortal, path: str) -> bool:
    """True when every request guard lets this request through (before URL matching, so a
    refused client learns nothing about the portal's paths)."""
    if not state().guards:
        return True
    actor = current_actor()
    ip = actor.ip if actor.ip is not None else request_client_ip()
    return ask_guards(
        portal.slug, GuardRequest(portal.compiled.model, ip, actor, path, request.method)
    )


def ask_guards(slug: str, ask: GuardRequest) -> bool:
    """True when every request guard of the application lets `ask` through (a request of
    portal `slug`, served here or by a platform-level view such as the builder's); a
    refusal is logged with the guard's name."""
    for guard in state().guards:
        if not guard(ask):
            name = getattr(guard, "__qualname__", type(guard).__qualname__)
            log.info("request guard %s refused %s %s from %r", name, slug, ask.path, ask.client_ip)
            return False
    return True


def _forget_portal() -> None:
    """Drop the portal and the user from the request so a refusal page shows neither
    (no navigation, user name or notification count)."""
    g.pop("portal", None)
    g.pop("portal_prefix", None)
    g.actor = Actor.anonymous()
    g._login_user = AnonymousUserMixin()


def _has_nul(values: MultiDict[str, str]) -> bool:
    """True when a query or form value (or name) contains a NUL character."""
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))
