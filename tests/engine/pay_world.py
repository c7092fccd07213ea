"""A small billing portal with payable invoices, for the engine's payment tests.

`pay_world(engine, tmp_path)` deploys it with its people — ann (customer of Acme), vic (reads
Acme's invoices, may not pay), gus (customer of Globex), cleo (clerk: reads all, refunds) —
and returns a `World`: the store, the actors, the bound `testpay` provider and helpers that
start payments and post signed events the way the runtime will.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pay_provider
import sqlalchemy as sa

from portalis.engine.data import audit
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.data.system_tables import payments
from portalis.engine.data.tables import utcnow
from portalis.engine.deploy.validator import Checker
from portalis.engine.outbox.outbound import OutboundPolicy
from portalis.engine.payments.events import apply_event
from portalis.engine.payments.provider import PaymentEvent, ProviderContext
from portalis.engine.payments.records import EventOutcome, StartedPayment
from portalis.engine.payments.registry import BoundProvider, PaymentRegistry
from portalis.engine.payments.start import start_payment
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, deploy_dir, plugin_checker

SLUG = "payshop"
PORTAL = """\
format: portalis/v1
portal: payshop
title: Pay shop
locales: [en]
currency: EUR
seed: [seed.yaml]
payments:
  providers:
    - {type: testpay, label: Card (test), secret: "${TESTPAY_SECRET}"}
    - {type: testpay, name: backup, secret: "${TESTPAY_SECRET}"}
roles:
  customer: {label: Customer}
  viewer: {label: Viewer}
  clerk: {label: Clerk, staff: true}
entities:
  invoice:
    title_field: number
    fields:
      number: {type: string, required: true}
      note: {type: string}
      account: {type: ref, to: account, required: true}
      total: {type: money, required: true}
      open_amount: {type: money, compute: "record.total - record.paid_online"}
      status: {type: choice, options: [open, paid, void], default: open}
    rules:
      - {check: "record.paid_online <= record.total", message: More was paid than the total}
    payable:
      amount: open_amount
      description: "Invoice {number} {note}"
      partial: {minimum: 10}
      paid: settle
      reopened: reopen
    permissions:
      - {roles: [customer], actions: [read, pay], scope: account, fields: {except: [note]}}
      - {roles: [viewer], actions: [read], scope: account}
      - {roles: [clerk], actions: [read, refund], scope: all}
  order:
    fields:
      account: {type: ref, to: account, required: true}
      total: {type: money, required: true}
      due: {type: money, compute: "record.total - record.paid_online"}
    payable: {amount: due, providers: [backup]}
    permissions:
      - {roles: [customer], actions: [read, pay], scope: account}
workflows:
  invoice_flow:
    entity: invoice
    field: status
    initial: open
    transitions:
      - {name: settle, from: open, to: paid, roles: [clerk]}
      - {name: reopen, from: paid, to: open, roles: [clerk]}
      - {name: void, from: [open, paid], to: void, roles: [clerk]}
"""
SEED = """\
accounts:
  - {key: acme, name: Acme}
  - {key: globex, name: Globex}
users:
  - {email: ann@acme.test, name: Ann, password: "correct horse 42", account: acme, roles: [customer]}
  - {email: vic@acme.test, name: Vic, password: "correct horse 42", account: acme, roles: [viewer]}
  - {email: gus@globex.test, name: Gus, password: "correct horse 42", account: globex, roles: [customer]}
  - {email: cleo@shop.test, name: Cleo, password: "correct horse 42", roles: [clerk]}
"""
PEOPLE = {"ann": "ann@acme.test", "vic": "vic@acme.test", "gus": "gus@globex.test",
          "cleo": "cleo@shop.test"}  # fmt: skip


def checker() -> Checker:
    """A checker that knows the `testpay` provider type."""
    return plugin_checker(pay_provider)


@dataclass
class World:
    """The deployed pay shop."""

    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore
    people: dict[str, Actor]
    provider: pay_provider.HmacPay
    bound: dict[str, BoundProvider] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Actor:
        try:
            return self.people[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def context(self) -> ProviderContext:
        return ProviderContext(outbound=OutboundPolicy(), engine=self.engine)

    def account(self, key: str) -> int:
        table = self.store.tables["account"]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(table.c.id).where(table.c.name == key)).scalar_one())

    def invoice(self, total: str = "100.00", account: str = "Acme", **values: Any) -> int:
        data = {"number": "INV-" + secrets.token_hex(3), "account": self.account(account),
                "total": total, **values}  # fmt: skip
        return self.store.insert(Actor.system(), "invoice", data).id

    def start(
        self, who: str, record_id: int, amount: str | None = None, *, entity: str = "invoice",
        provider: str | None = None,
    ) -> StartedPayment:  # fmt: skip
        return start_payment(
            self.store, self.people[who], entity, record_id,
            amount=None if amount is None else Decimal(amount), provider=provider,
            return_url=lambda pid: f"https://shop.example.test/payshop/_payments/{pid}",
            events_url=lambda name: f"https://shop.example.test/payshop/_payments/{name}/events",
            locale="en", context=self.context, providers=self.bound,
        )  # fmt: skip

    def event(
        self, kind: str, payment_id: str | None, amount: str, *, currency: str = "EUR",
        event_id: str | None = None, at: datetime | None = None, **extra: Any,
    ) -> PaymentEvent:  # fmt: skip
        """A signed event posted by the network, verified by the provider's `parse_event`."""
        moment = at or datetime.now(UTC)
        payload = {"id": event_id or "evt_" + secrets.token_hex(6), "type": kind,
                   "payment_id": payment_id, "amount": amount, "currency": currency,
                   "occurred_at": moment.isoformat(), **extra}  # fmt: skip
        body, headers = pay_provider.signed(payload)
        config = self.portal.model.payment_providers[0].config
        event = self.provider.parse_event(config, body, headers, datetime.now(UTC))
        assert event is not None
        return event

    def post(self, event: PaymentEvent, provider: str = "testpay") -> EventOutcome:
        return apply_event(self.store, provider, event)

    def pay(self, payment_id: str, amount: str, **extra: Any) -> EventOutcome:
        """The network reports the payment succeeded."""
        extra.setdefault("transaction", "pi_" + secrets.token_hex(6))
        return self.post(self.event("succeeded", payment_id, amount, **extra))

    def elsewhere(self, record_id: int, amount: str) -> str:
        """A payment of another portal (`elsewhere`) in the shared table: `pay_elsewhere`."""
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(
                payments.insert().values(
                    id="pay_elsewhere",
                    portal="elsewhere",
                    entity="invoice",
                    record_id=record_id,
                    provider="testpay",
                    provider_type="testpay",
                    amount=Decimal(amount),
                    currency="EUR",
                    status="open",
                    refunded=Decimal(0),
                    created_at=now,
                    updated_at=now,
                )
            )
        return "pay_elsewhere"

    def raw(self, record_id: int, entity: str = "invoice") -> dict[str, Any]:
        with self.engine.connect() as conn:
            return self.store.load_raw(conn, self.store.entity(entity), record_id)

    def seen(self, record_id: int, entity: str = "invoice") -> dict[str, Any]:
        """The record as the system reads it (computed fields included)."""
        return dict(self.store.get(Actor.system(), entity, record_id).values)

    def actions(self, record_id: int, entity: str = "invoice") -> list[str]:
        """The audit log's actions on a record, oldest first."""
        with self.engine.connect() as conn:
            entries = audit.history(conn, portal=SLUG, entity=entity, record_id=record_id)
        return [e.action for e in reversed(entries)]

    def count(self, table: sa.Table, *where: Any) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(table)
            return int(conn.execute(query.where(*where) if where else query).scalar_one())


def pay_world(engine: sa.Engine, directory: Path, checker_: Checker | None = None) -> World:
    """Deploy the pay shop and return its world."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "portal.yaml").write_text(PORTAL)
    (directory / "seed.yaml").write_text(SEED)
    compiled = deploy_dir(engine, checker_ or checker(), directory, env=pay_provider.ENV)
    people = {name: actor_for(engine, compiled, email) for name, email in PEOPLE.items()}
    provider = pay_provider.HmacPay()
    bound = dict(PaymentRegistry([provider]).bind(compiled.model))
    return World(engine, compiled, compiled.store(engine), people, provider, bound)


def later(seconds: int) -> datetime:
    """A moment `seconds` from now (events carry when they happened)."""
    return datetime.now(UTC) + timedelta(seconds=seconds)
