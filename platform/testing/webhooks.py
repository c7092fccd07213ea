"""A real HTTP receiver for webhook tests: `http.server` on 127.0.0.1 and a free port.

    with webhook_receiver() as hooks:
        hooks.reply("/hook", Reply(500), Reply(200))   # first call fails, the next succeeds
        ... enqueue a webhook to hooks.url("/hook") and run the jobs ...
        assert [r.status for r in hooks.requests] == [500, 200]

Unscripted requests get `receiver.default` (200 unless changed). A `Reply` can delay its
answer or hold it until an event is set (to catch a worker mid-delivery). Every request is
recorded when it arrives, before the reply.

Deliveries refuse loopback addresses and plain http unless allow-listed (SSRF, SECURITY A.34):
call `handle_webhook(job, policy=LOOPBACK_POLICY)`, or give apps and `portalis worker`
processes `PORTALIS_OUTBOUND_ALLOW=127.0.0.1` (`LOOPBACK_ALLOW`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from portalis.engine.outbox.outbound import OutboundPolicy

HOST = "127.0.0.1"
#: The `PORTALIS_OUTBOUND_ALLOW` value that lets deliveries reach a receiver.
LOOPBACK_ALLOW = HOST
#: An outbound policy that lets `handle_webhook` reach a receiver (http to 127.0.0.1).
LOOPBACK_POLICY = OutboundPolicy.parse(LOOPBACK_ALLOW)
#: A held reply is released after this many seconds at the latest.
MAX_HOLD_SECONDS = 60.0


@dataclass(frozen=True)
class Reply:
    """How the receiver answers one request."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: seconds to wait before answering
    delay: float = 0.0
    #: when given, the answer waits until this event is set
    hold: threading.Event | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as it arrived."""

    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower())

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class WebhookReceiver:
    """The running receiver: `url(path)`, scripted `reply`s and the recorded `requests`."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._script: dict[str, deque[Reply]] = defaultdict(deque)
        self._cond = threading.Condition()
        self._holds: list[threading.Event] = []
        self.requests: list[ReceivedRequest] = []
        #: the answer to requests no `reply` scripted
        self.default = Reply()

    def url(self, path: str = "/hook") -> str:
        """The absolute URL of `path` on this receiver."""
        return f"http://{HOST}:{self._server.server_address[1]}{path}"

    def reply(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to `path` (query strings aside) with `replies`, in order
        (then `default`)."""
        with self._cond:
            self._script[path].extend(replies)
            self._holds.extend(r.hold for r in replies if r.hold is not None)

    def to(self, path: str) -> list[ReceivedRequest]:
        """The requests received on `path`, oldest first."""
        with self._cond:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, count: int, *, path: str | None = None, timeout: float = 10.0) -> None:
        """Wait until `count` requests (to `path`, or in all) arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([r for r in self.requests if path is None or r.path == path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fewer than {count} request(s) within {timeout}s")
                self._cond.wait(left)

    def _next(self, path: str, query: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._cond:
            queue = self._script.get(path)
            answer = queue.popleft() if queue else self.default
            self.requests.append(
                ReceivedRequest(path, query, headers, body, answer.status, time.monotonic())
            )
            self._cond.notify_all()
        return answer

    def _release_all(self) -> None:
        with self._cond:
            for event in self._holds:
                event.set()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path, _, query = self.path.partition("?")
        answer = self.server.receiver._next(path, query, headers, body)
        if answer.hold is not None:
            answer.hold.wait(MAX_HOLD_SECONDS)
        if answer.delay:
            time.sleep(answer.delay)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:  # the client gave up (timeout, killed worker): nothing to answer
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Quiet: tests read `requests` instead of the log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that vanish mid-request are expected here; stay quiet."""


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """Serve a `WebhookReceiver` on 127.0.0.1 for the duration of the block."""
    server = _Server((HOST, 0), _Handler)
    receiver = WebhookReceiver(server)
    server.receiver = receiver
    # a short poll interval: shutting the receiver down must not cost half a second per test
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        receiver._release_all()
        server.shutdown()
        server.server_close()
        thread.join(10)
