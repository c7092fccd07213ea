"""The payment provider contract: what a payment plugin (sandbox, Stripe, …) implements.

Card data never reaches Portalis: a provider creates a *hosted checkout* (a page on the
provider's side the customer is redirected to) and later tells the portal what happened
through signed *events* posted to `/<portal>/_payments/<provider>/events`. The core keeps
the payments (`portalis_payment`), stores each event id once, checks amounts and currency,
updates the payable record and writes the audit entry in one transaction; a provider only
speaks its network's protocol:

- `create_checkout` asks the network for a hosted checkout of an amount;
- `parse_event` verifies an inbound request (signature first, then the timestamp within the
  tolerance) and reads it into a `PaymentEvent` — or raises `EventRejected`, and nothing is
  stored;
- `refund` gives back all or part of a succeeded payment;
- `list_payments` lists the network's payments since a time (reconciliation), or returns
  None when the network offers no such list.

A provider type comes from the engine hook `portalis_payment_providers`. Its options are a
definition section at place `"payment"` with the provider type's name (schema, checks, `${ENV}`
secrets, compiled into the `config` object every method receives) — declared in the portal's
`payments.providers` entries. Methods run outside any web request (the worker and the CLI call
them too) and reach the network only through the outbound policy they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

import sqlalchemy as sa

from ..outbox.outbound import OutboundPolicy

#: What an event says happened to a payment. `pending`: the network accepted it but the
#: money has not moved yet (bank transfers, a 3-D Secure step); `succeeded` and `failed` are
#: final for the attempt (a `succeeded` may still follow a `failed` on some networks: the
#: core accepts it); `refunded`: part or all of the amount went back (`amount` is the amount
#: of this refund); `canceled`: the customer left the checkout or it expired.
EventKind = Literal["pending", "succeeded", "failed", "refunded", "canceled"]
EVENT_KINDS: tuple[EventKind, ...] = ("pending", "succeeded", "failed", "refunded", "canceled")


def _no_derived_keys(purpose: str) -> str:
    raise LookupError(f"this context derives no keys (asked for {purpose!r})")


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What a provider may use besides its options: where outbound requests may go, the
    platform's database and environment, and where the platform is served."""

    #: the outbound-request policy (PORTALIS_OUTBOUND_ALLOW): every request the provider
    #: sends goes to a URL this policy allows
    outbound: OutboundPolicy
    #: the platform's database (for a provider's own tables, `portalis_runtime_tables`)
    engine: sa.Engine
    #: the environment the platform was started with
    env: Mapping[str, str] = field(default_factory=dict)
    #: where the platform is served (PORTALIS_BASE_URL, no trailing slash; "" when unset)
    base_url: str = ""
    #: a secret of this installation for a purpose (`derive_key("sandbox")`), derived from the
    #: platform's secret key: the same in every process and after restarts, another for each
    #: purpose — for a provider whose definition gives no key of its own (the sandbox)
    derive_key: Callable[[str], str] = field(default=_no_derived_keys, repr=False)


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A hosted checkout the core asks a provider for."""

    #: the core's payment id (`pay_…`): the provider echoes it back in its events
    payment_id: str
    #: the portal's slug (so one provider account may serve several portals)
    portal: str
    amount: Decimal
    #: ISO 4217 code, upper case
    currency: str
    #: what the customer pays for, shown on the provider's page ("Invoice INV-2026-00017")
    description: str
    #: where the provider sends the customer back, after paying or giving up; the page there
    #: shows the payment's stored status (a redirect is never proof of payment)
    return_url: str
    #: where the provider posts its events for this portal
    events_url: str
    #: the customer's language (en, de, …) for the provider's page
    locale: str
    customer_email: str | None = None
    #: the methods offered (card, sepa_debit, …); empty: the provider's defaults
    methods: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Checkout:
    """A checkout the provider created: its reference and the page to send the customer to."""

    #: the provider's id of the checkout (a Stripe Checkout Session id, …)
    reference: str
    #: the hosted page (https, or http on loopback for the sandbox)
    redirect_url: str
    #: when the checkout stops accepting payment, if the provider says
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified inbound event, in the core's terms."""

    #: the provider's event id: stored once per portal and provider (replays are ignored)
    event_id: str
    kind: EventKind
    #: the core's payment id the event is about, as the provider echoes it back
    payment_id: str | None
    #: the provider's checkout reference (`Checkout.reference`), when the event carries it
    reference: str | None
    #: the amount the event reports: paid (succeeded, pending, failed), refunded (refunded)
    amount: Decimal
    currency: str
    #: when the provider says it happened (events may arrive out of order)
    occurred_at: datetime
    #: the method used (card, sepa_debit, …), when known
    method: str | None = None
    #: the provider's id of the money movement (payment intent, charge …): refunds name it
    transaction: str | None = None
    #: the provider's id of a refund (refunded events)
    refund_reference: str | None = None
    #: a short reason (a decline code, …) shown to staff
    reason: str | None = None


class EventRejected(Exception):
    """An inbound request is not a valid event: bad or missing signature, a timestamp outside
    the tolerance, a body that is not an event. `reason` is logged, never shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderError(Exception):
    """The network refused or could not be reached (checkout, refund, list). `message` is
    safe to show to staff; the core shows customers a generic text."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class RefundResult:
    """What the network answered to a refund request."""

    #: the provider's id of the refund
    reference: str
    #: `succeeded` now, or `pending` (a `refunded` event follows)
    status: Literal["succeeded", "pending"]


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    """One payment as the network lists it (reconciliation)."""

    reference: str
    payment_id: str | None
    amount: Decimal
    currency: str
    #: pending, succeeded, failed, refunded, canceled
    status: EventKind
    created_at: datetime
    refunded: Decimal = Decimal(0)


@runtime_checkable
class PaymentProvider(Protocol):
    """A payment provider type (see the module docstring)."""

    #: the `type` of `payments.providers` entries this provider serves (`sandbox`, `stripe`)
    name: str

    def create_checkout(
        self, config: object, request: CheckoutRequest, context: ProviderContext
    ) -> Checkout:
        """A hosted checkout for `request` (ProviderError when the network refuses)."""
        ...

    def parse_event(
        self,
        config: object,
        body: bytes,
        headers: Mapping[str, str],
        now: datetime,
        context: ProviderContext | None = None,
    ) -> PaymentEvent | None:
        """The verified event of an inbound request; None for a verified event the core does
        not act on (a type the provider ignores: acknowledged, not stored). Raises
        `EventRejected` when the signature or timestamp does not hold — checked before the
        body is read for anything else. The core passes `context` (a provider that keys its
        signatures with `context.derive_key` needs it; one that needs it and gets None
        rejects the event)."""
        ...

    def refund(
        self,
        config: object,
        transaction: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        context: ProviderContext,
    ) -> RefundResult:
        """Give back `amount` of the payment `transaction` (`PaymentEvent.transaction`).
        The same `idempotency_key` never refunds twice."""
        ...

    def list_payments(
        self, config: object, since: datetime, context: ProviderContext
    ) -> Iterable[ProviderPayment] | None:
        """The network's payments created since `since`, or None when it offers no list."""
        ...
