"""Shared set-up of the sandbox tests: the shop definition, checkouts created through the
provider, a payer who uses the hosted page through the Flask test client, and the events a
loopback receiver got, verified with `parse_event`. This module holds no tests."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from portalis_payments_sandbox import SandboxConfig, SandboxProvider
from portalis_payments_sandbox.pages import deliveries_of
from werkzeug.test import TestResponse

from portalis.api import Checkout, CheckoutRequest, OutboundPolicy, PaymentEvent, ProviderContext
from portalis.testing.webhooks import WebhookReceiver

#: The shop portal (`payments.providers: [{type: sandbox, …}]`).
SHOP = Path(__file__).parent / "shop"
SECRET = "sandbox-test-secret-0123456789abcdef0123456789"
ENV = {"SANDBOX_PAYMENTS_SECRET": SECRET}
#: The config the shop's entry compiles to (settling after one second).
CONFIG = SandboxConfig(secret=SECRET, settle_after_seconds=1)
PROVIDER = SandboxProvider()
RETURN_URL = "/sandbox-shop/payments/pay_test/return"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def context(engine: sa.Engine, base_url: str = "") -> ProviderContext:
    """What the core hands the provider."""
    return ProviderContext(
        outbound=OutboundPolicy.parse(None), engine=engine, env={}, base_url=base_url
    )


def request_for(
    events_url: str,
    *,
    amount: str = "12.50",
    currency: str = "EUR",
    payment_id: str = "pay_test",
    description: str = "Invoice INV-2026-00017",
    locale: str = "en",
    return_url: str = RETURN_URL,
) -> CheckoutRequest:
    """A checkout request as the core makes it."""
    return CheckoutRequest(
        payment_id=payment_id, portal="sandbox-shop", amount=Decimal(amount), currency=currency,
        description=description, return_url=return_url, events_url=events_url, locale=locale,
    )  # fmt: skip


def text(response: TestResponse) -> str:
    """The page as text (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


@dataclass
class Payer:
    """A browser on the hosted page of one checkout (the Flask test client)."""

    app: Flask
    checkout: Checkout
    page: TestResponse | None = None
    client: FlaskClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.app.test_client()

    def open(self) -> TestResponse:
        """GET the checkout link the core redirected to."""
        self.page = self.client.get(self.checkout.redirect_url)
        return self.page

    def form(self, index: int = 0) -> tuple[str, str]:
        """(action, CSRF token) of the `index`-th form of the current page."""
        assert self.page is not None
        body = self.page.get_data(as_text=True)
        actions = [html.unescape(a) for a in _ACTION.findall(body)]
        token = _CSRF.search(body)
        assert token is not None and actions, body
        return actions[index], token.group(1)

    def post(self, index: int = 0, **data: str) -> TestResponse:
        """Submit the `index`-th form of the current page with `data` (a page that answers
        instead of redirecting becomes the current page)."""
        action, token = self.form(index)
        answer = self.client.post(action, data={"csrf_token": token, **data})
        if answer.status_code != 303:
            self.page = answer
        return answer

    def choose(self, choice: str) -> TestResponse:
        """Press one of the choices of the checkout page."""
        return self.post(choice=choice)


def events(app: Flask, receiver: WebhookReceiver, count: int) -> list[PaymentEvent]:
    """The first `count` events the receiver got (waiting for them), each verified and read
    by the provider's `parse_event`."""
    receiver.wait_for(count, path="/events", timeout=15)
    assert deliveries_of(app).wait(15)
    found = []
    for received in receiver.to("/events")[:count]:
        event = PROVIDER.parse_event(CONFIG, received.body, received.headers, datetime.now(UTC))
        assert event is not None
        found.append(event)
    return found
