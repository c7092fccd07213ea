"""Checkout creation against the loopback Stripe: what the library sent, what came back, and
how Stripe's refusals, an unreachable Stripe and the outbound policy surface."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from portalis_stripe import StripeProvider
from stripe_cases import RETURN, StripeWorld
from stripe_loopback import API_KEY, Failure

from portalis.api import OutboundPolicy, ProviderError

SESSIONS = "/v1/checkout/sessions"


def refused(world: StripeWorld, **changes: object) -> ProviderError:
    """The ProviderError of a checkout of `checkout_request(**changes)`."""
    with pytest.raises(ProviderError) as raised:
        world.checkout(**changes)
    return raised.value


def test_a_checkout_session_carries_the_payment(world: StripeWorld) -> None:
    checkout = world.checkout()

    (sent,) = world.api.to("POST", SESSIONS)
    assert sent.header("Authorization") == f"Bearer {API_KEY}"
    assert sent.header("Content-Type") == "application/x-www-form-urlencoded"
    assert sent.header("Idempotency-Key") == "portalis-checkout-acme-pay_T3st"
    # form-encoded as the library sends it: nested keys, values as text
    assert "line_items[0][price_data][unit_amount]=1050" in sent.raw
    assert sent.params["mode"] == "payment"
    assert sent.params["line_items"] == [
        {
            "quantity": "1",
            "price_data": {
                "currency": "eur",
                "unit_amount": "1050",
                "product_data": {"name": "Invoice INV-2026-00017"},
            },
        }
    ]
    assert sent.params["client_reference_id"] == "pay_T3st"
    assert sent.params["metadata"] == {"payment_id": "pay_T3st", "portal": "acme"}
    intent = sent.params["payment_intent_data"]
    assert intent["metadata"] == {"payment_id": "pay_T3st", "portal": "acme"}
    assert intent["description"] == "Invoice INV-2026-00017"
    assert "statement_descriptor_suffix" not in intent
    assert sent.params["success_url"] == RETURN and sent.params["cancel_url"] == RETURN
    assert sent.params["customer_email"] == "anna@acme.test"
    assert sent.params["locale"] == "de"
    assert "payment_method_types" not in sent.params  # the account's settings decide

    session = world.api.sessions[checkout.reference]
    assert checkout.reference.startswith("cs_test_")
    assert checkout.redirect_url == session["url"]
    assert checkout.expires_at == datetime.fromtimestamp(session["expires_at"], UTC)
    assert session["amount_total"] == 1050 and session["currency"] == "eur"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("10.50", "EUR", "1050"),
        ("0.5", "USD", "50"),
        ("1500", "JPY", "1500"),  # zero-decimal: yen, not hundredths of a yen
        ("1500.00", "JPY", "1500"),
        ("12.340", "KWD", "12340"),  # three decimals, the last one 0
        ("2500", "ISK", "250000"),  # two decimals in the API, whole krónur only
    ],
)
def test_amounts_go_out_in_the_currencys_minor_units(
    world: StripeWorld, amount: str, currency: str, minor: str
) -> None:
    checkout = world.checkout(amount=Decimal(amount), currency=currency)
    (sent,) = world.api.to("POST", SESSIONS)
    price = sent.params["line_items"][0]["price_data"]
    assert (price["unit_amount"], price["currency"]) == (minor, currency.lower())
    assert world.api.sessions[checkout.reference]["amount_total"] == int(minor)


@pytest.mark.parametrize(
    ("amount", "currency", "why"),
    [
        ("10.505", "EUR", "more precision than EUR"),
        ("1500.5", "JPY", "more precision than JPY (whole units)"),
        ("5.124", "KWD", "multiples of 0.010"),
        ("2500.50", "ISK", "whole units only"),
        ("0", "EUR", "not a positive amount"),
        ("NaN", "EUR", "is not an amount"),
    ],
)
def test_amounts_that_do_not_fit_are_refused_before_anything_is_sent(
    world: StripeWorld, amount: str, currency: str, why: str
) -> None:
    error = refused(world, amount=Decimal(amount), currency=currency)
    assert why in error.message and not error.retryable
    assert world.api.requests == []


@pytest.mark.parametrize(
    ("locale", "sent"),
    [("en", "en"), ("fr", "fr"), ("es", "es"), ("pt_BR", "pt-BR"), ("en-gb", "en-GB"),
     ("de-AT", "de"), ("no", "nb"), ("eo", "auto"), ("", "auto")],
)  # fmt: skip
def test_the_locale_is_one_stripe_checkout_speaks(
    world: StripeWorld, locale: str, sent: str
) -> None:
    world.checkout(locale=locale)
    assert world.api.to("POST", SESSIONS)[0].params["locale"] == sent


def test_methods_descriptor_and_missing_email(world: StripeWorld) -> None:
    configured = world.with_config(
        payment_method_types=("card", "sepa_debit"), statement_descriptor="ACME INVOICE"
    )
    configured.checkout(customer_email=None)
    configured.checkout(payment_id="pay_Tw0", methods=("paypal",))
    first, second = world.api.to("POST", SESSIONS)
    assert first.params["payment_method_types"] == ["card", "sepa_debit"]
    assert "customer_email" not in first.params
    assert first.params["payment_intent_data"]["statement_descriptor_suffix"] == "ACME INVOICE"
    assert second.params["payment_method_types"] == ["paypal"]  # the request's own choice


def test_the_same_payment_asked_twice_makes_one_session(world: StripeWorld) -> None:
    """A retry after a lost answer: the payment's idempotency key brings the first session."""
    first = world.checkout()
    assert world.checkout() == first
    assert len(world.api.sessions) == 1 and len(world.api.to("POST", SESSIONS)) == 2


def test_r4_a_refused_request_is_a_provider_error_that_is_not_retried(world: StripeWorld) -> None:
    # Stripe's own validation: below the smallest EUR charge
    error = refused(world, amount=Decimal("0.10"))
    assert not error.retryable
    assert "invalid_request_error, amount_too_small" in error.message
    assert "request req_" in error.message
    # a card error (402)
    world.api.fail_next(Failure(402, "card_error", "card_declined", "Your card was declined."))
    error = refused(world)
    assert not error.retryable
    assert "card_error, card_declined" in error.message
    assert "Your card was declined." in error.message


def test_a_wrong_key_is_named_without_quoting_it(world: StripeWorld) -> None:
    error = refused(world.with_config(secret_key="sk_test_wrong_but_secret_1234"))
    assert not error.retryable and "check secret_key" in error.message
    assert "1234" not in error.message and "wrong" not in error.message
    assert world.api.sessions == {}


@pytest.mark.parametrize(
    "failure",
    [
        Failure(429, "invalid_request_error", "rate_limit", "Too many requests hit the API."),
        Failure(500, "api_error", None, "An unknown error occurred."),
    ],
)
def test_r4_rate_limits_and_stripe_failures_may_be_retried(
    world: StripeWorld, failure: Failure
) -> None:
    world.api.fail_next(failure)
    assert refused(world).retryable
    assert len(world.api.to("POST", SESSIONS)) == 1  # the library did not retry by itself
    # the core's later try, with the same idempotency key, goes through
    checkout = world.checkout()
    assert list(world.api.sessions) == [checkout.reference]


def test_r4_stripes_retry_advice_wins(world: StripeWorld) -> None:
    """`Stripe-Should-Retry` overrides the guess from the status code, both ways."""
    world.api.fail_next(
        Failure(500, "api_error", None, "Bad state.", headers={"Stripe-Should-Retry": "false"}),
        Failure(400, "invalid_request_error", "lock_timeout", "Locked.",
                headers={"Stripe-Should-Retry": "true"}),
    )  # fmt: skip
    assert not refused(world).retryable
    assert refused(world).retryable


def test_r4_an_unreachable_stripe_may_be_retried(world: StripeWorld) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    error = refused(world.with_config(api_base=f"http://127.0.0.1:{port}"))
    assert error.retryable and "could not be reached" in error.message


def test_r4_a_hanging_stripe_times_out(world: StripeWorld) -> None:
    world.api.fail_next(Failure(200, delay=2.0))
    quick = StripeWorld(StripeProvider(timeout=0.3), world.config, world.context, world.api)
    error = refused(quick)
    assert error.retryable and "timed out" in error.message


def test_a34_the_outbound_policy_refuses_an_api_base_it_does_not_allow(
    world: StripeWorld,
) -> None:
    """SECURITY A.34: the strict default policy (https to public addresses) refuses the
    loopback Stripe — nothing reaches it, whichever method asks."""
    strict = world.with_context(outbound=OutboundPolicy())
    error = refused(strict)
    assert not error.retryable
    assert error.message == (
        "Stripe was not called while creating the checkout: 127.0.0.1 is a loopback address "
        "(not on the outbound allow-list)"
    )
    with pytest.raises(ProviderError):
        strict.refund("pi_x", "1.00", "re-key")
    with pytest.raises(ProviderError):
        strict.payments()
    assert world.api.requests == []


def test_only_an_https_page_is_a_checkout(world: StripeWorld) -> None:
    """The payer is redirected to the session's `url`: a Stripe that answers another scheme
    (a misconfigured `api_base`, a forged answer) gets no redirect."""
    original = world.api.create_session

    def javascript_page(params: dict[str, object]) -> dict[str, object]:
        session = original(params)
        session["url"] = "javascript:alert(1)"
        return session

    world.api.create_session = javascript_page  # type: ignore[method-assign]
    error = refused(world)
    assert "without an https page" in error.message and not error.retryable
