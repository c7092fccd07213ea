"""The `type: stripe` payments entry's definition section, owned by this plugin: the options'
schema, the checks a schema cannot state and the options that must be `${ENV}` references."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from portalis.api import DefinitionSection, JsonPath, SectionContext

from .options import DEFAULT_API_BASE, DEFAULT_TOLERANCE, compile_options

#: The longest statement descriptor Stripe accepts (the card networks' limit).
DESCRIPTOR_MAX = 22
#: Characters Stripe refuses in statement descriptors.
DESCRIPTOR_FORBIDDEN = frozenset("<>\\'\"*")

#: The options of a `type: stripe` entry (the core adds `type`, `name` and `label`).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "secret_key": {
            "type": "string",
            "description": "The Stripe secret key (sk_…) or a restricted key (rk_…) that may "
            "write Checkout Sessions and Refunds and read Checkout Sessions; use ${ENV_NAME}.",
        },
        "webhook_secret": {
            "type": "string",
            "description": "The signing secret (whsec_…) of the webhook endpoint "
            "<PORTALIS_BASE_URL>/<portal>/_payments/<name>/events; use ${ENV_NAME}.",
        },
        "api_base": {
            "type": "string",
            "description": f"The base URL of Stripe's API (default {DEFAULT_API_BASE}). "
            "Every request goes through the platform's outbound policy "
            "(PORTALIS_OUTBOUND_ALLOW).",
        },
        "tolerance_seconds": {
            "type": "integer",
            "minimum": 1,
            "maximum": 3600,
            "description": "How many seconds an event's signed timestamp may lie from now "
            f"(default {DEFAULT_TOLERANCE}); older or later events are refused.",
        },
        "payment_method_types": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
            "minItems": 1,
            "uniqueItems": True,
            "description": "The payment methods offered (card, sepa_debit, …) when the "
            "payment names none; default: the methods enabled in the Stripe account.",
        },
        "statement_descriptor": {
            "type": "string",
            "minLength": 1,
            "maxLength": DESCRIPTOR_MAX,
            "description": "Text after the account's prefix on the payer's card statement "
            "(Stripe's statement descriptor suffix): Latin letters, digits, spaces and "
            "punctuation except < > \\ ' \" *, at least one letter.",
        },
    },
    "required": ["secret_key", "webhook_secret"],
    "additionalProperties": False,
    "description": "Stripe Checkout: hosted payment pages, signed webhook events, refunds.",
}


def descriptor_problem(text: str) -> str | None:
    """Why Stripe would refuse `text` as a statement descriptor, or None."""
    if len(text) > DESCRIPTOR_MAX:
        return f"is {len(text)} characters long; Stripe accepts at most {DESCRIPTOR_MAX}"
    if any(not (" " <= c <= "~") for c in text):
        return "has characters outside Latin letters, digits, spaces and punctuation"
    forbidden = sorted({c for c in text if c in DESCRIPTOR_FORBIDDEN})
    if forbidden:
        return "contains " + " ".join(forbidden) + ", which Stripe refuses"
    if not any(c.isalpha() for c in text):
        return "has no letter; Stripe needs at least one"
    return None


def api_base_problem(url: str) -> str | None:
    """Why `url` is not a usable API base (an absolute http(s) URL of a host, no path), or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("https", "http") or not host:
        return "is not an absolute https URL"
    if parts.username is not None or parts.password is not None:
        return "has credentials in it"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "has a path, query or fragment (write only scheme, host and port)"
    return None


def key_problem(key: str) -> str | None:
    """Why `key` cannot be the secret key (the key itself is never quoted), or None."""
    if key.startswith("pk_"):
        return "is a publishable key (pk_…), which cannot create payments"
    return None


#: The checks a schema cannot state: option → (why its value is wrong, or None; the hint).
CHECKS: dict[str, tuple[Callable[[str], str | None], str]] = {
    "statement_descriptor": (
        descriptor_problem,
        "write up to 22 Latin letters, digits and spaces, e.g. ACME INVOICE",
    ),
    "api_base": (api_base_problem, f"leave it out for Stripe itself ({DEFAULT_API_BASE})"),
    "secret_key": (key_problem, "use the account's secret key (sk_…) or a restricted key (rk_…)"),
}


def check_stripe(value: Mapping[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """What the schema cannot say: the descriptor's characters, the API base's form, and a
    publishable key where the secret key belongs."""
    for option, (problem, hint) in CHECKS.items():
        given = value.get(option)
        why = problem(given) if isinstance(given, str) else None
        if why is not None:
            ctx.problem("schema-format", f"{option} {why}", (*path, option), hint)


STRIPE_SECTION = DefinitionSection(
    "payment",
    "stripe",
    SCHEMA,
    "Stripe",
    "Payments through Stripe Checkout: the payer is sent to a page hosted by Stripe (card "
    "data never reaches the portal); Stripe reports the outcome with signed webhook events "
    "(checkout.session.completed, async_payment_succeeded/failed, expired, charge.refunded), "
    "which the portal verifies before it reads them. Staff refund through Stripe's Refunds "
    "API; `portalis payments reconcile` lists the Checkout Sessions.",
    "label: {en: Card, de: Karte}\n"
    'secret_key: "${STRIPE_SECRET_KEY}"\n'
    'webhook_secret: "${STRIPE_WEBHOOK_SECRET}"\n'
    "payment_method_types: [card, sepa_debit]\n"
    "statement_descriptor: ACME INVOICE",
    check_stripe,
    compile_options,
    secret_options=("secret_key", "webhook_secret"),
)
