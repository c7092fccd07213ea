"""The portal's payment routes: inbound provider events, a payment's page, and the step
that sends the payer on to the provider's hosted checkout.

- `POST /_payments/<provider>/events` is called by the provider, not a browser: no session,
  no CSRF token (the signature authenticates it). The provider verifies the signature and
  the timestamp *before* anything is read or stored (a bad one is 400 and leaves no trace);
  the engine then stores the event id once and applies it in one transaction. Every verified
  event is answered 200 — also a replay, one for a payment of another portal, or one whose
  amount disagreed and flagged its payment — so the provider stops retrying; a failure
  while applying is 500, and the provider retries.
- `GET /_payments/<payment>` is where the provider sends the payer back. It shows the stored
  status: a redirect is never proof of payment, so "Processing" lasts until the event
  arrives; a small script asks again while the payment is not final.
- `GET /_payments/<payment>/checkout` sends the payer to the provider's page. The pay form
  posts to the portal and lands here; going on from a page of our own (not a redirect of the
  form's POST) keeps the CSP's `form-action 'self'` intact for every provider origin.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from flask import Response, abort, current_app, g, request

from portalis.engine.data.errors import Forbidden, NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.data.tables import utcnow
from portalis.engine.payments.errors import PaymentUnavailable
from portalis.engine.payments.events import apply_event
from portalis.engine.payments.payments import payment as read_payment
from portalis.engine.payments.provider import EventRejected
from portalis.engine.payments.records import Payment

from ..auth.common import login_redirect, render
from ..display import page_for
from ..i18n import format_money
from ..problem import problem_response
from ..registry import RuntimePortal
from ..templating import label
from ..urls import page_url, portal_url
from .flow import PAYMENT_PATH, request_context
from .labels import method_label, status_label
from .setup import bound_providers

log = logging.getLogger("portalis.runtime.payments")

#: Largest event body read (providers' events are a few kilobytes).
MAX_EVENT_BYTES: Final = 256 * 1024
#: Statuses after which the payment page stops asking again.
FINAL: Final = frozenset({"succeeded", "failed", "canceled", "refunded", "partially_refunded",
                          "flagged"})  # fmt: skip


def events_view(portal: RuntimePortal, actor: Actor, provider: str) -> Response:
    """POST /_payments/<provider>/events (see the module docstring)."""
    try:
        bound = bound_providers(portal).get(provider)
    except PaymentUnavailable:
        return problem_response(503, "payment-unavailable", headers={"Retry-After": "60"})
    if bound is None:
        abort(404)
    if (request.content_length or 0) > MAX_EVENT_BYTES:
        return problem_response(413, "event-too-large")
    body = request.get_data(cache=False)
    if len(body) > MAX_EVENT_BYTES:
        return problem_response(413, "event-too-large")
    try:
        event = bound.provider.parse_event(
            bound.config, body, dict(request.headers.items()), utcnow(), request_context(portal)
        )
    except EventRejected as exc:
        log.warning("payment event for %s/%s refused: %s", portal.slug, provider, exc.reason)
        return problem_response(400, "event-rejected", "the event's signature does not hold")
    if event is None:
        return _answer({"result": "ignored"})
    outcome = apply_event(portal.store, bound.name, event)
    if outcome.result in ("flagged", "unknown"):
        log.warning("payment event %s of %s/%s: %s %s", event.event_id, portal.slug, provider,
                    outcome.result, outcome.note)  # fmt: skip
    return _answer({"result": outcome.result, "payment": outcome.payment_id,
                    "status": outcome.status})  # fmt: skip


def _answer(body: dict[str, Any]) -> Response:
    return Response(current_app.json.dumps(body), 200, mimetype="application/json")


def _payment(portal: RuntimePortal, actor: Actor, payment: str) -> Payment:
    try:
        return read_payment(portal.store, actor, payment)
    except (NotFound, Forbidden):
        abort(404)


def payment_view(portal: RuntimePortal, actor: Actor, payment: str) -> Any:
    """GET /_payments/<payment>: the payment as stored (see the module docstring)."""
    if not actor.is_authenticated:
        return login_redirect()
    found = _payment(portal, actor, payment)
    if request.args.get("part") == "status":
        return render("payments/_status.html", **_status_context(portal, actor, found))
    return render("payments/payment.html", **_status_context(portal, actor, found))


def checkout_view(portal: RuntimePortal, actor: Actor, payment: str) -> Any:
    """GET /_payments/<payment>/checkout: on to the provider's page, for the payer of a
    payment that waits for them; anyone else (or later) sees the payment's page."""
    if not actor.is_authenticated:
        return login_redirect()
    found = _payment(portal, actor, payment)
    page = portal_url(PAYMENT_PATH.format(payment=found.id))
    mine = found.created_by is not None and found.created_by == actor.id
    if not mine or found.status != "open" or not found.checkout_url:
        return Response(status=303, headers={"Location": page})
    return render("payments/checkout.html", target=found.checkout_url, payment_url=page,
                  provider=_provider_label(portal, found))  # fmt: skip


def _provider_label(portal: RuntimePortal, found: Payment) -> str:
    try:
        bound = bound_providers(portal).get(found.provider)
    except PaymentUnavailable:
        bound = None
    return label(bound.entry.label, found.provider) if bound is not None else found.provider


def _status_context(portal: RuntimePortal, actor: Actor, found: Payment) -> dict[str, Any]:
    """What the payment's page and its status fragment show."""
    locale = str(g.get("locale") or portal.compiled.model.default_locale)
    entity = portal.compiled.model.entities.get(found.entity)
    shown = page_for(portal, actor, "detail", found.entity)
    record_url = page_url(shown.name, found.record_id) if shown is not None else None
    return {
        "payment": found,
        "status_text": status_label(found.status),
        "final": found.status in FINAL,
        "amount": format_money(found.amount, found.currency, locale),
        "refunded": format_money(found.refunded, found.currency, locale) if found.refunded else "",
        "method": method_label(found.method),
        "provider": _provider_label(portal, found),
        "record_url": record_url,
        "record_label": label(entity.label, found.entity) if entity is not None else found.entity,
        "status_url": portal_url(PAYMENT_PATH.format(payment=found.id), part="status"),
        "page_url": portal_url(PAYMENT_PATH.format(payment=found.id)),
        "checkout_url": portal_url(PAYMENT_PATH.format(payment=found.id) + "/checkout")
        if found.status == "open" and found.created_by == actor.id and found.checkout_url
        else None,
    }


VIEWS = {
    "sys:payment_events": events_view,
    "sys:payment": payment_view,
    "sys:payment_checkout": checkout_view,
}
