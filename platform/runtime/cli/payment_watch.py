"""Which providers listed their payments during a reconciliation.

`reconcile` skips a provider whose `list_payments` returns None (its network offers no
list) without saying so; the command must tell the operator that such a provider was not
reconciled. Each bound provider is wrapped in a `ListWatch` that passes every call through
and notes whether a list came back — the network is asked once, by `reconcile` itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime
from decimal import Decimal

from portalis.engine.payments.provider import (
    Checkout,
    CheckoutRequest,
    PaymentEvent,
    PaymentProvider,
    ProviderContext,
    ProviderPayment,
    RefundResult,
)
from portalis.engine.payments.registry import BoundProvider


class ListWatch:
    """A provider that notes whether `list_payments` gave a list (`listed`)."""

    def __init__(self, inner: PaymentProvider) -> None:
        self.inner = inner
        #: the provider type's name
        self.name = inner.name
        self.listed = False

    def create_checkout(
        self, config: object, request: CheckoutRequest, context: ProviderContext
    ) -> Checkout:
        """The provider's checkout."""
        return self.inner.create_checkout(config, request, context)

    def parse_event(
        self,
        config: object,
        body: bytes,
        headers: Mapping[str, str],
        now: datetime,
        context: ProviderContext | None = None,
    ) -> PaymentEvent | None:
        """The provider's reading of an event."""
        return self.inner.parse_event(config, body, headers, now, context)

    def refund(
        self,
        config: object,
        transaction: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        context: ProviderContext,
    ) -> RefundResult:
        """The provider's refund."""
        return self.inner.refund(config, transaction, amount, currency, idempotency_key, context)

    def list_payments(
        self, config: object, since: datetime, context: ProviderContext
    ) -> Iterable[ProviderPayment] | None:
        """The provider's list, noting that it gave one."""
        found = self.inner.list_payments(config, since, context)
        self.listed = found is not None
        return found


def watched(
    bound: Mapping[str, BoundProvider], watches: MutableMapping[str, ListWatch]
) -> dict[str, BoundProvider]:
    """`bound` with each provider wrapped; `watches` gets each entry's watch by name."""
    out = {}
    for name, entry in bound.items():
        watches[name] = ListWatch(entry.provider)
        out[name] = BoundProvider(entry.entry, watches[name])
    return out
