"""The page that hands the browser over to an identity provider.

Sign-in buttons are forms, and the portal's CSP says `form-action 'self'`, which browsers
also apply to the redirect answering a form POST: a 303 from `/auth/<name>/start` to the
identity provider would be blocked. A refresh is a navigation, which the policy allows; the
page also carries a link for browsers that ignore refreshes. No script is needed. Providers
simply answer `begin` with a redirect; the flow view turns it into this page.
"""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response


def handoff(location: str) -> Response:
    """A page that continues to `location` at once, never cached or sent on as a referrer
    (the URL carries the flow's state)."""
    response = Response(render_template("auth/handoff.html", location=location), 200)
    response.mimetype = "text/html"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
