"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 and a free port, keeping what it gets.

Use the `smtp_server` fixture: point the app at `smtp_server.url` (PORTALIS_SMTP_URL), then
`smtp_server.wait_for(to="anna@acme.test")` returns the newest message to that address, with
`subject`, `language` (Content-Language), `text` and `html`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

try:  # a development dependency: without it the fixture skips (or fails in CI)
    from aiosmtpd import controller as aiosmtpd_controller
except ImportError:  # pragma: no cover - depends on the environment
    aiosmtpd_controller = None  # type: ignore[assignment]

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One delivered message: envelope and parsed content."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        """The decoded Subject header."""
        return str(self.message["Subject"] or "")

    @property
    def language(self) -> str:
        """The Content-Language header."""
        return str(self.message["Content-Language"] or "")

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return str(part.get_content()) if part is not None else ""

    @property
    def text(self) -> str:
        """The text/plain body."""
        return self._part("plain")

    @property
    def html(self) -> str:
        """The text/html body."""
        return self._part("html")


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """aiosmtpd's hook for a delivered message: parse and keep it."""
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=policy.default)
        mail = ReceivedMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), parsed)
        self.server._received(mail)
        return "250 Message accepted for delivery"


class SmtpServer:
    """The running server: `url` for PORTALIS_SMTP_URL, `messages` as received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[ReceivedMail] = []
        self._cond = threading.Condition()

    @property
    def url(self) -> str:
        """`smtp://127.0.0.1:<port>`."""
        return f"smtp://{HOST}:{self.port}"

    def _received(self, mail: ReceivedMail) -> None:
        with self._cond:
            self.messages.append(mail)
            self._cond.notify_all()

    def to(self, address: str) -> list[ReceivedMail]:
        """Messages delivered to `address` (case-insensitive), oldest first."""
        wanted = address.lower()
        return [m for m in list(self.messages) if wanted in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, *, to: str, count: int = 1, timeout: float = 10.0) -> ReceivedMail:
        """The newest message to `to` once at least `count` arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.to(to)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail #{count} to {to} within {timeout}s")
                self._cond.wait(left)
        return self.to(to)[-1]

    def clear(self) -> None:
        """Forget every received message."""
        with self._cond:
            self.messages.clear()


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def smtp_unavailable() -> str | None:
    """None when aiosmtpd can be used, else the reason."""
    return None if aiosmtpd_controller is not None else "aiosmtpd is not installed"


@contextmanager
def running_smtp_server(attempts: int = 5) -> Iterator[SmtpServer]:
    """Start an SMTP server on 127.0.0.1 (retrying when the chosen port was taken)."""
    if aiosmtpd_controller is None:
        raise RuntimeError("aiosmtpd is not installed")
    last: Exception | None = None
    for _ in range(attempts):
        server = SmtpServer(free_port())
        controller = aiosmtpd_controller.Controller(
            _Handler(server), hostname=HOST, port=server.port
        )
        try:
            controller.start()
        except (OSError, RuntimeError) as exc:  # the port was taken in between
            last = exc
            continue
        try:
            yield server
        finally:
            controller.stop()
        return
    raise RuntimeError(f"could not start the SMTP server: {last}")
