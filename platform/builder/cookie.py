"""The builder's own session cookie, apart from the portals' one.

A browser may be signed in to a portal and to the builder at once. Both sign-ins start a new
cookie session (no fixation, a new CSRF secret) and both sign-outs clear it; with one cookie
for both, each would end the other. So requests under the builder's prefix (`/_builder/`)
keep their cookie session in a cookie of their own — `portalis-builder` with `Path=/_builder/`,
or `__Host-portalis-builder` on HTTPS, whose prefix makes the browser refuse it unless it is
`Secure`, host-only and `Path=/` — and every other request keeps the portal's cookie
(`SESSION_COOKIE_NAME`). The flags (HttpOnly, SameSite, Secure, lifetime) are the app's.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

#: The cookie of the builder's requests (`__Host-` on HTTPS).
BUILDER_COOKIE = "portalis-builder"


class BuilderSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, in the builder's cookie for requests under `prefix`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/") + "/"

    def _builder(self) -> bool:
        return has_request_context() and (request.path + "/").startswith(self.prefix)

    def get_cookie_name(self, app: Flask) -> str:
        """The builder's cookie on builder requests, else the portal's."""
        if not self._builder():
            return super().get_cookie_name(app)
        return f"__Host-{BUILDER_COOKIE}" if self.get_cookie_secure(app) else BUILDER_COOKIE

    def get_cookie_path(self, app: Flask) -> str:
        """The builder's prefix (`/` for a `__Host-` cookie, which must have it)."""
        if not self._builder():
            return super().get_cookie_path(app)
        return "/" if self.get_cookie_secure(app) else self.prefix

    def get_cookie_domain(self, app: Flask) -> str | None:
        """None on builder requests: host-only, as the `__Host-` prefix requires."""
        return None if self._builder() else super().get_cookie_domain(app)


def install(app: Flask, prefix: str) -> None:
    """Give the builder's requests under `prefix` their own session cookie on `app`."""
    app.session_interface = BuilderSessionInterface(prefix)
