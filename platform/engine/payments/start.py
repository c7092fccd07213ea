"""Starting a payment: a payment row, then the provider's hosted checkout.

The payer needs the `pay` action on the record (a record they cannot read does not exist for
them: NotFound; one they read without `pay`: Forbidden). What is open is read as the system
(the payer's grants may hide the amount field); the amount is all of it, or — with
`partial` — a part of at least the minimum. The payment is stored `created`, with its audit
entry, and committed before the provider is called: no transaction is held across the
network, and a crash in between leaves a row that says what was attempted. The checkout's
reference then makes the payment `open`; a refusal makes it `failed` with the provider's
message, and raises `ProviderFailed`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.db import begin_write
from ..data.errors import FieldMessage, ValidationFailed
from ..data.permissions import Actor
from ..data.system_tables import payments
from ..data.tables import utcnow
from ..definition.payable_spec import Payable
from .errors import NothingToPay, PaymentUnavailable, ProviderFailed
from .journal import locked, update, write_audit
from .payable import as_system, describe, open_amount, payable_entity, payment_amount
from .provider import Checkout, CheckoutRequest, ProviderContext, ProviderError
from .records import Payment, StartedPayment, new_id, payment_of
from .registry import BoundProvider

if TYPE_CHECKING:
    from ..data.store import RecordStore

#: The form key of provider errors.
PROVIDER_KEY = "provider"


def start_payment(
    store: RecordStore,
    actor: Actor,
    entity_name: str,
    record_id: Any,
    *,
    amount: Decimal | None,
    provider: str | None,
    return_url: Callable[[str], str],
    events_url: Callable[[str], str],
    locale: str,
    context: ProviderContext,
    providers: Mapping[str, BoundProvider],
) -> StartedPayment:
    """Start paying `amount` (None: all that is open) of a record at `provider` (None: the
    entity's first); see the module docstring. `return_url(payment_id)` is where the
    provider sends the payer back, `events_url(provider_name)` where it posts its events.

    NotFound, Forbidden, ValidationFailed (keys `amount`, `provider`), NothingToPay (409),
    PaymentUnavailable (no loaded plugin serves the provider) and ProviderFailed.
    """
    entity, spec = payable_entity(store, entity_name)
    with begin_write(store.engine) as conn:
        visible = store.get(actor, entity.name, record_id, action="pay", conn=conn)
        rid = visible.id
        bound = _chosen(spec, provider, providers)
        record = as_system(store, conn, entity, rid)
        left = open_amount(record, spec)
        if left is None or left.amount <= 0:
            raise NothingToPay()
        value = payment_amount(amount, left, partial=spec.partial, minimum=spec.minimum)
        now, payment_id = utcnow(), new_id("pay")
        # the runtime's URLs, before anything is stored: one that cannot be made stores nothing
        back, events = return_url(payment_id), events_url(bound.name)
        row = {
            "id": payment_id, "portal": store.model.slug, "entity": entity.name,
            "record_id": rid, "provider": bound.name, "provider_type": bound.entry.type,
            "amount": value, "currency": left.currency, "status": "created",
            "refunded": Decimal(0), "created_by": actor.id, "created_at": now, "updated_at": now,
        }  # fmt: skip
        conn.execute(payments.insert().values(**row))
        payment = payment_of(
            conn.execute(sa.select(payments).where(payments.c.id == row["id"])).mappings().one()
        )
        write_audit(store, conn, actor, "payment_start", payment, {})
        # the provider's page shows the payer what they may read of the record, no more
        description = describe(store.model, entity, spec, visible, locale)
    request = CheckoutRequest(
        payment_id=payment.id,
        portal=payment.portal,
        amount=value,
        currency=payment.currency,
        description=description,
        return_url=back,
        events_url=events,
        locale=locale,
        customer_email=actor.email or None,
    )
    checkout = _checkout(store, actor, payment, bound, request, context)
    return StartedPayment(_opened(store, actor, payment, checkout), checkout.redirect_url,
                          checkout.expires_at)  # fmt: skip


def _chosen(
    spec: Payable, name: str | None, providers: Mapping[str, BoundProvider]
) -> BoundProvider:
    """The provider entry to pay at: `name`, or the entity's first."""
    chosen = name or spec.providers[0]
    if chosen not in spec.providers:
        offered = ", ".join(spec.providers)
        message = FieldMessage("choice", "choose one of {offered}", {"offered": offered})
        raise ValidationFailed({PROVIDER_KEY: [message]})
    bound = providers.get(chosen)
    if bound is None:
        raise PaymentUnavailable(f"payment provider {chosen!r} is not loaded")
    return bound


def _checkout(
    store: RecordStore,
    actor: Actor,
    payment: Payment,
    bound: BoundProvider,
    request: CheckoutRequest,
    context: ProviderContext,
) -> Checkout:
    """The provider's checkout; a refusal (or a checkout without a web page) fails the
    payment and raises ProviderFailed."""
    try:
        checkout = bound.provider.create_checkout(bound.config, request, context)
    except ProviderError as exc:
        _failed(store, actor, payment, exc.message)
        raise ProviderFailed(exc.message, retryable=exc.retryable) from exc
    except Exception as exc:  # a broken provider: the payment must not stay `created`
        _failed(store, actor, payment, f"unexpected error: {exc.__class__.__name__}")
        raise
    if not checkout.redirect_url.startswith(("https://", "http://")) or not checkout.reference:
        why = "the provider's checkout has no reference or no web page to send the payer to"
        _failed(store, actor, payment, why)
        raise ProviderFailed(why)
    return checkout


def _opened(store: RecordStore, actor: Actor, payment: Payment, checkout: Checkout) -> Payment:
    """The payment with its checkout's reference, `open` unless an event came first."""
    try:
        with begin_write(store.engine) as conn:
            current = locked(conn, payment.portal, payment.id)
            assert current is not None  # payments are never deleted
            values: dict[str, Any] = {}
            if current.reference is None:
                values["reference"] = checkout.reference[:255]
                values["checkout_url"] = checkout.redirect_url[:2000]
            if current.status == "created":
                values["status"] = "open"
            return update(conn, current, values)
    except sa.exc.IntegrityError:
        why = f"the provider's checkout reference {checkout.reference!r} names another payment"
        _failed(store, actor, payment, why)
        raise ProviderFailed(why) from None


def _failed(store: RecordStore, actor: Actor, payment: Payment, why: str) -> None:
    """Mark a payment that never got its checkout `failed` (an event may have come first)."""
    with begin_write(store.engine) as conn:
        current = locked(conn, payment.portal, payment.id)
        if current is None or current.status != "created":
            return
        failed = update(conn, current, {"status": "failed", "reason": why[:500]})
        write_audit(store, conn, actor, "payment_failed", failed, {"reason": why})
