"""What the Stripe library raised, as a `ProviderError` staff may read.

Retryable: the network could not be reached or timed out, Stripe limited the rate (429), had
an internal error (5xx) or was still working on the same idempotency key (409) — the same
request, with the same idempotency key, may succeed later; a `Stripe-Should-Retry` header
overrides that guess. Everything else (a refused card, an invalid request, a bad API key, the
outbound policy) needs someone to change something.

Messages name Stripe's error type and code and quote Stripe's own message (written for
developers; it never contains card numbers, and API keys in it are masked by Stripe), cut to
a length a staff page can show, plus Stripe's request id for its support.
"""

from __future__ import annotations

import stripe

from portalis.api import OutboundRefused, ProviderError

#: The longest piece of Stripe's message quoted.
MESSAGE_MAX = 300


def provider_error(exc: Exception, doing: str) -> ProviderError:
    """The `ProviderError` for `exc`, raised while `doing` ("creating the checkout", …)."""
    if isinstance(exc, OutboundRefused):
        return ProviderError(f"Stripe was not called while {doing}: {exc}")
    if isinstance(exc, stripe.APIConnectionError):
        return ProviderError(
            f"Stripe could not be reached while {doing}: {_clean(exc.user_message)}",
            retryable=True,
        )
    if isinstance(exc, stripe.AuthenticationError):
        # the message would quote (a masked form of) the key: say what to do instead
        return ProviderError(
            f"Stripe refused the API key while {doing}{_request(exc)}: check secret_key"
        )
    if isinstance(exc, stripe.PermissionError):
        return ProviderError(
            f"the API key may not do this while {doing}{_request(exc)}: "
            "give the restricted key write access to Checkout Sessions and Refunds"
        )
    if isinstance(exc, stripe.StripeError):
        return ProviderError(
            f"Stripe refused {doing} ({_kind(exc)}){_request(exc)}: {_clean(exc.user_message)}",
            retryable=_retryable(exc),
        )
    return ProviderError(f"unexpected error while {doing}: {exc.__class__.__name__}")


def _retryable(exc: stripe.StripeError) -> bool:
    """Stripe's own advice (`Stripe-Should-Retry`) when it gives one; else a rate limit, a
    request still running under the same idempotency key (409: Stripe asks to retry it) and
    Stripe's internal errors."""
    advice = (exc.headers or {}).get("stripe-should-retry")
    if advice in ("true", "false"):
        return advice == "true"
    status = exc.http_status or 0
    return isinstance(exc, stripe.RateLimitError) or status == 409 or status >= 500


def _kind(exc: stripe.StripeError) -> str:
    error = exc.error
    kind = (error.type if error is not None else None) or f"HTTP {exc.http_status}"
    code = exc.code or (error.code if error is not None else None)
    return f"{kind}, {code}" if code else str(kind)


def _request(exc: stripe.StripeError) -> str:
    return f", request {exc.request_id}" if exc.request_id else ""


def _clean(message: str | None) -> str:
    text = " ".join((message or "no message").split())
    text = "".join(c for c in text if c.isprintable())
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"
