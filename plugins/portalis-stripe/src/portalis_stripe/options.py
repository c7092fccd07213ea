"""The options of a `type: stripe` payments entry, compiled once per portal version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Where Stripe's API is served (tests point `api_base` at a loopback server instead).
DEFAULT_API_BASE = "https://api.stripe.com"
#: Seconds an event's signed timestamp may lie from now (Stripe's libraries use 300 too).
DEFAULT_TOLERANCE = 300


@dataclass(frozen=True, slots=True)
class StripeConfig:
    """What the Stripe provider reads from its entry: the `config` every method receives.

    Frozen and hashable: the provider keeps one `stripe.StripeClient` per config. The two
    secrets are left out of `repr` so a logged config never shows them.
    """

    #: the secret (`sk_…`) or restricted (`rk_…`) API key
    secret_key: str = field(repr=False)
    #: the signing secret of the webhook endpoint (`whsec_…`)
    webhook_secret: str = field(repr=False)
    #: the API's base URL, without a trailing slash
    api_base: str = DEFAULT_API_BASE
    #: how far (seconds) an event's signed timestamp may lie from now
    tolerance_seconds: int = DEFAULT_TOLERANCE
    #: the payment methods offered when the checkout request names none (empty: the Stripe
    #: account's settings decide, "dynamic payment methods")
    payment_method_types: tuple[str, ...] = ()
    #: the suffix shown on card statements after the account's prefix
    statement_descriptor: str | None = None


def compile_options(value: Mapping[str, Any]) -> StripeConfig:
    """The config of a checked entry (its section's schema and check have seen `value`)."""
    descriptor = value.get("statement_descriptor")
    return StripeConfig(
        secret_key=str(value.get("secret_key") or ""),
        webhook_secret=str(value.get("webhook_secret") or ""),
        api_base=str(value.get("api_base") or DEFAULT_API_BASE).rstrip("/"),
        tolerance_seconds=int(value.get("tolerance_seconds") or DEFAULT_TOLERANCE),
        payment_method_types=tuple(str(m) for m in value.get("payment_method_types") or ()),
        statement_descriptor=str(descriptor) if descriptor else None,
    )
