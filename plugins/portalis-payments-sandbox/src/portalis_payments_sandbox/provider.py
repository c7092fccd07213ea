"""`SandboxProvider`: the `sandbox` payment provider type (see `portalis.api.PaymentProvider`).

The "network" is this plugin: a checkout is a row of `portalis_sandbox_checkout`, the hosted
page is the plugin's platform-level page at `/_sandbox-pay/<id>`, and events come from that
page, signed with the entry's `secret` (or, without one, a key the platform derives from its
own secret key for the sandbox). No request leaves the platform, so the outbound
policy of the context is not needed; the checkout's URLs come from the core.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from portalis.api import (
    Checkout,
    CheckoutRequest,
    EventRejected,
    PaymentEvent,
    PaymentEventKind,
    ProviderContext,
    ProviderError,
    ProviderPayment,
    RefundResult,
    utcnow,
)

from . import refunds, signing, store
from .events import read_event
from .section import PROVIDER_NAME, SandboxConfig

#: Where the hosted page is served (a platform path: portal slugs start with a letter).
PAGE_PREFIX = "/_sandbox-pay"
#: The query parameter of a checkout link that carries its link code.
LINK_PARAM = "link"
#: What the installation's derived key is for, when an entry gives no `secret`.
DERIVED_PURPOSE = "payments-sandbox"


def sandbox_config(config: object) -> SandboxConfig:
    """`config` as the sandbox's (the core hands each provider its own section's object)."""
    if not isinstance(config, SandboxConfig):
        raise TypeError(f"the sandbox provider got a {type(config).__name__} as its config")
    return config


def signing_secret(options: SandboxConfig, context: ProviderContext) -> str:
    """The entry's key: its `secret`, else the installation's key derived for the sandbox."""
    return options.secret if options.secret is not None else context.derive_key(DERIVED_PURPOSE)


def checkout_path(secret: str, checkout_id: str) -> str:
    """The hosted page of a checkout, with its link code (relative to the platform root)."""
    return f"{PAGE_PREFIX}/{checkout_id}?{LINK_PARAM}={signing.link_code(secret, checkout_id)}"


def _usable_url(url: str, what: str) -> None:
    """An absolute http(s) URL, or a path on this server (`/acme/_payments/…`)."""
    parts = urlsplit(url)
    relative = url.startswith("/") and not url.startswith("//") and not parts.scheme
    absolute = parts.scheme in ("http", "https") and bool(parts.hostname)
    if not (relative or absolute) or "\\" in url or any(ord(c) < 33 for c in url):
        raise ProviderError(f"the {what} {url!r} is neither an http(s) URL nor a path")


def _payment_status(row: store.CheckoutRow, now: datetime) -> PaymentEventKind | None:
    """What the network says about a checkout: nothing while the payer has not chosen; a
    due settlement has happened even before the page sent its event."""
    if row.is_open:
        return None
    if row.status == "pending":
        due = row.settle_at is not None and row.settle_at <= now
        return "succeeded" if due else "pending"
    if row.status == "succeeded":
        return "refunded" if row.refunded >= row.amount else "succeeded"
    return "failed" if row.status == "failed" else "canceled"


class SandboxProvider:
    """The `sandbox` payment provider type."""

    name = PROVIDER_NAME

    def create_checkout(
        self, config: object, request: CheckoutRequest, context: ProviderContext
    ) -> Checkout:
        """A checkout row and the link to its hosted page under `context.base_url`."""
        options = sandbox_config(config)
        if not request.amount.is_finite() or request.amount <= 0:
            raise ProviderError("the sandbox takes payments of more than 0")
        if len(request.currency) != 3 or not request.currency.isalpha():
            raise ProviderError(f"{request.currency!r} is not a currency code")
        _usable_url(request.return_url, "return URL")
        _usable_url(request.events_url, "events URL")
        now = utcnow()
        secret = signing_secret(options, context)
        key = signing.key_id(secret)
        store.ensure_key(context.engine, key, secret, now)
        row = store.insert_checkout(context.engine, key, request, options.settle_after_seconds, now)
        base = context.base_url.rstrip("/")
        return Checkout(reference=row.id, redirect_url=base + checkout_path(secret, row.id))

    def parse_event(
        self,
        config: object,
        body: bytes,
        headers: Mapping[str, str],
        now: datetime,
        context: ProviderContext | None = None,
    ) -> PaymentEvent | None:
        """The event of a request signed with the entry's secret within its tolerance (the
        signature is checked before the body is read)."""
        options = sandbox_config(config)
        if options.secret is None and context is None:
            raise EventRejected("the sandbox's derived key needs the provider context")
        secret = signing_secret(options, context) if context is not None else options.secret
        assert secret is not None  # one of the two, checked above
        moment = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        signing.verify(secret, body, headers, moment.timestamp(), options.tolerance_seconds)
        return read_event(body)

    def refund(
        self,
        config: object,
        transaction: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        context: ProviderContext,
    ) -> RefundResult:
        """Give back `amount` of a succeeded sandbox payment at once."""
        options = sandbox_config(config)
        ask = refunds.RefundAsk(
            signing.key_id(signing_secret(options, context)),
            transaction,
            amount,
            currency,
            idempotency_key,
        )
        refund_id = refunds.refund(context.engine, ask, utcnow())
        return RefundResult(reference=refund_id, status="succeeded")

    def list_payments(
        self, config: object, since: datetime, context: ProviderContext
    ) -> Iterable[ProviderPayment]:
        """The checkouts of this entry's secret created since `since` that the payer has
        decided (open checkouts are no payments yet)."""
        options = sandbox_config(config)
        now = utcnow()
        moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        found = []
        key = signing.key_id(signing_secret(options, context))
        for row in store.since(context.engine, key, moment):
            status = _payment_status(row, now)
            if status is not None:
                found.append(
                    ProviderPayment(
                        reference=row.id,
                        payment_id=row.payment_id,
                        amount=row.amount,
                        currency=row.currency,
                        status=status,
                        created_at=row.created_at,
                        refunded=row.refunded,
                    )
                )
        return found
