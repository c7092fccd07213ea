"""The sandbox's signatures: events, checkout links and the id of a key.

An event carries the header `Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">` (Stripe's scheme): the time is signed with the body, so a captured event
cannot be replayed later with a fresh time, and a receiver refuses times outside its
tolerance. Comparisons are constant-time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from portalis.api import EventRejected

#: The header that carries an event's signature.
SIGNATURE_HEADER = "Sandbox-Signature"
#: The scheme of the signature (a later scheme would add v2 next to v1).
SCHEME = "v1"
#: Longest header accepted (a few signatures while a secret is rotated).
MAX_HEADER_LENGTH = 1024


def _mac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes, at: int) -> str:
    """The hex HMAC-SHA256 of `"<at>.<body>"` under `secret`."""
    return _mac(secret, str(at).encode("ascii") + b"." + body)


def sign(secret: str, body: bytes, at: int) -> dict[str, str]:
    """The headers of an event `body` signed with `secret` at unix time `at` (for the hosted
    page's deliveries, tests and scripts that post events themselves)."""
    return {
        SIGNATURE_HEADER: f"t={at},{SCHEME}={signature(secret, body, at)}",
        "Content-Type": "application/json",
    }


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (the core may hand a plain dict)."""
    found = headers.get(name)
    if found is not None:
        return found
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def verify(secret: str, body: bytes, headers: Mapping[str, str], now: float, tolerance: int) -> int:
    """The signed time of a genuine event; `EventRejected` when the header is missing or
    malformed, no signature matches, or the signed time is more than `tolerance` seconds
    before or after `now`. The body is only hashed here, never parsed."""
    value = header(headers, SIGNATURE_HEADER)
    if not value:
        raise EventRejected(f"no {SIGNATURE_HEADER} header")
    if len(value) > MAX_HEADER_LENGTH:
        raise EventRejected(f"the {SIGNATURE_HEADER} header is too long")
    stamp: str | None = None
    candidates: list[str] = []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t":
            stamp = item
        elif key == SCHEME:
            candidates.append(item)
    if stamp is None or not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise EventRejected(f"the {SIGNATURE_HEADER} header has no valid t=")
    if not candidates:
        raise EventRejected(f"the {SIGNATURE_HEADER} header has no {SCHEME} signature")
    at = int(stamp)
    expected = signature(secret, body, at).encode("ascii")
    # every candidate is compared (no early exit on the first mismatch); bytes, because
    # compare_digest refuses str with non-ASCII characters
    matched = [hmac.compare_digest(expected, c.lower().encode("utf-8")) for c in candidates]
    if not any(matched):
        raise EventRejected("the signature does not match")
    if abs(now - at) > tolerance:
        raise EventRejected(
            f"the signed time is {int(now - at)} s from now (tolerance {tolerance} s)"
        )
    return at


def link_code(secret: str, checkout_id: str) -> str:
    """The code that makes a checkout link valid: only the payer the core redirected knows
    it — a checkout id alone (shown to staff as the reference) opens nothing."""
    return _mac(secret, b"portalis-sandbox checkout link:" + checkout_id.encode("ascii"))[:32]


def link_code_valid(secret: str, checkout_id: str, code: str) -> bool:
    """True when `code` is the link code of `checkout_id` (constant-time)."""
    return hmac.compare_digest(link_code(secret, checkout_id).encode("ascii"), code.encode("utf-8"))


def key_id(secret: str) -> str:
    """A stable id of `secret` that tells nothing about it: which checkouts a config may
    refund and list, and which stored key signs a checkout's events."""
    return _mac(secret, b"portalis-sandbox key id")[:32]
