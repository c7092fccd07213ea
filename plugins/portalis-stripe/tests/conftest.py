"""Fixtures of the Stripe provider's tests: a loopback Stripe and the provider pointed at it,
with a context whose outbound policy lets requests reach 127.0.0.1 (nothing else private)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from portalis_stripe import StripeConfig, StripeProvider
from stripe_cases import StripeWorld
from stripe_loopback import API_KEY, WEBHOOK_SECRET, stripe_loopback

from portalis.api import OutboundPolicy, ProviderContext

#: The outbound policy of the tests: plain http to 127.0.0.1 allowed (PORTALIS_OUTBOUND_ALLOW).
LOOPBACK_OUTBOUND = OutboundPolicy.parse("127.0.0.1")


@pytest.fixture
def world() -> Iterator[StripeWorld]:
    """A fresh loopback Stripe and a provider (a short timeout: some tests hang the server)
    configured with its keys; the database in the context is not used by this provider."""
    engine = sa.create_engine("sqlite://")
    try:
        with stripe_loopback() as api:
            yield StripeWorld(
                provider=StripeProvider(timeout=2.0),
                config=StripeConfig(API_KEY, WEBHOOK_SECRET, api_base=api.url),
                context=ProviderContext(outbound=LOOPBACK_OUTBOUND, engine=engine),
                api=api,
            )
    finally:
        engine.dispose()
