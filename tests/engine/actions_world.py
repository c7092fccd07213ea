"""A small ordering-and-billing portal for the tests of actions that reach further: automations
that take transitions, copying an order with its lines, notifications to ref paths and mails
in the reader's locale. It is the b2c blueprint (accounts Acme and Globex; anna (de) and ben
of Acme, nina of Globex, sam the agent) with accounts that have a sales rep, orders with
lines and invoices with an open amount."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.data.system_tables import jobs
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, b2c_with, deploy_dir

BASE = "https://portal.example.test"

#: The files this portal adds to (or replaces in) the b2c blueprint, relative to it.
DATA = Path(__file__).resolve().parent / "data" / "actions"


#: The seeded users the tests act as.
USERS = ("sam@support.test", "ben@acme.test", "anna@acme.test", "nina@globex.test")


@dataclass
class World:
    """The deployed portal, its store, the seeded users by first name (`sam`, `ben` (en) and
    `anna` (de) of Acme, `nina` of Globex) and the account ids by name."""

    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore
    users: Mapping[str, Actor]
    accounts: Mapping[str, int]

    @property
    def sam(self) -> Actor:
        return self.users["sam"]

    @property
    def ben(self) -> Actor:
        return self.users["ben"]

    @property
    def anna(self) -> Actor:
        return self.users["anna"]

    @property
    def nina(self) -> Actor:
        return self.users["nina"]

    @property
    def acme(self) -> int:
        return self.accounts["Acme GmbH"]

    def set_sales_rep(self, account: int, user: Actor | None) -> None:
        """Make `user` the sales rep of `account` (as the system)."""
        self.store.update(
            Actor.system(), "account", account, {"sales_rep": user.id if user else None}
        )

    def order(self, actor: Actor, lines: int = 2, **values: Any) -> int:
        """An order of Acme with `lines` lines, created by `actor`."""
        data = {"account": self.acme, "number": "A-1", "note": "blue ones", **values}
        order = self.store.insert(actor, "sales_order", data)
        for i in range(lines):
            self.store.insert(
                actor, "sales_order_line",
                {"order": order.id, "product": f"Widget {i + 1}", "quantity": i + 1,
                 "amount": f"{10 * (i + 1)}.50"},
            )  # fmt: skip
        return order.id

    def invoice(self, **values: Any) -> int:
        data = {"number": "R-7", "account": self.acme, "total": "79.00", "open_amount": "79.00",
                "due": "2026-10-31", **values}  # fmt: skip
        return self.store.insert(self.sam, "invoice", data).id

    def count(self, entity: str) -> int:
        table = self.portal.tables[entity]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)

    def mails(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            query = sa.select(jobs.c.payload).where(jobs.c.kind == "mail").order_by(jobs.c.id)
            return [dict(r.payload) for r in conn.execute(query)]

    def as_role(self, role: str) -> Actor:
        """Ben of Acme holding only `role` (the store never needs his row for a refusal)."""
        assert self.ben.id is not None
        return Actor.for_user(self.portal.model, self.ben.id, self.acme, (role,))

    def raw(self, entity: str, record_id: int) -> dict[str, Any]:
        with begin_write(self.engine) as conn:
            return self.store.load_raw(conn, self.store.entity(entity), record_id)


def definition_folder(folder: Path) -> Path:
    """The test portal's definition folder: the b2c blueprint with the files of `DATA`."""
    files = {
        path.relative_to(DATA).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(DATA.rglob("*.yaml"))
    }
    # the test portal brings invoices of its own: the starter's are left out
    return b2c_with(folder, files=files, invoices=False)


def make_world(engine: sa.Engine, checker: Checker, folder: Path) -> World:
    """Deploy the test portal with its seed data on `engine`."""
    portal = deploy_dir(engine, checker, definition_folder(folder))
    accounts = portal.tables["account"]
    with engine.connect() as conn:
        ids = {str(n): int(i) for n, i in conn.execute(sa.select(accounts.c.name, accounts.c.id))}
    users = {email.partition("@")[0]: actor_for(engine, portal, email) for email in USERS}
    return World(engine, portal, portal.store(engine, base_url=BASE + "/"), users, ids)
