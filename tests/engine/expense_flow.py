"""An expense-approval definition exercising every workflow option, for the workflow tests.

`expense_world(engine, checker, tmp_path)` deploys it and returns a `World` with the store,
the actors (eve files expenses; mia, max and moe are managers; ada and abe accountants) and
helpers to read what the transaction left behind: audit rows, outbox jobs, notifications.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from portalis.engine.data import audit
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.data.system_tables import approvals, jobs, notifications
from portalis.engine.data.system_tables import audit as audit_table
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, deploy_dir

SLUG = "expenses"

#: The definition folder (the runtime tests serve it too).
DEFINITION = Path(__file__).resolve().parent / "data" / "expenses"
PORTAL = (DEFINITION / "portal.yaml").read_text()
SEED = (DEFINITION / "seed.yaml").read_text()

PEOPLE = ("eve", "mia", "max", "moe", "ada", "abe")


def write_definition(directory: Path, portal: str = PORTAL) -> Path:
    """The expense definition as files in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "portal.yaml").write_text(portal)
    (directory / "seed.yaml").write_text(SEED)
    return directory


@dataclass
class World:
    """The deployed expense portal and its people."""

    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore
    people: dict[str, Actor]

    def __getattr__(self, name: str) -> Actor:
        try:
            return self.people[name]
        except KeyError:
            raise AttributeError(name) from None

    def expense(self, by: str = "eve", **values: Any) -> int:
        """A new expense filed by `by` (through the store: listeners run)."""
        data = {"title": "Team lunch", "amount": 240, **values}
        return self.store.insert(self.people[by], "expense", data).id

    def raw(self, record_id: int, entity: str = "expense") -> dict[str, Any]:
        """The record's raw values (no permission checks)."""
        with self.engine.connect() as conn:
            return self.store.load_raw(conn, self.store.entity(entity), record_id)

    def history(self, record_id: int) -> list[audit.AuditEntry]:
        """Audit entries of an expense, newest first."""
        with self.engine.connect() as conn:
            return audit.history(conn, portal=SLUG, entity="expense", record_id=record_id)

    def count(self, table: sa.Table, *where: Any) -> int:
        """Rows of a system table (optionally filtered)."""
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(table)
            if where:
                query = query.where(*where)
            return int(conn.execute(query).scalar_one())

    def jobs(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Outbox jobs (oldest first), of one kind when given."""
        query = sa.select(jobs).order_by(jobs.c.id)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def snapshot(self) -> tuple[int, int, int, int]:
        """(audit rows, jobs, notifications, approvals): what a failed write must not add."""
        return (
            self.count(audit_table),
            self.count(jobs),
            self.count(notifications),
            self.count(approvals),
        )


def expense_world(
    engine: sa.Engine, checker: Checker, directory: Path, portal: str = PORTAL
) -> World:
    """Deploy the expense definition (with its users) and return the world."""
    compiled = deploy_dir(engine, checker, write_definition(directory, portal))
    people = {name: actor_for(engine, compiled, f"{name}@example.test") for name in PEOPLE}
    return World(engine, compiled, compiled.store(engine), people)
