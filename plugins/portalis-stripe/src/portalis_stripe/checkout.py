"""The Checkout Session a checkout request becomes: Stripe's parameters, built without IO.

One line item with inline `price_data` (no Product or Price objects to keep in sync), in
`payment` mode. The core's payment id and the portal travel as `client_reference_id` and
`metadata` on the session and, through `payment_intent_data.metadata`, on the payment intent
and its charges — so every event (a refund's too) names the payment it is about.
"""

from __future__ import annotations

from typing import Any

from portalis.api import CheckoutRequest

from .amounts import to_minor
from .options import StripeConfig

#: The locales Stripe Checkout is shown in (its `locale` parameter), besides `auto`.
CHECKOUT_LOCALES = (
    "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr",
    "fr-CA", "hi-IN", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl",
    "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
)  # fmt: skip
_BY_LOWER = {tag.lower(): tag for tag in CHECKOUT_LOCALES}
#: Language codes Stripe knows under another name.
_ALIASES = {"no": "nb", "nn": "nb", "tl": "fil"}
#: Metadata keys the provider writes (and reads back from events).
PAYMENT_ID_KEY = "payment_id"
PORTAL_KEY = "portal"
#: Stripe's limit for a product name (the line item shown on its page).
NAME_MAX = 250


def checkout_locale(locale: str) -> str:
    """Stripe's locale for the portal's `locale` (`de`, `pt_BR`, `en-US`): the exact tag when
    Stripe has it, else its language, else `auto` (the payer's browser decides)."""
    tag = locale.strip().replace("_", "-").lower()
    if tag in _BY_LOWER:
        return _BY_LOWER[tag]
    language = tag.split("-", 1)[0]
    language = _ALIASES.get(language, language)
    return _BY_LOWER.get(language, "auto")


def checkout_params(request: CheckoutRequest, config: StripeConfig) -> dict[str, Any]:
    """The parameters of `POST /v1/checkout/sessions` for `request` (AmountDoesNotFit when the
    amount cannot be charged exactly in its currency)."""
    unit_amount = to_minor(request.amount, request.currency)
    metadata = {PAYMENT_ID_KEY: request.payment_id, PORTAL_KEY: request.portal}
    name = " ".join(request.description.split()) or f"Payment {request.payment_id}"
    intent: dict[str, Any] = {"metadata": dict(metadata), "description": name[:NAME_MAX]}
    if config.statement_descriptor:
        # Stripe refuses `statement_descriptor` on card charges; the suffix is what it shows
        # after the account's prefix
        intent["statement_descriptor_suffix"] = config.statement_descriptor
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": request.currency.lower(),
                    "unit_amount": unit_amount,
                    "product_data": {"name": name[:NAME_MAX]},
                },
            }
        ],
        "client_reference_id": request.payment_id,
        "metadata": metadata,
        "payment_intent_data": intent,
        "success_url": request.return_url,
        "cancel_url": request.return_url,
        "locale": checkout_locale(request.locale),
    }
    if request.customer_email:
        params["customer_email"] = request.customer_email
    methods = request.methods or config.payment_method_types
    if methods:
        params["payment_method_types"] = list(methods)
    return params
