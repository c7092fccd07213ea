"""Which Host names the server answers for, and where e-mailed links point.

The Host header is chosen by the client: a link built from it (password reset, invitation,
e-mail verification) could be sent to an attacker's site. So absolute links come only from
configuration — the portal's `domains:` or `PORTALIS_BASE_URL` — or, for the development
server bound on loopback (and tests), from a loopback host name. A request whose Host matches
none of these names is refused with 400 before any view runs (Werkzeug's `trusted_hosts`).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Request, current_app
from werkzeug.routing import MapAdapter

from portalis.engine.data.db import SharedConnection

from .context import AppState
from .request_db import attach

log = logging.getLogger("portalis.runtime")

#: Host names of this machine that a dev server on loopback (or a test client) uses.
LOOPBACK_NAMES = ("localhost", "127.0.0.1")
#: Paths served whatever the Host: probes often address the server by IP, and these
#: endpoints build no links.
ANY_HOST_PATHS = ("/_health", "/_ready")
#: Stands for "no name": Werkzeug treats an empty list as "every host is trusted".
_NO_NAME = "portalis.invalid"
#: `AppState.extra` key of the last list (the served domains it was made from, the list)
_TRUSTED = "trusted_hosts"


def base_url_host(base_url: str | None) -> str | None:
    """The host name of a base URL (`https://portal.example.com/x` → `portal.example.com`);
    None when there is none or it is not an http(s) URL with a host."""
    if not base_url:
        return None
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower()


def trusted_hosts(st: AppState, shared: SharedConnection | None = None) -> list[str]:
    """The Host names this app answers for: the base URL's host, every published portal's
    `domains:`, and loopback names when the settings allow them (a due live-version poll
    runs on `shared`, the request's connection, when given)."""
    served = st.registry.hosts(shared)
    kept: tuple[list[str], list[str]] | None = st.extra.get(_TRUSTED)
    if kept is not None and kept[0] == served:
        return kept[1]
    names = [name for name in (base_url_host(st.settings.base_url),) if name]
    names.extend(served)
    if st.settings.trusts_loopback:
        names.extend(LOOPBACK_NAMES)
    # kept until the served portals' domains change: every request asks
    st.extra[_TRUSTED] = (served, names or [_NO_NAME])
    return names or [_NO_NAME]


class PortalisFlask(Flask):
    """Flask with a Host allow-list computed per request (portals publish new domains
    without a restart), checked where Flask checks `TRUSTED_HOSTS`: a forged Host makes
    the routing fail with 400 and never reaches a view."""

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Set the request's trusted hosts before Flask validates its Host."""
        if request is not None and request.path not in ANY_HOST_PATHS:
            st: AppState | None = self.extensions.get("portalis")
            if st is not None:
                request.trusted_hosts = trusted_hosts(st, attach(request, st.engine))
        return super().create_url_adapter(request)


def link_base(request: Request, domains: tuple[str, ...] | frozenset[str] | list[str]) -> str:
    """Scheme and host for absolute links of this request (no trailing slash).

    A portal domain the request came in on comes first (the portal is served at its root
    there), then the configured base URL, then — dev server on loopback and tests only — the
    loopback host of the request. Anything else yields "" (a relative link) and a warning:
    the Host is never copied into a link.
    """
    settings = current_app.extensions["portalis"].settings
    host = request.host.lower()
    if host in domains:
        return f"{request.scheme}://{host}"
    if settings.base_url:
        return str(settings.base_url).rstrip("/")
    if settings.trusts_loopback and host.rsplit(":", 1)[0] in LOOPBACK_NAMES:
        return request.host_url.rstrip("/")
    log.warning("no PORTALIS_BASE_URL: a link in a mail is relative (host %r)", host)
    return ""
