"""What the tests work with: the checkout request they start from, and `StripeWorld` — the
provider, its config and context, and the loopback Stripe it talks to."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from portalis_stripe import StripeConfig, StripeProvider
from stripe_loopback import StripeLoopback, sign

from portalis.api import (
    Checkout,
    CheckoutRequest,
    PaymentEvent,
    ProviderContext,
    ProviderPayment,
    RefundResult,
)

RETURN = "https://portal.example/acme/_payments/return/pay_T3st"


def checkout_request(**changes: Any) -> CheckoutRequest:
    """An invoice payment of 10.50 EUR for `pay_T3st` of the portal `acme`, with `changes`."""
    base = CheckoutRequest(
        payment_id="pay_T3st",
        portal="acme",
        amount=Decimal("10.50"),
        currency="EUR",
        description="Invoice INV-2026-00017",
        return_url=RETURN,
        events_url="https://portal.example/acme/_payments/stripe/events",
        locale="de",
        customer_email="anna@acme.test",
    )
    return dataclasses.replace(base, **changes)


@dataclass
class StripeWorld:
    """The provider as the core calls it, with the loopback Stripe behind it (`api`)."""

    provider: StripeProvider
    config: StripeConfig
    context: ProviderContext
    api: StripeLoopback

    def with_config(self, **changes: Any) -> StripeWorld:
        """The same world with other options."""
        return dataclasses.replace(self, config=dataclasses.replace(self.config, **changes))

    def with_context(self, **changes: Any) -> StripeWorld:
        """The same world with another context (an outbound policy)."""
        return dataclasses.replace(self, context=dataclasses.replace(self.context, **changes))

    def checkout(self, **changes: Any) -> Checkout:
        """`create_checkout` of `checkout_request(**changes)`."""
        return self.provider.create_checkout(self.config, checkout_request(**changes), self.context)

    def paid(self, method: str = "card", **changes: Any) -> str:
        """A checkout paid by `method`: its payment intent."""
        reference = self.checkout(**changes).reference
        return str(self.api.pay(reference, method=method)["payment_intent"])

    def refund(self, intent: str, amount: str, key: str, currency: str = "EUR") -> RefundResult:
        """`refund` of `amount` of `intent` with the idempotency key `key`."""
        return self.provider.refund(
            self.config, intent, Decimal(amount), currency, key, self.context
        )

    def payments(self, since: datetime | None = None) -> list[ProviderPayment]:
        """`list_payments` since `since` (default: long ago)."""
        start = since or datetime(2000, 1, 1, tzinfo=UTC)
        return list(self.provider.list_payments(self.config, start, self.context) or [])

    def parse(
        self,
        body: bytes,
        *,
        signature: str | None = None,
        now: datetime | None = None,
    ) -> PaymentEvent | None:
        """`parse_event` of `body` signed as Stripe signs (or with `signature`)."""
        headers = {"Stripe-Signature": signature if signature is not None else sign(body)}
        return self.provider.parse_event(self.config, body, headers, now or datetime.now(UTC))
