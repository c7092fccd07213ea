"""The `stripe` payment provider: Stripe Checkout through the official `stripe` library.

No library-global state is read or set (`stripe.api_key`, `stripe.default_http_client`, …):
each config gets its own `stripe.StripeClient` with its key, `base_addresses` pointing at
`api_base`, no automatic retries (the core decides when to try again, with the same
idempotency key) and `OutboundHTTPClient` as its HTTP client, bound to the context's outbound
policy (see `transport`). Clients are kept per (config, policy), a few at a time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe

from portalis.api import (
    Checkout,
    CheckoutRequest,
    OutboundPolicy,
    PaymentEvent,
    ProviderContext,
    ProviderError,
    ProviderPayment,
    RefundResult,
)

from .amounts import AmountDoesNotFit, to_minor
from .checkout import checkout_params
from .errors import provider_error
from .events import payment_event, verified_event
from .objects import listed_payment, when
from .options import StripeConfig
from .transport import TIMEOUT, OutboundHTTPClient

#: How many clients are kept (one per config and policy; configs change with portal versions).
CLIENTS_KEPT = 32
#: Checkout Sessions per page when listing (Stripe's maximum).
PAGE_SIZE = 100
#: What a listed session carries expanded: its payment intent and the intent's latest charge
#: (for its status and the amount refunded).
LIST_EXPAND = ["data.payment_intent", "data.payment_intent.latest_charge"]


#: A cached client's key: the config, the outbound policy and the policy's resolver.
_ClientKey = tuple[StripeConfig, OutboundPolicy | None, int]


def _config(config: object) -> StripeConfig:
    if not isinstance(config, StripeConfig):
        raise TypeError(f"the stripe provider got {type(config).__name__}, not its StripeConfig")
    return config


class StripeProvider:
    """The `PaymentProvider` of `type: stripe` entries (`portalis.api.PaymentProvider`)."""

    name = "stripe"

    def __init__(self, *, timeout: float = TIMEOUT) -> None:
        #: seconds for connecting and for each read of a request to Stripe
        self.timeout = timeout
        self._clients: OrderedDict[_ClientKey, stripe.StripeClient] = OrderedDict()
        self._lock = threading.Lock()

    def client(self, config: StripeConfig, policy: OutboundPolicy | None) -> stripe.StripeClient:
        """The client of `config` whose requests `policy` governs (None: it sends none)."""
        # policies compare by their allow-lists only; one with another resolver is another
        # policy (the cached client keeps it, and so its resolver, alive: the id stays unique)
        key = (config, policy, id(policy.resolver) if policy is not None else 0)
        with self._lock:
            found = self._clients.get(key)
            if found is not None:
                self._clients.move_to_end(key)
                return found
            client = stripe.StripeClient(
                config.secret_key,
                base_addresses={"api": config.api_base},
                max_network_retries=0,
                http_client=OutboundHTTPClient(policy, timeout=self.timeout),
            )
            self._clients[key] = client
            while len(self._clients) > CLIENTS_KEPT:
                self._clients.popitem(last=False)
            return client

    def create_checkout(
        self, config: object, request: CheckoutRequest, context: ProviderContext
    ) -> Checkout:
        """A Checkout Session for `request` (see `checkout`). The idempotency key is the
        payment's own: asking again for the same payment (after a timeout) answers the session
        Stripe already made instead of a second one."""
        options = _config(config)
        try:
            params = checkout_params(request, options)
        except AmountDoesNotFit as exc:
            raise ProviderError(f"Stripe cannot charge this amount: {exc}") from None
        key = f"portalis-checkout-{request.portal}-{request.payment_id}"
        try:
            session = self.client(options, context.outbound).v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]  # built as a plain dict
                {"idempotency_key": key},
            )
        except (stripe.StripeError, ValueError) as exc:  # OutboundRefused is a ValueError
            raise provider_error(exc, "creating the checkout") from None
        if not session.url or not session.url.startswith("https://"):
            # the payer is sent there: only a hosted https page, never another scheme
            raise ProviderError(
                f"Stripe answered checkout session {session.id} without an https page"
            )
        return Checkout(
            reference=session.id,
            redirect_url=session.url,
            expires_at=when(session.expires_at) if session.expires_at else None,
        )

    def parse_event(
        self,
        config: object,
        body: bytes,
        headers: Mapping[str, str],
        now: datetime,
        context: ProviderContext | None = None,
    ) -> PaymentEvent | None:
        """The verified event of a webhook request (see `events`); Stripe's events are keyed
        by the entry's `webhook_secret`, so `context` is not needed."""
        options = _config(config)
        # verifying sends nothing: a client without network access does it
        payload = verified_event(self.client(options, None), options, body, headers, now)
        return payment_event(payload)

    def refund(
        self,
        config: object,
        transaction: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        context: ProviderContext,
    ) -> RefundResult:
        """A refund of `amount` of the payment intent `transaction`; the same key never
        refunds twice (Stripe answers a repeated key with the first refund)."""
        options = _config(config)
        try:
            minor = to_minor(amount, currency)
        except AmountDoesNotFit as exc:
            raise ProviderError(f"Stripe cannot refund this amount: {exc}") from None
        try:
            refund = self.client(options, context.outbound).v1.refunds.create(
                {"payment_intent": transaction, "amount": minor},
                {"idempotency_key": idempotency_key},
            )
        except (stripe.StripeError, ValueError) as exc:
            raise provider_error(exc, "refunding") from None
        if refund.status == "succeeded":
            return RefundResult(reference=refund.id, status="succeeded")
        if refund.status in ("pending", "requires_action"):
            return RefundResult(reference=refund.id, status="pending")
        reason = refund.failure_reason or refund.status or "unknown"
        raise ProviderError(f"Stripe did not refund ({refund.id}: {reason})")

    def list_payments(
        self, config: object, since: datetime, context: ProviderContext
    ) -> list[ProviderPayment]:
        """The Checkout Sessions created since `since`, newest first, read page by page
        (every page's request goes through the outbound policy). Open sessions are left out:
        nothing was paid or tried on them yet."""
        options = _config(config)
        client = self.client(options, context.outbound)
        start = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        params: dict[str, Any] = {
            "created": {"gte": int(start.timestamp())},
            "limit": PAGE_SIZE,
            "expand": LIST_EXPAND,
        }
        found: list[ProviderPayment] = []
        try:
            for session in client.v1.checkout.sessions.list(params).auto_paging_iter():  # type: ignore[arg-type]
                listed = listed_payment(session.to_dict())
                if listed is not None:
                    found.append(listed)
        except (stripe.StripeError, ValueError) as exc:
            raise provider_error(exc, "listing the checkout sessions") from None
        return found
