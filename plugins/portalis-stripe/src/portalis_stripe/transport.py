"""The HTTP client the Stripe library sends every request through: the platform's outbound
policy decides where it may go (SECURITY A.34).

`stripe.StripeClient` takes an `http_client`; this one replaces the library's own (requests,
urllib, …) entirely, so no request of the library can bypass it:

- each request's absolute URL is checked with `OutboundPolicy.check` before anything is sent
  (a refusal raises `OutboundRefused`, which the library passes through untouched);
- the connection goes to the addresses that check resolved and nowhere else
  (`Target.connection`: no second DNS look-up, so DNS rebinding cannot redirect it), with
  TLS certificate and host name checks for https;
- no proxy (environment proxies would resolve the name again), no redirects followed (a
  redirect would be a second, unchecked URL), a timeout for connecting and for each read,
  and an answer larger than `MAX_BYTES` is refused;
- network failures become `stripe.APIConnectionError`, which the provider reports as a
  retryable `ProviderError`;
- streamed requests (file downloads) are not implemented: the provider makes none.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from typing import Any

import stripe

from portalis.api import OutboundPolicy, OutboundRefused

#: Seconds for connecting and for each read of one request.
TIMEOUT = 20.0
#: The largest answer read (a page of 100 Checkout Sessions with their payment intents and
#: charges stays well below it).
MAX_BYTES = 8_000_000


def connection_error(message: str, *, retry: bool = True) -> stripe.APIConnectionError:
    """The library's error for a request that got no answer (`retry`: worth trying again)."""
    return stripe.APIConnectionError(message, should_retry=retry)  # type: ignore[no-untyped-call]


class NoNetwork(OutboundRefused):
    """A request from a client that must not reach the network (the client that verifies
    webhook events)."""


class OutboundHTTPClient(stripe.HTTPClient):
    """`stripe.HTTPClient` over the platform's pinned connections (module docstring).
    `policy=None` refuses every request."""

    name = "portalis-outbound"

    def __init__(
        self, policy: OutboundPolicy | None, *, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES
    ) -> None:
        super().__init__(verify_ssl_certs=True, proxy=None)
        self.policy = policy
        self.timeout = timeout
        self.max_bytes = max_bytes

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        """Send one request; (body, status, lower-case headers) of the answer."""
        if self.policy is None:
            raise NoNetwork("this Stripe client verifies events and sends no requests")
        try:
            target = self.policy.check(url)  # OutboundRefused passes through the library
        except OSError as exc:  # the name did not resolve: worth retrying later
            raise connection_error(f"could not resolve the Stripe API host: {exc}") from None
        body = post_data.encode("utf-8") if isinstance(post_data, str) else post_data
        connection = target.connection(timeout=self.timeout)
        try:
            connection.request(method.upper(), target.path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            raw = response.read(self.max_bytes + 1)
            status = response.status
            answer_headers = {name.lower(): value for name, value in response.getheaders()}
        except (OSError, http.client.HTTPException) as exc:
            raise connection_error(
                f"could not reach {target.host}: {exc.__class__.__name__}: {exc}"
            ) from None
        finally:
            connection.close()
        if len(raw) > self.max_bytes:
            raise connection_error(f"the answer of {target.host} is too large", retry=False)
        return raw.decode("utf-8", "replace"), status, answer_headers

    def close(self) -> None:
        """Nothing to close: every request opens and closes its own connection."""
