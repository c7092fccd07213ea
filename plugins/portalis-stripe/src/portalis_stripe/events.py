"""Inbound webhook events: verified by the Stripe library, then read into `PaymentEvent`s.

`StripeClient.construct_event` (`stripe.Webhook.construct_event` with the client's own
requestor, so no library-global state is used) checks the `Stripe-Signature` header — an
HMAC-SHA256 of `"<t>.<body>"` with the endpoint's signing secret, compared in constant time —
and that `t` is not older than the tolerance, before the body is parsed. The library measures
age against the wall clock and lets any future `t` pass; the contract's `now` is checked
here as well, both ways, after the signature held (so `t` is authentic when it is read).

Event types the core acts on:

| Stripe event | kind |
|---|---|
| `checkout.session.completed` | `succeeded` when `payment_status` is `paid`, `pending` when `unpaid` (a debit still on its way) |
| `checkout.session.async_payment_succeeded` | `succeeded` |
| `checkout.session.async_payment_failed` | `failed` |
| `checkout.session.expired` | `canceled` |
| `charge.refunded` | `refunded` (the newest refund) |

Every other type is verified and answered None (acknowledged, not stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import stripe

from portalis.api import EventRejected, PaymentEvent

from .objects import refund_event, session_event, text, when
from .options import StripeConfig

SIGNATURE_HEADER = "Stripe-Signature"
#: What a failed asynchronous payment tells staff.
ASYNC_FAILED = "the payment method's asynchronous payment failed"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (the core may hand in a plain dict)."""
    found = headers.get(name)
    if found is not None:
        return found
    lower = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lower), None)


def signed_time(signature: str) -> int:
    """The `t=` of a `Stripe-Signature` header, read as the library reads it (first `t`)."""
    for item in signature.split(","):
        key, _, value = item.partition("=")
        if key == "t":
            return int(value)
    raise ValueError("no timestamp")


def verified_event(
    client: stripe.StripeClient,
    config: StripeConfig,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> dict[str, Any]:
    """The event of an inbound request as a plain dict, or EventRejected."""
    signature = header(headers, SIGNATURE_HEADER) or ""  # the library refuses an empty one
    try:
        event = client.construct_event(
            body, signature, config.webhook_secret, config.tolerance_seconds
        )
    except stripe.SignatureVerificationError as exc:
        raise EventRejected(f"signature: {exc.user_message}") from None
    except ValueError:  # not UTF-8, not JSON, not an event object (after the signature held)
        raise EventRejected("the body is not a Stripe event") from None
    drift = now.timestamp() - signed_time(signature)
    if abs(drift) > config.tolerance_seconds:
        raise EventRejected(f"timestamp outside the tolerance ({int(drift)} s from now)")
    payload = event.to_dict()
    if not isinstance(payload.get("id"), str) or not isinstance(payload.get("type"), str):
        raise EventRejected("the body is not a Stripe event")
    return payload


def payment_event(payload: Mapping[str, Any]) -> PaymentEvent | None:
    """The `PaymentEvent` of a verified event, or None for a type the core does not act on."""
    kind = str(payload["type"])
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping) or not isinstance(payload.get("created"), int):
        raise EventRejected(f"{kind} event without its object")
    event_id, occurred = str(payload["id"]), when(payload["created"])
    try:
        if kind == "checkout.session.completed":
            status = text(obj, "payment_status")
            if status == "paid":
                return session_event(event_id, "succeeded", obj, occurred, None)
            if status == "unpaid":
                return session_event(event_id, "pending", obj, occurred, None)
            return None  # no_payment_required: nothing was charged
        if kind == "checkout.session.async_payment_succeeded":
            return session_event(event_id, "succeeded", obj, occurred, None)
        if kind == "checkout.session.async_payment_failed":
            return session_event(event_id, "failed", obj, occurred, ASYNC_FAILED)
        if kind == "checkout.session.expired":
            return session_event(event_id, "canceled", obj, occurred, "the checkout expired")
        if kind == "charge.refunded":
            previous = data.get("previous_attributes") if isinstance(data, Mapping) else None
            return refund_event(
                event_id, obj, previous if isinstance(previous, Mapping) else None, occurred
            )
    except ValueError as exc:
        raise EventRejected(f"{kind}: {exc}") from None
    return None
