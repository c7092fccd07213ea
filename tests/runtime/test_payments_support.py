"""Shared set-up of the payment API tests: the billing portal (tests/runtime/data/billing)
served with the sandbox provider, signed-in API clients, a payer on the sandbox's hosted
page, and the events the page sends — received by a real HTTP server on 127.0.0.1, checked
by the sandbox's `parse_event` and applied with `apply_event`, as the portal's events
endpoint will. This module holds no tests.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pluggy
import sqlalchemy as sa
from portalis_payments_sandbox import SandboxProvider
from portalis_payments_sandbox.pages import deliveries_of
from portalis_payments_sandbox.tables import checkouts
from werkzeug.test import TestResponse

from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import payment_refunds, payments
from portalis.engine.payments.events import apply_event
from portalis.engine.payments.records import EventOutcome
from portalis.runtime.payments.setup import provider_context
from portalis.testing.web import PortalClient, WebPortal
from portalis.testing.webhooks import WebhookReceiver, webhook_receiver

BILLING = Path(__file__).parent / "data" / "billing"
SLUG = "billing-test"
API = "/api/v1"
EVENTS = f"/{SLUG}/_payments/sandbox/events"
_FORM = re.compile(r'<form method="post" action="([^"]+)"')
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Billing:
    """The served billing portal, its base URL (the receiver of the sandbox's events)."""

    web: WebPortal
    hooks: WebhookReceiver
    base: str

    def client(self, email: str | None = None) -> ApiClient:
        """A browser signed in as `email` (anonymous without)."""
        return ApiClient(self.web.client(email))

    def record(self, entity: str, column: str, value: Any) -> int:
        """The id of a seeded record."""
        return self.web.record_id(entity, **{column: value})

    def invoice(self, number: str) -> int:
        """The id of seeded invoice `number` (INV-1 …)."""
        return self.record("invoice", "number", number)

    def rows(self, table: sa.Table, **where: Any) -> list[dict[str, Any]]:
        """Rows of a payment table (no policy)."""
        query = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
        with self.web.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def counts(self) -> tuple[int, int, int]:
        """Payments, refunds and sandbox checkouts in the database."""
        with self.web.engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (payments, payment_refunds, checkouts)
            )

    def seen(self, entity: str, record_id: int) -> dict[str, Any]:
        """A record as the system reads it (computed fields included)."""
        return dict(self.web.store.get(Actor.system(), entity, record_id).values)

    def approve(self, redirect_url: str, choice: str = "approve") -> TestResponse:
        """The payer opens the hosted checkout and takes `choice` there."""
        assert redirect_url.startswith(self.base + "/_sandbox-pay/"), redirect_url
        payer = self.web.app.test_client()
        page = payer.get(redirect_url.removeprefix(self.base))
        assert page.status_code == 200, page.text
        action, token = _FORM.search(page.text), _TOKEN.search(page.text)
        assert action is not None and token is not None, page.text
        answer = payer.post(
            html.unescape(action.group(1)), data={"csrf_token": token.group(1), "choice": choice}
        )
        assert answer.status_code == 303, answer.text
        return answer

    def deliver(self, count: int) -> list[EventOutcome]:
        """Apply the first `count` events the hosted page sent (waiting for them), each
        verified by the sandbox provider with the portal's entry and context."""
        self.hooks.wait_for(count, path=EVENTS, timeout=15)
        assert deliveries_of(self.web.app).wait(15)
        config = self.web.compiled.model.payment_providers[0].config
        outcomes = []
        with self.web.app.app_context():
            context = provider_context()
            for received in self.hooks.to(EVENTS)[:count]:
                event = SandboxProvider().parse_event(
                    config, received.body, received.headers, datetime.now(UTC), context
                )
                assert event is not None
                outcomes.append(apply_event(self.web.store, "sandbox", event))
        return outcomes


class ApiClient:
    """API requests of one browser: JSON bodies with the session's CSRF header."""

    def __init__(self, browser: PortalClient) -> None:
        self.browser = browser

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """GET `/api/v1<path>`."""
        return self.browser.get(API + path, **kwargs)

    def post(
        self, path: str, body: Any = None, headers: Mapping[str, str] | None = None, **kw: Any
    ) -> TestResponse:
        """POST `body` as JSON (or `data=`) to `/api/v1<path>` with the CSRF header."""
        if "data" not in kw:
            kw["json"] = {} if body is None else body
        return self.browser.client.post(
            self.browser.url(API + path),
            headers={"X-CSRF-Token": self.browser.csrf, **(headers or {})}, **kw,
        )  # fmt: skip

    def options(self, path: str) -> TestResponse:
        """OPTIONS `/api/v1<path>`."""
        return self.browser.client.options(self.browser.url(API + path))


def payment_operations(document: Mapping[str, Any]) -> set[str]:
    """`METHOD /path` of every payment operation of an OpenAPI document."""
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters" and path.endswith(("/pay", "/payments", "/refunds"))
    }


@contextmanager
def serve(
    database_url: str,
    instance: Path,
    *,
    base_url: bool = True,
    pm: pluggy.PluginManager | None = None,
) -> Iterator[Billing]:
    """Deploy and serve the billing portal; with `base_url` the platform's base URL is a
    receiver on 127.0.0.1, so the sandbox's checkout links are absolute and its events
    land there."""
    with webhook_receiver() as hooks:
        base = hooks.url("")
        env = {"PORTALIS_BASE_URL": base} if base_url else {}
        web = WebPortal.deploy(database_url, instance, BILLING, env=env, pm=pm)
        try:
            yield Billing(web, hooks, base)
        finally:
            if "portalis_payments_sandbox" in web.app.extensions:
                deliveries_of(web.app).cancel_timers()
                deliveries_of(web.app).wait()
            web.close()
