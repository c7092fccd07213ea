"""SECURITY A.34 for the Stripe library: its HTTP client is the provider's, so every request
is checked by the outbound policy and sent to the addresses the policy resolved — never
through the system's resolver, a proxy or a redirect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import stripe
from portalis_stripe.transport import OutboundHTTPClient
from stripe_cases import StripeWorld
from stripe_loopback import API_KEY

from portalis.api import OutboundPolicy, OutboundRefused, ProviderError

#: A host name no DNS knows: only the policy's resolver can place it.
NAME = "api.stripe-loopback.test"


class Resolver:
    """A getaddrinfo stand-in that places NAME on 127.0.0.1 and counts its look-ups."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[tuple[Any, ...]]:
        self.asked.append(host)
        if host != NAME:
            raise OSError(f"unknown host {host}")
        return [(2, 1, 6, "", ("127.0.0.1", port))]


def behind(world: StripeWorld, allow: str, api_base: str, resolver: Resolver) -> StripeWorld:
    """`world` with `api_base` and a policy allowing `allow`, resolved by `resolver`."""
    policy = OutboundPolicy.parse(allow, resolver=resolver)
    return world.with_config(api_base=api_base).with_context(outbound=policy)


def test_a34_every_request_is_checked_and_pinned(world: StripeWorld) -> None:
    resolver = Resolver()
    named = behind(world, NAME, f"http://{NAME}:{world.api.port}", resolver)
    named.refund(named.paid(), "1.00", "one")
    for i in range(150):  # two pages of sessions
        named.checkout(payment_id=f"pay_{i}")
    named.payments()

    # one look-up per request, by the policy: the name exists nowhere else
    assert len(world.api.requests) == 1 + 1 + 150 + 2
    assert resolver.asked == [NAME] * len(world.api.requests)
    assert {r.header("Host") for r in world.api.requests} == {f"{NAME}:{world.api.port}"}


def test_a34_environment_proxies_are_not_used(
    world: StripeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")  # the discard port: nobody there
    world.checkout()
    assert len(world.api.sessions) == 1


def test_a34_a_name_the_policy_does_not_allow_is_not_resolved(world: StripeWorld) -> None:
    """Plain http to a name off the allow-list is refused before any look-up."""
    resolver = Resolver()
    with pytest.raises(ProviderError) as raised:
        behind(world, "", f"http://{NAME}:80", resolver).checkout()
    assert "is not https" in raised.value.message and not raised.value.retryable
    assert resolver.asked == []


def test_r4_a_name_that_does_not_resolve_may_be_retried(world: StripeWorld) -> None:
    unknown = "unknown.stripe-loopback.test"
    with pytest.raises(ProviderError) as raised:
        behind(world, unknown, f"http://{unknown}", Resolver()).checkout()
    assert raised.value.retryable and "could not resolve" in raised.value.message


def test_a34_an_oversized_answer_is_refused(world: StripeWorld) -> None:
    client = OutboundHTTPClient(OutboundPolicy.parse("127.0.0.1"), max_bytes=20)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with pytest.raises(stripe.APIConnectionError) as raised:
        client.request("get", f"{world.api.url}/v1/checkout/sessions", headers)
    assert "too large" in str(raised.value) and not raised.value.should_retry


def test_the_client_that_verifies_events_sends_nothing(world: StripeWorld) -> None:
    with pytest.raises(OutboundRefused):
        OutboundHTTPClient(None).request("get", f"{world.api.url}/v1/checkout/sessions", {})
    assert world.api.requests == []


def test_one_client_per_config_and_no_library_globals(world: StripeWorld) -> None:
    provider, config, policy = world.provider, world.config, world.context.outbound
    assert provider.client(config, policy) is provider.client(config, policy)
    other = world.with_config(tolerance_seconds=60).config
    assert provider.client(other, policy) is not provider.client(config, policy)
    world.refund(world.paid(), "1.00", "one")
    world.payments()
    # the library's module-level settings stay untouched: nothing global was set or created
    assert stripe.api_key is None and stripe.api_base == "https://api.stripe.com"
    assert stripe.default_http_client is None
