"""Back-channel HTTP to the identity provider, only through the platform's SSRF policy.

Every URL (discovery, JWKS, token and userinfo endpoints) is checked by
`portalis.engine.outbox.outbound.OutboundPolicy` and fetched over the connection its `Target` pins,
so an issuer or a discovery document cannot point the server at internal addresses unless the
operator allow-listed them (`PORTALIS_OUTBOUND_ALLOW`). Redirects are not followed: a
redirect would be a second, unchecked URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from portalis.api import OutboundPolicy, OutboundRefused

#: Seconds for connecting and for each read.
TIMEOUT = 10.0
#: Largest answer read from the provider (discovery documents and key sets are small).
MAX_BYTES = 1_000_000


class FetchFailed(Exception):
    """The provider could not be reached or answered badly (`reason` is for the audit log)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Backchannel:
    """JSON requests to the provider through one outbound policy."""

    def __init__(self, policy: OutboundPolicy, timeout: float = TIMEOUT) -> None:
        self.policy = policy
        self.timeout = timeout

    def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET `url` and parse a JSON object (FetchFailed otherwise)."""
        return self._request("GET", url, None, dict(headers or {}))

    def post_form(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """POST `form` url-encoded to `url` and parse the JSON object answered. An OAuth
        error answer (4xx with `error`) raises FetchFailed with that error code."""
        body = urlencode(dict(form)).encode("ascii")
        sent = {"Content-Type": "application/x-www-form-urlencoded", **dict(headers or {})}
        return self._request("POST", url, body, sent)

    def _request(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        try:
            target = self.policy.check(url)
        except OutboundRefused as exc:
            raise FetchFailed("outbound_refused", str(exc)) from None
        except OSError as exc:
            raise FetchFailed("unreachable", str(exc)) from None
        headers.setdefault("Accept", "application/json")
        connection = target.connection(timeout=self.timeout)
        try:
            connection.request(method, target.path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read(MAX_BYTES + 1)
            status = response.status
        except OSError as exc:
            raise FetchFailed("unreachable", f"{target.host}: {exc}") from None
        finally:
            connection.close()
        if len(raw) > MAX_BYTES:
            raise FetchFailed("answer_too_large", url)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        if status >= 400 and isinstance(data, dict) and isinstance(data.get("error"), str):
            raise FetchFailed(safe_code(data["error"]), f"HTTP {status} from {target.host}")
        if status != 200:
            raise FetchFailed("http_status", f"HTTP {status} from {target.host}")
        if not isinstance(data, dict):
            raise FetchFailed("not_json", f"{target.host} did not answer a JSON object")
        return data


def safe_code(text: str) -> str:
    """An OAuth error code made safe for the audit log (letters, digits, `_`; 40 chars)."""
    cleaned = "".join(c for c in text if c.isalnum() or c == "_")[:40]
    return cleaned or "error"
