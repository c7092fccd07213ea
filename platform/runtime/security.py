"""Security helpers: response headers, CSP, CSRF tokens and same-portal redirects."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from flask import Request, Response, session

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: The caching policy of every response that did not choose its own.
NO_STORE = "no-store"


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get("_csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["_csrf"] = token
    return token


def csrf_valid(request: Request) -> bool:
    """True when the form field or header carries the session's token."""
    expected = session.get("_csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), given.encode())


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


def apply_headers(
    response: Response, *, https: bool, frame_origins: Iterable[str] = ()
) -> Response:
    """Security headers every response gets.

    A response that chose no caching policy gets `Cache-Control: no-store`: pages, API answers,
    error pages and redirects may carry personal data or a signed-in user's name, so neither
    the browser's nor a shared cache may keep them. Views that serve static assets (the
    `static` files, the theme's CSS and logo) or revalidated API reads set their own policy.
    """
    headers = response.headers
    headers.setdefault("Cache-Control", NO_STORE)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Content-Security-Policy", content_security_policy(frame_origins))
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    origins = list(frame_origins)
    if not origins:
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if https:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if (
        response.mimetype
        and response.mimetype.startswith("text/")
        and "charset" not in (response.content_type or "")
    ):
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
