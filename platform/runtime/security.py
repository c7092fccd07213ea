"""Security helpers: CSRF protection, response headers, CSP and same-portal redirects.

CSRF tokens come from Flask-WTF (`CSRFProtect`, set up by `init_csrf` in the app factory). The
session keeps a random secret under `CSRF_SESSION_KEY`; forms carry it signed and timestamped in
the field `csrf_token`, API clients in the header `X-CSRF-Token`. Every portal URL is served by
the one dispatcher view, so Flask-WTF's per-view check is off (`WTF_CSRF_CHECK_DEFAULT`) and the
dispatcher calls `protect_request` once it knows the endpoint: the few endpoints an identity
provider posts to (a SAML ACS, authenticated by its signature) are exempt per request. Over
https — directly, or behind a proxy terminating TLS (`PORTALIS_HTTPS`) — a state change must
also come with a `Referer` of the same origin as the request's Host, which the trusted-hosts
check has already vetted.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from flask import Flask, Request, Response, current_app, g, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf, same_origin

#: Form field and session key of the CSRF token (Flask-WTF keeps its secret under the
#: field's name in the session).
CSRF_FIELD = "csrf_token"
CSRF_SESSION_KEY = CSRF_FIELD
CSRF_HEADER = "X-CSRF-Token"
#: How long a session's signed CSRF token is handed out again, at most (`csrf_token`) …
REUSE_SECONDS = 60.0
#: … for this many sessions per process (the map starts over when full).
MAX_SIGNED = 10_000
_SIGNED = "portalis-csrf-signed"
#: The caching policy of every response that did not choose its own.
NO_STORE = "no-store"


def init_csrf(app: Flask, *, lifetime: timedelta) -> CSRFProtect:
    """Set up Flask-WTF's CSRF protection on `app` (checked by the dispatcher, not per view).

    A token stays valid as long as the cookie session that holds its secret (`lifetime`):
    a form left open all day still posts, a token older than any session does not.
    """
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_FIELD_NAME=CSRF_FIELD,
        WTF_CSRF_HEADERS=[CSRF_HEADER],
        WTF_CSRF_METHODS=["POST", "PUT", "PATCH", "DELETE"],
        WTF_CSRF_TIME_LIMIT=int(lifetime.total_seconds()),
        WTF_CSRF_SSL_STRICT=True,
    )
    protect = CSRFProtect()
    protect.init_app(app)
    return protect


def protect_request() -> None:
    """Check this request's CSRF token (field or header); raise `CSRFError` (400) if bad.

    Flask-WTF compares the Referer with the Host only for requests that reached the app over
    TLS; behind a proxy that terminates TLS (`PORTALIS_HTTPS`) the same check runs here.
    """
    protect: CSRFProtect = current_app.extensions["csrf"]
    protect.protect()
    if request.method in current_app.config["WTF_CSRF_METHODS"] and (
        current_app.config.get("PORTALIS_HTTPS") and not request.is_secure
    ):
        if not request.referrer:
            raise CSRFError("The referrer header is missing.")
        if not same_origin(request.referrer, f"https://{request.host}/"):
            raise CSRFError("The referrer does not match the host.")


def csrf_token() -> str:
    """The CSRF token for this session's forms and API clients (created on first use).

    A signature costs as much as a small page's template, so a session's signed token is
    reused for a minute (at most a sixtieth of the token's lifetime): its timestamp is then
    up to a minute older than the page, out of a lifetime of hours."""
    if CSRF_FIELD in g:
        return str(g.get(CSRF_FIELD))
    raw = session.get(CSRF_SESSION_KEY)
    if not isinstance(raw, str):
        return str(generate_csrf())
    kept: dict[str, tuple[float, str]] = current_app.extensions.setdefault(_SIGNED, {})
    now = time.monotonic()
    hit = kept.get(raw)
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT")
    reuse = min(REUSE_SECONDS, limit / 60) if limit else REUSE_SECONDS
    if hit is not None and now - hit[0] < reuse:
        setattr(g, CSRF_FIELD, hit[1])
        return hit[1]
    token = str(generate_csrf())
    if len(kept) >= MAX_SIGNED:
        kept.clear()
    kept[raw] = (now, token)
    return token


def csrf_valid(request: Request) -> bool:
    """True when the request carries a valid token of this session (form field or header)."""
    del request  # Flask-WTF reads the current request
    try:
        protect_request()
    except CSRFError:
        return False
    return True


def csrf_secret() -> str | None:
    """The session's CSRF secret: a random value that lives as long as the cookie session
    (new after sign-in and sign-out), None before a token was handed out."""
    value = session.get(CSRF_SESSION_KEY)
    return value if isinstance(value, str) else None


def safe_next(target: str | None, portal_prefix: str) -> str:
    """`target` when it is a path inside this portal, else the portal's home.

    Refuses scheme-relative (`//evil`), backslash tricks (`/\\evil`), schemes
    (`javascript:`), credentials (`http://host@evil`), encoded slashes and control characters.
    """
    home = portal_prefix.rstrip("/") + "/"
    if not target:
        return home
    decoded = target
    for _ in range(3):  # repeated decoding defeats %252f%252f-style double encoding
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    if any(ord(ch) < 32 or ch == "\\" for ch in decoded) or any(ch.isspace() for ch in decoded):
        return home
    parts = urlsplit(decoded)
    if parts.scheme or parts.netloc or not decoded.startswith("/") or decoded.startswith("//"):
        return home
    if not (decoded == home.rstrip("/") or decoded.startswith(home)):
        return home
    if "/../" in decoded + "/" or "/./" in decoded + "/":
        return home
    return target if target.startswith(home) else home


def content_security_policy(frame_origins: Iterable[str] = ()) -> str:
    """A CSP without unsafe-inline; `frame_origins` may embed the portal."""
    ancestors = " ".join(["'self'", *frame_origins])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            f"frame-ancestors {ancestors}",
        ]
    )


#: Response headers as (name, value) pairs, in the order they are set.
HeaderPairs = tuple[tuple[str, str], ...]


def security_headers(frame_origins: Iterable[str] = (), *, https: bool) -> HeaderPairs:
    """The security headers of every response, built once (per portal version and scheme,
    `RuntimePortal.headers`) and applied by `apply_headers`.

    A response that chose no caching policy gets `Cache-Control: no-store`: pages, API answers,
    error pages and redirects may carry personal data or a signed-in user's name, so neither
    the browser's nor a shared cache may keep them. Views that serve static assets (the
    `static` files, the theme's CSS and logo) or revalidated API reads set their own policy.
    """
    origins = tuple(frame_origins)
    pairs = [
        ("Cache-Control", NO_STORE),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Content-Security-Policy", content_security_policy(origins)),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if not origins:
        pairs.append(("X-Frame-Options", "SAMEORIGIN"))
    if https:
        pairs.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
    return tuple(pairs)


#: The headers of responses outside a portal (no embedding origins), by https.
DEFAULT_HEADERS: dict[bool, HeaderPairs] = {
    https: security_headers(https=https) for https in (False, True)
}


def apply_headers(response: Response, headers: HeaderPairs) -> Response:
    """Set each of `headers` (`security_headers`) the response does not set itself, and a
    UTF-8 charset on text responses that name none."""
    target = response.headers
    present = {name.lower() for name in target.keys()}  # one pass, not one per header
    for name, value in headers:
        if name.lower() not in present:
            target.add(name, value)
    content_type = target.get("Content-Type", "")
    if content_type[:5].lower() == "text/" and "charset" not in content_type:
        response.content_type = f"{response.mimetype}; charset=utf-8"
    return response


def client_ip(remote_addr: str | None, forwarded_for: str | None, trusted: Iterable[str]) -> str:
    """The client address; `X-Forwarded-For` is honoured only from trusted proxies.

    Walks the forwarded chain from the right, skipping trusted proxies, so a client cannot
    spoof its address by sending its own X-Forwarded-For.
    """
    networks = []
    for entry in trusted:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue

    def is_trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in networks)

    current = remote_addr or ""
    if not forwarded_for or not is_trusted(current):
        return current
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
        current = hop
    return current
