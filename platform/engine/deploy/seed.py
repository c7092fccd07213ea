"""Seed data (`deploy --seed`): accounts, users and records, idempotent by key.

References use keys: accounts and records by `key`, users by e-mail. Records without a key get
a key derived from their content, so loading the same files twice changes nothing. Seed data is
operator input loaded at deploy time, so it is written without an actor's grants, but every
value is cleaned by its field type and every problem is reported with file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..accounts.memberships import membership_roles, set_membership, sync_home_memberships
from ..accounts.passwords import hash_password
from ..data.errors import ValidationFailed
from ..data.lookups import load_lookups
from ..data.permissions import Actor
from ..data.platform_tables import seed_keys
from ..data.related import load_related
from ..data.tables import utcnow
from ..definition.model import Entity
from ..portal import CompiledPortal
from ..problems import DefinitionError
from .seed_plan import RowKey, SeedPlan, SeedRow, blocked_by, plan_seed
from .seed_values import UniqueValues, finish


@dataclass(slots=True)
class SeedStats:
    """How many rows seeding created and skipped (already present)."""

    created: dict[str, int] = field(default_factory=dict)
    skipped: int = 0

    def total(self) -> int:
        """Rows created."""
        return sum(self.created.values())


class _Seeder:
    def __init__(self, conn: sa.Connection, portal: CompiledPortal, engine: sa.Engine) -> None:
        self.conn = conn
        self.portal = portal
        self.store = portal.store(engine)
        self.stats = SeedStats()

    # -- keys -------------------------------------------------------------------------
    def existing(self, key: RowKey) -> int | None:
        """The id of a row already in the database under this seed key (or e-mail)."""
        entity, name = key
        if entity == "user":
            table = self.portal.tables["user"]
            found = self.conn.execute(
                sa.select(table.c.id).where(table.c.email == name.strip().lower())
            ).first()
        else:
            found = self.conn.execute(
                sa.select(seed_keys.c.record_id).where(
                    seed_keys.c.portal == self.portal.slug,
                    seed_keys.c.entity == entity,
                    seed_keys.c.key == name,
                )
            ).first()
        return None if found is None else int(found[0])

    def remember(self, entity: str, key: str, record_id: int) -> None:
        self.conn.execute(
            seed_keys.insert().values(
                portal=self.portal.slug, entity=entity, key=key, record_id=record_id
            )
        )

    # -- rows -------------------------------------------------------------------------
    def load(self, plan: SeedPlan) -> None:
        """Insert the rows the database does not have yet, in the plan's order."""
        model = self.portal.model
        ids: dict[RowKey, int] = {}
        failed: dict[RowKey, SeedRow] = {row.row_key: row for row in plan.cyclic}
        system = Actor.system()
        unique = UniqueValues()
        for row in plan.rows:
            present = self.existing(row.row_key)
            if present is not None:
                ids[row.row_key] = present
                self.stats.skipped += 1
                continue
            cause = blocked_by(row, failed)
            if cause is not None:
                cause.dependents += 1
                failed[row.row_key] = cause
                continue
            for target in row.refs.values():
                if target not in ids:  # seeded by an earlier deploy, not by these files
                    ids[target] = self.existing(target) or 0
            values = finish(model, row, ids, system, self.related)
            if values is None or not unique.take(model, row, values):
                failed[row.row_key] = row
                continue
            try:
                ids[row.row_key] = self.insert(row, values, ids)
            except ValidationFailed as exc:  # a unique value the database already holds
                for name, messages in exc.errors.items():
                    row.fail(f"{name}: {messages[0].text()}", (name,) if name in row.given else ())
                return  # the transaction is lost on PostgreSQL: stop here, it rolls back
            self.stats.created[row.entity] = self.stats.created.get(row.entity, 0) + 1

    def related(self, entity: Entity, values: dict[str, Any]) -> None:
        """Load the referenced records' fields the entity's expressions read."""
        portal = self.portal
        load_related(self.conn, portal.model, portal.tables, entity, [values], entity.reads)
        names = [key for key in entity.reads if key in entity.lookups]
        today = utcnow().date()
        load_lookups(self.conn, portal.model, portal.tables, entity, [values], names, today)

    def insert(self, row: SeedRow, values: dict[str, Any], ids: Mapping[RowKey, int]) -> int:
        entity = self.portal.model.entities[row.entity]
        creator = ids.get(row.refs["created_by"]) if "created_by" in row.refs else None
        new_id = self.store.insert_row(self.conn, entity, values, created_by=creator)
        if row.entity != "user":
            self.remember(row.entity, row.key, new_id)
            return new_id
        table = self.portal.tables["user"]
        self.conn.execute(
            table.update()
            .where(table.c.id == new_id)
            .values(
                roles=list(row.roles),
                is_active=True,
                password_hash=hash_password(row.password) if row.password else None,
                password_changed_at=utcnow() if row.password else None,
            )
        )
        return new_id

    def add_memberships(self, plan: SeedPlan) -> None:
        """Every seeded user's home membership, and the further ones the seed names that the
        user does not have yet (a role an administrator changed since stays changed)."""
        sync_home_memberships(self.conn, self.portal)
        model = self.portal.model
        for row in plan.rows:
            user = self.existing(row.row_key) if row.memberships else None
            for key, roles in row.memberships:
                account = self.existing(("account", key))
                if (
                    user
                    and account
                    and membership_roles(self.conn, model.slug, user, account) is None
                ):
                    set_membership(self.conn, model, user, account, roles)


def load_seed(conn: sa.Connection, portal: CompiledPortal, engine: sa.Engine) -> SeedStats:
    """Load every seed file of the portal inside `conn`'s transaction.

    Rows are inserted after the rows they refer to, wherever those are written. Raises
    DefinitionError (nothing is kept: the caller's transaction rolls back) when any seed value
    is invalid: the same problems `validate` reports, one per failing row.
    """
    seeder = _Seeder(conn, portal, engine)
    plan = plan_seed(portal.model, portal.bundle, lambda key: seeder.existing(key) is not None)
    if plan.problems:
        raise DefinitionError(plan.problems)
    seeder.load(plan)
    problems = plan.collected()
    if problems:
        raise DefinitionError(problems)
    seeder.add_memberships(plan)
    return seeder.stats
