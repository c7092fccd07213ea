"""Outgoing webhooks: queued as `webhook` outbox jobs, delivered by the worker.

A delivery POSTs the event body as JSON with `X-Portalis-Event`, `Idempotency-Key: job-<id>`
(the same on every retry, so receivers can drop duplicates) and, when the hook has a secret,
`X-Portalis-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` — the scheme Stripe
uses: receivers recompute the HMAC over the exact body bytes and reject stale timestamps
(`verify_signature` does both).

Outcomes (R4): 2xx → done; 408, 429, 5xx and network errors → retried with backoff, never
sooner than the receiver's `Retry-After`; any other status → dead at once (retrying a 4xx
cannot help). Redirects are not followed: a moved endpoint must be reconfigured, not chased.

SSRF (SECURITY A.34): a delivery goes through an `OutboundPolicy` (`portalis.engine.outbox.outbound`):
https only, the host resolved once and refused when any address is private, loopback,
link-local, … unless allow-listed (the runtime reads the allow-list from
`PORTALIS_OUTBOUND_ALLOW`); the connection goes to the checked address with the host name in
`Host`, SNI and the certificate check, so DNS rebinding cannot redirect it. A refused URL
makes the job dead at once; a failing DNS look-up is retried.

`enqueue_webhook` checks only the URL's form (http(s), a host, a numeric port): it runs in
the caller's write transaction, which must not wait for DNS, and the answer could change
before the delivery anyway — the delivery is where addresses are checked, every time.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from . import jobs
from .jobs import Job, PermanentFailure, RetryLater
from .outbound import OutboundPolicy, OutboundRefused

#: Seconds allowed for connecting and for each read of a delivery.
TIMEOUT = 10.0
#: Statuses below 500 that are still worth retrying: request timeout, too many requests.
RETRYABLE_4XX = frozenset({408, 429})
#: Signatures older (or newer) than this many seconds are rejected by `verify_signature`.
SIGNATURE_TOLERANCE = 300
#: At most this much of a response body is read (and quoted in the job's error).
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Portalis"
_SCHEMES = ("http", "https")


def enqueue_webhook(
    conn: sa.Connection,
    *,
    portal: str | None,
    url: str,
    event: str,
    body: Mapping[str, Any],
    secret: str | None = None,
    key: str | None = None,
) -> int | None:
    """Queue one delivery of `body` to `url` inside the caller's transaction; returns the job
    id (None when a job with `key` already exists). The secret is removed from the stored
    payload once the delivery succeeded. Only the URL's form is checked here (ValueError);
    the outbound policy and DNS apply at delivery (module docstring)."""
    _check_url(url, ValueError)
    payload: dict[str, Any] = {"url": url, "event": event, "body": dict(body)}
    if secret:
        payload["secret"] = secret
        payload[jobs.REDACT_KEY] = ["secret"]
    return jobs.enqueue(conn, kind="webhook", payload=payload, portal=portal, key=key)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Portalis-Signature` value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance: int = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when `header` signs `body` with `secret` and its timestamp is within `tolerance`
    seconds of `now` (what a receiver does; constant-time comparison)."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def handle_webhook(
    job: Job, *, timeout: float = TIMEOUT, policy: OutboundPolicy | None = None
) -> None:
    """Deliver a `webhook` job; raises `RetryLater` or `PermanentFailure` (module docstring).
    `policy` says which addresses may be called (None: https to public addresses only)."""
    payload = job.payload
    url = payload.get("url")
    if not isinstance(url, str):
        raise PermanentFailure("webhook job has no url")
    _check_url(url, PermanentFailure)
    where = _safe_url(url)
    try:
        target = (policy or OutboundPolicy()).check(url)
    except OutboundRefused as exc:
        raise PermanentFailure(f"POST {where} refused: {exc}") from None
    except OSError as exc:
        raise RetryLater(f"POST {where} failed: cannot resolve the host: {exc}") from exc
    body = json.dumps(payload.get("body"), separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Portalis-Event": str(payload.get("event") or ""),
        "Idempotency-Key": f"job-{job.id}",
        "Connection": "close",
    }
    secret = payload.get("secret")
    if isinstance(secret, str) and secret:
        headers["X-Portalis-Signature"] = sign(secret, body, int(time.time()))
    # the checked address, never a second DNS answer; no proxy, no redirects
    connection = target.connection(timeout=timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(MAX_RESPONSE_BYTES)
        status = int(response.status)
        retry_after = response.getheader("Retry-After")
        location = response.getheader("Location")
    except (OSError, http.client.HTTPException) as exc:
        raise RetryLater(f"POST {where} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()
    if not 200 <= status < 300:
        _raise_for_status(status, answer, where, retry_after=retry_after, location=location)


def _raise_for_status(
    status: int, answer: bytes, where: str, *, retry_after: str | None, location: str | None
) -> None:
    snippet = answer[:300].decode("utf-8", "replace").strip()
    message = f"POST {where} answered HTTP {status}" + (f": {snippet}" if snippet else "")
    if status in RETRYABLE_4XX or status >= 500:
        raise RetryLater(message, after=parse_retry_after(retry_after))
    if 300 <= status < 400:
        raise PermanentFailure(f"{message} (redirect to {location or '?'} not followed)")
    raise PermanentFailure(message)  # other 4xx, and 1xx other than 100 Continue


def _check_url(url: str, error: type[Exception]) -> None:
    """The URL's form only: http(s), a host, a numeric port (no DNS, no policy)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise error(f"webhook URL is malformed or has a bad port: {url[:200]!r}") from None
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise error(f"webhook URL must be http:// or https:// with a host, not {url[:200]!r}")


def _safe_url(url: str) -> str:
    # error texts are shown to administrators: never the query string or credentials
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
