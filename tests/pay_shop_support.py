"""A served shop whose invoices (EUR) and orders (USD) are paid online at two sandbox
provider entries (`sandbox`, `wallet`: two secrets, so two merchant accounts of the sandbox
network), for the tests of `portalis payments` and `/admin/payments`. This module holds no
tests.

Payments are made the way the portal makes them: `start_payment` asks the sandbox provider
for a hosted checkout; the payer's choice is stored at the sandbox (as its hosted page stores
it); the event the sandbox would post is signed with the entry's secret, verified by the
provider's `parse_event` and applied by the engine (`apply_event`) — so reconciliation and
the admin page read what real traffic writes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from portalis_payments_sandbox import EventData, SandboxProvider, event_body, sign
from portalis_payments_sandbox import store as sandbox_store

from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import payments
from portalis.engine.outbox.outbound import OutboundPolicy
from portalis.engine.payments.events import apply_event
from portalis.engine.payments.provider import (
    Checkout,
    CheckoutRequest,
    EventKind,
    ProviderContext,
)
from portalis.engine.payments.records import EventOutcome, Payment, payment_of
from portalis.engine.payments.registry import BoundProvider, PaymentRegistry
from portalis.engine.payments.start import start_payment
from portalis.testing.web import WebPortal

SLUG = "pay-shop"
#: Where the shop is served (the sandbox's checkout links are absolute under it).
BASE_URL = "https://shop.example.test"
SECRETS = {
    "sandbox": "pay-shop-sandbox-secret-0123456789abcdef0123",
    "wallet": "pay-shop-wallet-secret-0123456789abcdef012345",
}
ENV = {"SHOP_SANDBOX_SECRET": SECRETS["sandbox"], "SHOP_WALLET_SECRET": SECRETS["wallet"]}
PORTAL = """\
format: portalis/v1
portal: pay-shop
title: {en: Pay shop, de: Bezahlladen, fr: Boutique, es: Tienda}
locales: [en, de, fr, es]
currency: EUR
seed: [seed.yaml]
auth:
  providers: [{type: password, self_registration: false}]
  admin_roles: [clerk]
payments:
  providers:
    - {type: sandbox, label: {en: Card (test), de: Karte (Test)}, secret: "${SHOP_SANDBOX_SECRET}"}
    - {type: sandbox, name: wallet, label: {en: Wallet (test)}, secret: "${SHOP_WALLET_SECRET}"}
roles:
  customer: {label: {en: Customer, de: Kunde}}
  viewer: {label: {en: Viewer}, staff: true}
  clerk: {label: {en: Clerk, de: Sachbearbeiter}, staff: true}
entities:
  invoice:
    label: {en: Invoice, de: Rechnung, fr: Facture, es: Factura}
    title_field: number
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
      total: {type: money, required: true}
      open_amount: {type: money, compute: "record.total - record.paid_online"}
    payable: {amount: open_amount, partial: true, description: "Invoice {number}"}
    permissions:
      - {roles: [customer], actions: [read, pay], scope: account}
      - {roles: [clerk, viewer], actions: [read, refund], scope: all}
  order:
    label: {en: Order, de: Bestellung, fr: Commande, es: Pedido}
    title_field: code
    fields:
      code: {type: string, required: true}
      account: {type: ref, to: account, required: true}
      total: {type: money, currency: USD, required: true}
      due: {type: money, currency: USD, compute: "record.total - record.paid_online"}
    payable: {amount: due, providers: [wallet]}
    permissions:
      - {roles: [customer], actions: [read, pay], scope: account}
      - {roles: [clerk], actions: [read], scope: all}
pages:
  home:
    route: /
    title: {en: Pay shop}
    roles: [anonymous, authenticated]
    blocks:
      - markdown: {en: "# Pay shop"}
  invoices:
    route: /invoices
    title: {en: Invoices, de: Rechnungen}
    roles: [customer, clerk, viewer]
    blocks:
      - list: {entity: invoice, columns: [number, total, open_amount], link: invoice}
  invoice:
    route: /invoices/<id>
    title: {en: Invoice, de: Rechnung}
    roles: [customer, clerk, viewer]
    blocks:
      - detail: {entity: invoice}
navigation: [home, invoices]
"""
SEED = """\
accounts:
  - {key: acme, name: Acme}
users:
  - {email: ann@acme.test, name: Ann, password: "correct horse 42", account: acme, roles: [customer]}
  - {email: vic@shop.test, name: Vic, password: "correct horse 42", roles: [viewer]}
  - {email: cleo@shop.test, name: Cleo, password: "correct horse 42", roles: [clerk]}
"""
PROVIDER = SandboxProvider()


def shop_folder(directory: Path) -> Path:
    """The shop's definition folder under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "portal.yaml").write_text(PORTAL)
    (directory / "seed.yaml").write_text(SEED)
    return directory


@dataclass(frozen=True)
class Assorted:
    """Payments of every kind an operator looks at, oldest first."""

    paid: Payment
    declined: Payment
    flagged: Payment
    order: Payment


@contextmanager
def served_shop(database_url: str, tmp_path: Path) -> Iterator[PayShop]:
    """The shop deployed on `database_url` and served by a testing app."""
    folder = shop_folder(tmp_path / "shop")
    web = WebPortal.deploy(database_url, tmp_path / "instance", folder, env=ENV)
    try:
        yield PayShop(web)
    finally:
        web.close()


@dataclass
class PayShop:
    """The served shop, and payments made as the portal and the sandbox make them."""

    web: WebPortal

    @property
    def engine(self) -> sa.Engine:
        return self.web.engine

    @property
    def context(self) -> ProviderContext:
        return ProviderContext(outbound=OutboundPolicy(), engine=self.engine, base_url=BASE_URL)

    @property
    def bound(self) -> dict[str, BoundProvider]:
        return dict(PaymentRegistry([PROVIDER]).bind(self.web.compiled.model))

    def record(self, entity: str = "invoice", total: str = "100.00", **values: Any) -> int:
        """A new invoice (or order) of Acme."""
        key = "number" if entity == "invoice" else "code"
        data = {key: "N-" + secrets.token_hex(3), "account": self.web.record_id("account"),
                "total": total, **values}  # fmt: skip
        return self.web.store.insert(Actor.system(), entity, data).id

    def start(
        self, record_id: int, amount: str | None = None, *, entity: str = "invoice",
        provider: str | None = None,
    ) -> Payment:  # fmt: skip
        """Ann starts paying: a payment and its checkout at the sandbox (`open`)."""
        started = start_payment(
            self.web.store, self.web.actor("ann@acme.test"), entity, record_id,
            amount=None if amount is None else Decimal(amount), provider=provider,
            return_url=lambda pid: f"{BASE_URL}/{SLUG}/_payments/{pid}",
            events_url=lambda name: f"{BASE_URL}/{SLUG}/_payments/{name}/events",
            locale="en", context=self.context, providers=self.bound,
        )  # fmt: skip
        return started.payment

    def choose(self, payment: Payment, status: str = "succeeded", method: str = "card") -> None:
        """The payer's choice on the sandbox's hosted page (stored at the sandbox only)."""
        assert payment.reference is not None
        done = sandbox_store.decide(
            self.engine, payment.reference, status, datetime.now(UTC), method=method
        )
        assert done is not None

    def deliver(
        self, payment: Payment, kind: EventKind = "succeeded", *, at: datetime | None = None,
        amount: str | None = None, currency: str | None = None, refund: str | None = None,
    ) -> EventOutcome:  # fmt: skip
        """The event the sandbox posts about `payment`'s checkout: signed with its entry's
        secret, verified by `parse_event`, applied by the engine."""
        assert payment.reference is not None
        with self.engine.connect() as conn:
            row = sandbox_store.load(conn, payment.reference)
        assert row is not None
        moment = at or datetime.now(UTC)
        data = EventData(
            event_id=f"evt_{secrets.token_hex(6)}", kind=kind, created=int(moment.timestamp()),
            payment_id=payment.id, checkout=row.id,
            amount=Decimal(amount) if amount is not None else row.amount,
            currency=currency or row.currency, method=row.method, transaction=row.transaction,
            refund=refund,
        )  # fmt: skip
        body = event_body(data)
        secret = SECRETS[payment.provider]
        bound = self.bound[payment.provider]
        headers = sign(secret, body, int(datetime.now(UTC).timestamp()))
        event = PROVIDER.parse_event(bound.config, body, headers, datetime.now(UTC), self.context)
        assert event is not None
        return apply_event(self.web.store, payment.provider, event)

    def paid(self, record_id: int, *, at: datetime | None = None, method: str = "card",
             entity: str = "invoice", amount: str | None = None) -> Payment:  # fmt: skip
        """A payment the payer approved and the portal was told about."""
        payment = self.start(record_id, amount, entity=entity)
        self.choose(payment, "succeeded", method)
        assert self.deliver(payment, at=at).result == "applied"
        return self.payment(payment.id)

    def assorted(self, method: str = "card") -> Assorted:
        """A succeeded invoice payment (€10.00 by `method`), a declined one (€20.00), a
        flagged one (the event reported €3.00 of €30.00) and an open order payment ($25.00
        at the wallet), made in that order."""
        paid = self.paid(self.record(total="10.00"), method=method)
        declined = self.start(self.record(total="20.00"))
        self.choose(declined, "failed")
        assert self.deliver(declined, "failed").result == "applied"
        flagged = self.start(self.record(total="30.00"))
        assert self.deliver(flagged, amount="3.00").result == "flagged"
        order = self.start(self.record("order", total="25.00"), entity="order")
        return Assorted(paid, declined, flagged, order)

    def checkout_elsewhere(
        self, payment_id: str, amount: str, currency: str = "EUR", provider: str = "sandbox"
    ) -> Checkout:
        """A checkout made at the sandbox for `payment_id` without the portal (another
        system, a retry the portal never stored, a script)."""
        request = CheckoutRequest(
            payment_id=payment_id, portal=SLUG, amount=Decimal(amount), currency=currency,
            description="made elsewhere", return_url=f"/{SLUG}/", events_url=f"/{SLUG}/events",
            locale="en",
        )  # fmt: skip
        return PROVIDER.create_checkout(self.bound[provider].config, request, self.context)

    def refund_at_provider(self, payment: Payment, amount: str) -> None:
        """A refund made in the sandbox's "dashboard", never reported to the portal."""
        fresh = self.payment(payment.id)
        assert fresh.transaction is not None
        bound = self.bound[payment.provider]
        PROVIDER.refund(bound.config, fresh.transaction, Decimal(amount), fresh.currency,
                        "re_" + secrets.token_hex(6), self.context)  # fmt: skip

    def payment(self, payment_id: str) -> Payment:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(payments).where(payments.c.id == payment_id))
            return payment_of(row.mappings().one())
