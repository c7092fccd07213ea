"""Starting and refunding payments from a request: the engine's service with the portal's
URLs (where the provider sends the payer back, where it posts its events) and the provider
context of this request.

Shared by the `payments` block and the REST API. The URLs are absolute and built from
configuration only (`hosts.link_base`: a portal domain, PORTALIS_BASE_URL, or the loopback
host of a dev server), never from a forged Host header; the context's `base_url` is the same
origin, so a provider that serves its own page here (the sandbox) links to this server.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from flask import request

from portalis.engine.data.permissions import Actor
from portalis.engine.payments.provider import ProviderContext
from portalis.engine.payments.records import Refund, StartedPayment
from portalis.engine.payments.refunds import refund_payment
from portalis.engine.payments.start import start_payment

from ..auth.common import absolute_url
from ..hosts import link_base
from ..registry import RuntimePortal
from .setup import bound_providers, provider_context

#: The portal's page of one payment (where the provider sends the payer back).
PAYMENT_PATH = "/_payments/{payment}"
#: Where a provider entry posts its events.
EVENTS_PATH = "/_payments/{provider}/events"


def request_context(portal: RuntimePortal) -> ProviderContext:
    """The application's provider context with this request's link origin as `base_url`."""
    origin = link_base(request, portal.compiled.model.domains)
    return replace(provider_context(), base_url=origin or provider_context().base_url)


def start(
    portal: RuntimePortal,
    actor: Actor,
    entity: str,
    record_id: int,
    *,
    amount: Decimal | None,
    provider: str | None,
    locale: str,
) -> StartedPayment:
    """Start paying a record (the engine's errors pass through: NotFound, Forbidden,
    ValidationFailed, NothingToPay, ProviderFailed, PaymentUnavailable)."""
    return start_payment(
        portal.store,
        actor,
        entity,
        record_id,
        amount=amount,
        provider=provider,
        return_url=lambda payment: absolute_url(PAYMENT_PATH.format(payment=payment)),
        events_url=lambda name: absolute_url(EVENTS_PATH.format(provider=name)),
        locale=locale,
        context=request_context(portal),
        providers=bound_providers(portal),
    )


def refund(
    portal: RuntimePortal,
    actor: Actor,
    payment_id: str,
    *,
    amount: Decimal | None,
    reason: str | None,
) -> Refund:
    """Refund (part of) a payment (the engine's errors pass through: NotFound, Forbidden,
    ValidationFailed, RefundRefused, ProviderFailed, PaymentUnavailable)."""
    return refund_payment(
        portal.store,
        actor,
        payment_id,
        amount,
        reason,
        context=request_context(portal),
        providers=bound_providers(portal),
    )
