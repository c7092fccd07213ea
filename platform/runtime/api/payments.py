"""The API of online payments, for entities with `payable:`:
`/api/v1/<entity>/<id>/pay`, `…/payments` and `…/payments/<payment>/refunds`.

- `POST …/pay` with `{amount?, provider?}` starts a payment (the `pay` action): the service
  stores it, the provider makes its hosted checkout → 201 with the payment, its
  `redirect_url` (send the payer there) and `Location`: the portal's page of the payment,
  where the provider sends the payer back and which shows the stored status;
- `GET …/payments` lists the record's payments, newest first, each with its refunds, to
  whoever may read the record;
- `POST …/payments/<payment>/refunds` with `{amount?, reason?}` refunds all or part of a paid
  payment of that record (the `refund` action) → 201 with the refund.

The answers come in this order: an entity the actor cannot read 404 (401 for anonymous
actors); a missing CSRF header 403; an entity without `payable:`, a record the actor cannot
read or a payment of another record 404; a record they may not pay or refund 403; the body
415/400/422 (`payment_json`); then the payment service: 409 `nothing-to-pay` or
`refund-refused`, 422 for an amount or provider it refuses, 502 `provider-failed` (the
provider's message for staff, a generic one for customers, who cannot act on it) and 503
`payment-unavailable`. POSTs honour `Idempotency-Key`; no transaction is held while the
provider is called (`writes.at_most_once_apart`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from flask import Response, g

from portalis.engine.data.errors import NON_FIELD, Forbidden, NotFound, RuleConflict
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.model import Entity
from portalis.engine.payments.errors import (
    NothingToPay,
    PaymentUnavailable,
    ProviderFailed,
    RefundRefused,
)
from portalis.engine.payments.payments import payment, payments_of
from portalis.engine.payments.refunds import refund_payment
from portalis.engine.payments.start import start_payment

from ..auth.common import absolute_url
from ..payments.setup import bound_providers, provider_context
from ..problem import ApiProblem, field_errors_json, not_found
from ..urls import portal_url
from .payment_json import (
    pay_request,
    payment_json,
    refund_json,
    refund_request,
    started_json,
)
from .records import json_response, readable_entity
from .writes import at_most_once_apart, request_json, require_csrf

if TYPE_CHECKING:
    from ..registry import RuntimePortal

log = logging.getLogger("portalis.runtime.api")

#: The portal's page of a payment (`/_payments/<id>`) and its providers' events
#: (`/_payments/<provider>/events`).
PAYMENT_PAGES: Final = "/_payments"
#: Longest payment id (the column's length): a longer one names no payment.
MAX_PAYMENT_ID: Final = 40
#: What a customer reads when the provider failed: its message is for staff (a key that
#: expired, an account setting) and the customer cannot act on it.
PROVIDER_FAILED: Final = (
    "the payment provider did not accept the request; please try again later or choose "
    "another payment method"
)


def payable_entity(portal: RuntimePortal, actor: Actor, name: str) -> Entity:
    """The entity when the actor may read it and it is payable; else 404 (401 anonymous)."""
    entity = readable_entity(portal, actor, name)
    if entity.payable is None:
        raise not_found()
    return entity


def sees_provider_messages(
    portal: RuntimePortal, actor: Actor, entity: Entity, record_id: int
) -> bool:
    """True for staff: an actor with a staff role, or one who may refund the record."""
    roles = portal.compiled.model.roles
    if any(roles[r].staff for r in actor.roles if r in roles):
        return True
    if not portal.compiled.policy.grants_for(actor, entity.name, "refund"):
        return False
    try:
        portal.store.get(actor, entity.name, record_id, action="refund")
    except (NotFound, Forbidden):
        return False
    return True


@contextmanager
def service_problems(
    portal: RuntimePortal, actor: Actor, entity: Entity, record_id: int
) -> Iterator[None]:
    """The payment service's own errors as problems (the record store's pass through)."""
    try:
        yield
    except (NothingToPay, RefundRefused) as exc:
        raise _conflict(exc) from exc
    except ProviderFailed as exc:
        log.warning("payment provider failed for %s %s: %s", entity.name, record_id, exc)
        staff = sees_provider_messages(portal, actor, entity, record_id)
        raise ApiProblem(
            502, "provider-failed", exc.message if staff else PROVIDER_FAILED,
            retryable=exc.retryable,
        ) from exc  # fmt: skip
    except PaymentUnavailable as exc:
        log.error("payments of %s unavailable: %s", portal.slug, exc)
        raise ApiProblem(503, "payment-unavailable", "online payment is not available") from exc


def _conflict(exc: RuleConflict) -> ApiProblem:
    """409 with the service's code and its message (the state refuses, not the input)."""
    messages = exc.errors.get(NON_FIELD) or []
    detail = messages[0].text() if messages else str(exc)
    return ApiProblem(409, exc.code, detail, errors=field_errors_json(exc.errors))


def pay(portal: RuntimePortal, actor: Actor, entity: str, id: int) -> Response:
    """`POST …/pay`: start a payment of the record at a provider."""
    target = payable_entity(portal, actor, entity)
    require_csrf()
    portal.store.get(actor, target.name, id, action="pay")
    body = request_json()
    asked = pay_request(body)
    locale = str(g.get("locale") or portal.compiled.model.default_locale)

    def start() -> Response:
        with service_problems(portal, actor, target, id):
            started = start_payment(
                portal.store, actor, target.name, id, amount=asked.amount,
                provider=asked.provider,
                return_url=lambda payment_id: absolute_url(f"{PAYMENT_PAGES}/{payment_id}"),
                events_url=lambda name: absolute_url(f"{PAYMENT_PAGES}/{name}/events"),
                locale=locale, context=provider_context(), providers=bound_providers(portal),
            )  # fmt: skip
        staff = sees_provider_messages(portal, actor, target, id)
        response = json_response(started_json(started, staff=staff), 201)
        response.headers["Location"] = portal_url(f"{PAYMENT_PAGES}/{started.payment.id}")
        return response

    return at_most_once_apart(portal, actor, f"/{target.name}/{id}/pay", body, start)


def payment_list(portal: RuntimePortal, actor: Actor, entity: str, id: int) -> Response:
    """`GET …/payments`: the record's payments with their refunds."""
    target = payable_entity(portal, actor, entity)
    found = payments_of(portal.store, actor, target.name, id)
    staff = sees_provider_messages(portal, actor, target, id)
    return json_response({"items": [payment_json(p, staff=staff) for p in found]})


def refunds(portal: RuntimePortal, actor: Actor, entity: str, id: int, payment: str) -> Response:
    """`POST …/payments/<payment>/refunds`: refund all or part of a paid payment."""
    target = payable_entity(portal, actor, entity)
    require_csrf()
    portal.store.get(actor, target.name, id, action="refund")
    if len(payment) > MAX_PAYMENT_ID:
        raise not_found()
    paid = _payment_of_record(portal, actor, target, id, payment)
    body = request_json()
    asked = refund_request(body)

    def refund() -> Response:
        with service_problems(portal, actor, target, id):
            made = refund_payment(
                portal.store, actor, paid, asked.amount, asked.reason,
                context=provider_context(), providers=bound_providers(portal),
            )  # fmt: skip
        # whoever may refund the record is staff for it
        return json_response(refund_json(made, staff=True), 201)

    path = f"/{target.name}/{id}/payments/{paid}/refunds"
    return at_most_once_apart(portal, actor, path, body, refund)


def _payment_of_record(
    portal: RuntimePortal, actor: Actor, entity: Entity, record_id: int, payment_id: str
) -> str:
    """The id of the payment when it is one of this record's; else 404."""
    found = payment(portal.store, actor, payment_id)
    if (found.id, found.entity, found.record_id) != (payment_id, entity.name, record_id):
        raise not_found()
    return found.id
