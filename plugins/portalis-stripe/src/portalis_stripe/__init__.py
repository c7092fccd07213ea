"""portalis-stripe: payments through Stripe Checkout for Portalis portals.

Registers the payment provider type `stripe` (`payments.providers: [{type: stripe, …}]`):
the payer is redirected to a Checkout Session hosted by Stripe (card data never reaches the
portal); Stripe reports what happened with signed webhook events, verified by the official
`stripe` library before anything in them is read; staff refund through Stripe's Refunds API
with the core's idempotency key; reconciliation lists the Checkout Sessions. Every request to
Stripe goes through the platform's outbound policy (`transport`).
"""

from __future__ import annotations

from portalis.api import DefinitionSection, PaymentProvider, hookimpl

from .options import StripeConfig
from .provider import StripeProvider
from .section import STRIPE_SECTION

__all__ = [
    "STRIPE_SECTION",
    "StripeConfig",
    "StripeProvider",
    "portalis_definition_sections",
    "portalis_payment_providers",
]


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The options of `type: stripe` payments entries."""
    return [STRIPE_SECTION]


@hookimpl
def portalis_payment_providers() -> list[PaymentProvider]:
    """The `stripe` payment provider type."""
    return [StripeProvider()]
