"""Posting signed events to a portal, off the payer's request.

A delivery runs in a background thread, so the payer's redirect back to the portal never
waits for it (and a single-threaded development server, which would have to answer its own
request, cannot deadlock). Each attempt has a short timeout and is signed anew (a retry is not
refused as stale); timeouts, connection errors, 408, 429 and 5xx answers are retried with
exponential backoff and jitter (`Retry-After` honoured up to a bound), other answers are
final. A delivery that fails for good is logged — the portal's reconciliation
(`list_payments`) still sees the payment, as with a real network whose webhook was lost.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from .signing import sign

log = logging.getLogger("portalis_payments_sandbox")

#: Seconds one attempt may take (connect and answer).
TIMEOUT_SECONDS = 5.0
ATTEMPTS = 4
#: The first retry waits about this long; each further one twice as long (with jitter).
BACKOFF_SECONDS = 0.5
#: A `Retry-After` longer than this is cut short (the payer's event should not be late).
MAX_RETRY_AFTER_SECONDS = 30.0
_RETRY_STATUSES = frozenset({408, 429})


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> http.client.HTTPResponse:
    """One POST of `body` to `url` (no redirects followed); the answer, its body read."""
    parts = urlsplit(url)
    connection_type = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_type(parts.hostname or "", parts.port, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read(64 * 1024)
        return answer
    finally:
        connection.close()


def _retry_after(answer: http.client.HTTPResponse | None) -> float | None:
    value = answer.getheader("Retry-After") if answer is not None else None
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), MAX_RETRY_AFTER_SECONDS)


def deliver(url: str, secret: str, body: bytes, event_id: str) -> bool:
    """Post one event until it is accepted or the attempts are used up; True when the
    portal answered 2xx."""
    for attempt in range(1, ATTEMPTS + 1):
        answer: http.client.HTTPResponse | None = None
        try:
            answer = post(url, body, sign(secret, body, int(time.time())), TIMEOUT_SECONDS)
            if 200 <= answer.status < 300:
                return True
            final = answer.status < 500 and answer.status not in _RETRY_STATUSES
            why = f"HTTP {answer.status}"
        except (OSError, http.client.HTTPException) as exc:
            final, why = False, f"{type(exc).__name__}: {exc}"
        if final or attempt == ATTEMPTS:
            log.warning(
                "sandbox event %s to %s not delivered (attempt %d): %s",
                event_id, url, attempt, why,
            )  # fmt: skip
            return False
        pause = BACKOFF_SECONDS * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
        time.sleep(_retry_after(answer) or pause)
    return False


class Deliveries:
    """The background work of one application: event deliveries and settlement timers.

    Kept per application (`app.extensions`), never in a module global; `wait` lets a test
    or a shutdown wait until everything started has finished."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._timers: set[threading.Timer] = set()

    def send(self, url: str, secret: str, body: bytes, event_id: str) -> None:
        """Deliver an event in a background thread."""
        self._start(threading.Thread(target=deliver, args=(url, secret, body, event_id)))

    def later(self, seconds: float, work: Callable[[], object]) -> None:
        """Run `work` in `seconds` (a daemon timer: a process that ends loses it, which the
        settlement sweep of the next request makes up for)."""
        timer = threading.Timer(seconds, self._guarded, args=(work,))
        timer.daemon = True
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive()} | {timer}
        timer.start()

    def _start(self, thread: threading.Thread) -> None:
        thread.daemon = True
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()} | {thread}
        thread.start()

    @staticmethod
    def _guarded(work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:  # a timer thread has nobody to report to but the log
            log.exception("sandbox settlement failed")

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until every delivery started so far has ended; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def cancel_timers(self) -> None:
        """Stop the settlement timers that have not fired (the rows stay due: a later
        request settles them)."""
        with self._lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
