"""Writes of the record store: insert, update, delete — each one transaction.

Input is cleaned by the field types; fields the actor may not write are refused (422), never
silently stored; rules, `required_when`, `visible_when` and `compute` run on the server; refs
must point to records the actor can read; updates check `version` (stale → StaleRecord, 409);
the post-image must still lie inside one of the actor's grants.

New records start with literal defaults, the workflow's initial state, empty rollups (0 for
sums and counts) and `default: {expr: ...}` evaluated for what the input leaves out. Virtual
fields have no column and are never written; rollups are kept by `rollups` after each write;
sequence fields are numbered as the row is inserted (`sequences`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import sqlalchemy as sa

from ..definition.model import Entity, Grant, PortalModel
from .computed import Errors, apply_defaults
from .db import SharedConnection, begin_write
from .errors import (
    NON_FIELD,
    Forbidden,
    NotFound,
    OutOfScope,
    StaleRecord,
    ValidationFailed,
)
from .events import MAX_EVENT_DEPTH, WriteEvent
from .parent_state import lock_parents, refusal
from .permissions import Actor, Policy
from .query import _int_id
from .records import ReadStore
from .rollup_sql import empty_value
from .rows import Record
from .sequences import assign_numbers
from .tables import USER_AUTH_COLUMNS, TableSet, utcnow
from .write_checks import FileGuard, WriteChecks, add_error, unique_errors

log = logging.getLogger(__name__)

#: A write listener: (store, connection, event) → None, called inside the write's transaction;
#: raising aborts the write. Registered per store (see `RecordStore(listeners=…)`).
Listener = Callable[["RecordStore", sa.Connection, WriteEvent], None]


def _scope_inputs(grants: Iterable[Grant], given: Iterable[str]) -> tuple[str, ...]:
    """The given fields the grants' scopes decide on: why a write lies out of scope."""
    decided: list[str] = []
    for grant in grants:
        scope = grant.scope
        names = [n for n, _ in scope.where] if scope.kind == "where" else [scope.field or ""]
        decided.extend(n for n in names if n and n not in decided)
    wanted = set(given)
    return tuple(n for n in decided if n in wanted)


class RecordStore(WriteChecks, ReadStore):
    """The record store: reads (from `ReadStore`) and permission-checked writes.

    `file_guard` decides which file ids an actor may put into file fields (the runtime allows
    the actor's own uploads); without one, new file values are refused — attaching is only
    possible where the uploads are known.
    """

    def __init__(
        self,
        model: PortalModel,
        tables: TableSet,
        policy: Policy,
        engine: sa.Engine,
        file_guard: FileGuard | None = None,
        *,
        listeners: Sequence[Listener],
        base_url: str = "",
    ) -> None:
        super().__init__(model, tables, policy, engine)
        self.file_guard = file_guard
        #: where the portal is served (`https://portal.example.com`), for links in e-mail
        self.base_url = base_url.rstrip("/")
        #: what runs after each write, in its transaction, in order (`portalis.engine.effects`
        #: names the portal's listeners; the store knows only this interface)
        self.listeners = tuple(listeners)
        #: the connection reads without `conn=` share (`sharing`); None: one of their own
        self.shared: SharedConnection | None = None

    def sharing(self, shared: SharedConnection) -> RecordStore:
        """This store with its reads on `shared` (one connection for a whole request): every
        read not given `conn=` uses it. Cheap (a shallow copy); writes are unchanged — each
        one transaction of its own, or the caller's with `conn=`."""
        bound = copy.copy(self)
        bound.shared = shared
        return bound

    def reading(self, conn: sa.Connection | None = None) -> AbstractContextManager[sa.Connection]:
        """A connection for reads: `conn` when given (left open), else the shared one
        (`sharing`), else a new one closed at the end of the block."""
        manager: AbstractContextManager[sa.Connection] = self._read(conn)
        return manager

    def _read(self, conn: sa.Connection | None) -> Any:
        # every read of `ReadStore` asks here for its connection
        if conn is None and self.shared is not None:
            return self.shared.read()
        return super()._read(conn)

    def emit(self, conn: sa.Connection, event: WriteEvent) -> None:
        """Tell the listeners about a write, in order, in its transaction: a listener that
        raises rolls the write back (R6). Events deeper than `MAX_EVENT_DEPTH` (automations
        writing records that trigger automations …) are refused."""
        if event.depth > MAX_EVENT_DEPTH:
            raise RecursionError(
                f"automations wrote {event.entity.name} more than {MAX_EVENT_DEPTH} levels deep"
            )
        for listener in self.listeners:
            listener(self, conn, event)

    @contextmanager
    def transaction(self, conn: sa.Connection | None = None) -> Iterator[sa.Connection]:
        """Join `conn`'s transaction, or run a new write transaction."""
        if conn is not None:
            yield conn
            return
        with begin_write(self.engine) as new:
            yield new

    def state_fields(self, entity: Entity) -> frozenset[str]:
        """Fields owned by workflows: only transitions change them."""
        return frozenset(w.field for w in self.model.workflow_for(entity.name))

    def writable(self, entity: Entity, grants: tuple[Grant, ...] | list[Grant]) -> frozenset[str]:
        """Fields the given grants let the actor write (never readonly/computed/state)."""
        fields = self.policy.fields_of_grants(entity.name, grants)
        blocked = self.state_fields(entity) | {n for n, f in entity.fields.items() if f.derived}
        if not any(g.index < 0 for g in grants):
            # readonly means: not by people; automations and workflow actions may set it
            blocked |= {n for n, f in entity.fields.items() if f.readonly}
        return fields - blocked

    # -- insert -------------------------------------------------------------------------
    def insert(
        self,
        actor: Actor,
        entity_name: str,
        values: Mapping[str, Any],
        *,
        conn: sa.Connection | None = None,
        via: str | None = None,
        depth: int = 0,
    ) -> Record:
        """Create a record; ValidationFailed with field errors, Forbidden without a grant.

        `via`/`depth` describe writes made by automations and workflow actions (see `events`).
        """
        entity = self.entity(entity_name)
        grants = self.policy.grants_for(actor, entity.name, "create")
        if not grants:
            raise Forbidden(
                f"not allowed to create {entity.name}",
                self.policy.explain(actor, "create", entity.name),
            )
        with self.transaction(conn) as c:
            base = self.starting_values(entity)
            if (
                entity.account_field
                and entity.account_field != "id"
                and entity.account_field not in values
                and actor.account is not None
                and any(g.scope.kind == "account" for g in grants)
            ):
                # customers create inside their own account without choosing it
                base[entity.account_field] = actor.account
            merged, errors = self.prepare(
                c, actor, entity, base, values, self.writable(entity, grants), creating=True
            )
            author = actor.on_behalf_of if actor.is_system else actor.id
            merged["created_by"] = author
            lock_parents(c, self.policy, self.tables, actor, entity.name, "create", merged)
            if not errors and not self.policy.matching_grants(
                actor, "create", entity.name, merged, lookup=self.lookup(c)
            ):
                lookup = self.lookup(c)
                why = self.policy.explain(actor, "create", entity.name, merged, lookup=lookup)
                denied = OutOfScope(
                    f"not allowed to create this {entity.name}", why, _scope_inputs(grants, values)
                )
                raise refusal(self.policy, actor, "create", entity.name, merged, lookup, denied)
            if errors:
                raise ValidationFailed(errors)
            new_id = self.insert_row(c, entity, merged, created_by=author)
            after = self.load_raw(c, entity, new_id)
            self.emit(c, WriteEvent("create", entity, actor, None, after, via=via, depth=depth))
            return self.get(actor, entity.name, new_id, conn=c)

    def starting_values(self, entity: Entity) -> dict[str, Any]:
        """A new record before input: literal defaults, initial states, empty rollups."""
        base: dict[str, Any] = {n: f.default for n, f in entity.fields.items()}
        for wf in self.model.workflow_for(entity.name):
            base[wf.field] = wf.initial
        for name, field in entity.fields.items():
            if field.rollup is not None:
                base[name] = empty_value(field)
        return base

    def initial_values(
        self, actor: Actor, entity_name: str, given: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """What a new record's form shows first: `starting_values`, then `given`, then the
        expression defaults of the other fields (one that fails stays empty)."""
        entity = self.entity(entity_name)
        values = {**self.starting_values(entity), **(given or {})}
        apply_defaults(entity, values, given or {}, actor)
        return values

    def insert_row(
        self,
        conn: sa.Connection,
        entity: Entity,
        values: Mapping[str, Any],
        *,
        created_by: int | None,
        auth: Mapping[str, Any] | None = None,
    ) -> int:
        """Store cleaned values as a new row (no permission checks: callers have done them);
        `auth` holds the user table's authentication columns (`user_writes` only)."""
        now = utcnow()
        row: dict[str, Any] = {
            "created_at": now,
            "updated_at": now,
            "created_by": created_by,
            "version": 1,
            **_auth_columns(entity, auth),
        }
        for name, field in entity.fields.items():
            if field.stored:  # a virtual field has no column
                row.update(field.kind.to_storage(field, values.get(name)))
        # in this transaction: a create that fails gives its numbers back
        row.update(assign_numbers(conn, self.model.slug, entity, now))
        table = self.tables[entity.name]
        with unique_errors(entity):
            result = conn.execute(table.insert().values(**row))
        key = result.inserted_primary_key
        if key is None or key[0] is None:  # pragma: no cover - every dialect returns it
            raise RuntimeError("insert returned no id")
        return int(key[0])

    # -- update -------------------------------------------------------------------------
    def update(
        self,
        actor: Actor,
        entity_name: str,
        record_id: Any,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        conn: sa.Connection | None = None,
        via: str | None = None,
        depth: int = 0,
    ) -> Record:
        """Change a record the actor may update; StaleRecord when `expected_version` is old."""
        entity = self.entity(entity_name)
        with self.transaction(conn) as c:
            current, grants = self.locked(c, actor, entity, record_id, "update")
            self.check_version(entity, current, expected_version)
            merged, errors = self.prepare(
                c, actor, entity, current, changes, self.writable(entity, grants), creating=False
            )
            if errors:
                raise ValidationFailed(errors)
            self.check_post_image(c, actor, entity, "update", merged, changes)
            self.update_row(c, entity, current, merged)
            after = self.load_raw(c, entity, current["id"])
            self.emit(c, WriteEvent("update", entity, actor, current, after, via=via, depth=depth))
            return self.get(actor, entity.name, current["id"], conn=c)

    def locked(
        self, conn: sa.Connection, actor: Actor, entity: Entity, record_id: Any, action: str
    ) -> tuple[dict[str, Any], tuple[Grant, ...]]:
        """Load and lock a row the actor may read, with the grants covering it for `action`."""
        table = self.tables[entity.name]
        query = sa.select(*self.columns(entity)).where(
            table.c.id == _int_id(record_id), self.policy.row_filter(actor, entity.name, "read")
        )
        if conn.dialect.name == "postgresql":
            # NO KEY UPDATE unless deleting: the key stays, so children being inserted
            # meanwhile (KEY SHARE on this row through their foreign key) need not wait
            query = query.with_for_update(of=table, key_share=action != "delete")
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"{entity.name} #{record_id} not found")
        current = self.raw_values(entity, row)
        lock_parents(conn, self.policy, self.tables, actor, entity.name, action, current)
        grants = self.policy.matching_grants(
            actor, action, entity.name, current, lookup=self.lookup(conn)
        )
        if not grants:
            lookup = self.lookup(conn)
            why = self.policy.explain(actor, action, entity.name, current, lookup=lookup)
            denied = Forbidden(f"not allowed to {action} this {entity.name}", why)
            raise refusal(self.policy, actor, action, entity.name, current, lookup, denied)
        return current, grants

    def load_raw(self, conn: sa.Connection, entity: Entity, record_id: Any) -> dict[str, Any]:
        """A row's raw values, without permission checks (for events after a write)."""
        table = self.tables[entity.name]
        row = (
            conn.execute(sa.select(*self.columns(entity)).where(table.c.id == int(record_id)))
            .mappings()
            .one()
        )
        return self.raw_values(entity, row)

    def check_version(
        self, entity: Entity, current: Mapping[str, Any], expected: int | None
    ) -> None:
        """StaleRecord unless `expected` is None or the current version."""
        if expected is not None and int(expected) != int(current["version"]):
            raise StaleRecord(
                f"{entity.name} #{current['id']} was changed by someone else",
                int(current["version"]),
            )

    def check_post_image(
        self,
        conn: sa.Connection,
        actor: Actor,
        entity: Entity,
        action: str,
        merged: Mapping[str, Any],
        changed: Iterable[str] = (),
    ) -> None:
        """The changed record must still lie inside one of the actor's grants (OutOfScope
        names the `changed` fields those grants decide on)."""
        lock_parents(conn, self.policy, self.tables, actor, entity.name, action, merged)
        if not self.policy.matching_grants(
            actor, action, entity.name, merged, lookup=self.lookup(conn)
        ):
            lookup = self.lookup(conn)
            denied = OutOfScope(
                f"this change would move the {entity.name} out of your reach",
                self.policy.explain(actor, action, entity.name, merged, lookup=lookup),
                _scope_inputs(self.policy.grants_for(actor, entity.name, action), changed),
            )
            raise refusal(self.policy, actor, action, entity.name, merged, lookup, denied)

    def update_row(
        self,
        conn: sa.Connection,
        entity: Entity,
        current: Mapping[str, Any],
        merged: Mapping[str, Any],
        auth: Mapping[str, Any] | None = None,
    ) -> None:
        """Write changed columns with version + 1, guarded by the version read; `auth`
        holds the user table's authentication columns (`user_writes` only)."""
        values: dict[str, Any] = _auth_columns(entity, auth)
        for name, field in entity.fields.items():
            if field.stored and merged.get(name) != current.get(name):
                values.update(field.kind.to_storage(field, merged.get(name)))
        table = self.tables[entity.name]
        version = int(current["version"])
        with unique_errors(entity):
            result = conn.execute(
                table.update()
                .where(table.c.id == current["id"], table.c.version == version)
                .values(**values, version=version + 1, updated_at=utcnow())
            )
        if result.rowcount != 1:
            raise StaleRecord(f"{entity.name} #{current['id']} was changed by someone else")

    # -- delete -------------------------------------------------------------------------
    def delete(
        self,
        actor: Actor,
        entity_name: str,
        record_id: Any,
        *,
        expected_version: int | None = None,
        conn: sa.Connection | None = None,
    ) -> None:
        """Delete a record the actor may delete."""
        entity = self.entity(entity_name)
        table = self.tables[entity.name]
        try:
            with self.transaction(conn) as c:
                current, _ = self.locked(c, actor, entity, record_id, "delete")
                self.check_version(entity, current, expected_version)
                c.execute(table.delete().where(table.c.id == current["id"]))
                self.emit(c, WriteEvent("delete", entity, actor, current, None))
        except sa.exc.IntegrityError as exc:
            errors: Errors = {}
            add_error(errors, NON_FIELD, "in-use", "other records still refer to this one")
            raise ValidationFailed(errors) from exc


def _auth_columns(entity: Entity, auth: Mapping[str, Any] | None) -> dict[str, Any]:
    """`auth` checked: only the user table has authentication columns, and only those."""
    if not auth:
        return {}
    unknown = set(auth) - set(USER_AUTH_COLUMNS) if entity.name == "user" else set(auth)
    if unknown:
        raise ValueError(f"{entity.name} has no authentication columns {sorted(unknown)}")
    return dict(auth)
