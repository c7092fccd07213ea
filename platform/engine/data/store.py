"""Writes of the record store: insert, update, delete — each one transaction.

Input is cleaned by the field types; fields the actor may not write are refused (422), never
silently stored; rules, `required_when`, `visible_when` and `compute` run on the server; refs
must point to records the actor can read; updates check `version` (stale → StaleRecord, 409);
the post-image must still lie inside one of the actor's grants.

New records start with literal defaults, the workflow's initial state, empty rollups (0 for
sums and counts) and `default: {expr: ...}` evaluated for what the input leaves out. Virtual
fields have no column and are never written; rollups are kept by `rollups` after each write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ..definition.fields import FieldValueError
from ..definition.model import Entity, Grant, PortalModel
from ..expr.expressions import EvaluationError, Expression
from .computed import Errors, apply_defaults, compute_fields
from .db import begin_write
from .errors import (
    NON_FIELD,
    FieldMessage,
    Forbidden,
    NotFound,
    OutOfScope,
    StaleRecord,
    ValidationFailed,
)
from .events import MAX_EVENT_DEPTH, WriteEvent
from .permissions import Actor, Policy
from .query import _int_id
from .records import ReadStore
from .rollup_sql import empty_value
from .rows import Record
from .tables import USER_AUTH_COLUMNS, TableSet, utcnow
from .user_rows import user_locale_error

log = logging.getLogger(__name__)

#: A write listener: (store, connection, event) → None, called inside the write's transaction;
#: raising aborts the write. Registered per store (see `RecordStore(listeners=…)`).
Listener = Callable[["RecordStore", sa.Connection, WriteEvent], None]


def _err(errors: Errors, name: str, code: str, message: str, **params: Any) -> None:
    errors.setdefault(name, []).append(FieldMessage(code, message, params))


def _scope_inputs(grants: Iterable[Grant], given: Iterable[str]) -> tuple[str, ...]:
    """The given fields the grants' scopes decide on: why a write lies out of scope."""
    decided: list[str] = []
    for grant in grants:
        scope = grant.scope
        names = [n for n, _ in scope.where] if scope.kind == "where" else [scope.field or ""]
        decided.extend(n for n in names if n and n not in decided)
    wanted = set(given)
    return tuple(n for n in decided if n in wanted)


def _reads(expr: Expression, fields: frozenset[str]) -> bool:
    """True when `expr` may read one of `fields` (a whole-record read may read any)."""
    return bool(fields) and (expr.whole_record or bool(expr.record_keys & fields))


#: Decides whether `actor` may attach the stored file `file_id` (the runtime knows uploads).
FileGuard = Callable[[sa.Connection, Actor, str], bool]


class RecordStore(ReadStore):
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
            if not errors and not self.policy.matching_grants(
                actor, "create", entity.name, merged, lookup=self.lookup(c)
            ):
                raise OutOfScope(
                    f"not allowed to create this {entity.name}",
                    self.policy.explain(
                        actor, "create", entity.name, merged, lookup=self.lookup(c)
                    ),
                    _scope_inputs(grants, values),
                )
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
        grants = self.policy.matching_grants(
            actor, action, entity.name, current, lookup=self.lookup(conn)
        )
        if not grants:
            raise Forbidden(
                f"not allowed to {action} this {entity.name}",
                self.policy.explain(actor, action, entity.name, current, lookup=self.lookup(conn)),
            )
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
        if not self.policy.matching_grants(
            actor, action, entity.name, merged, lookup=self.lookup(conn)
        ):
            raise OutOfScope(
                f"this change would move the {entity.name} out of your reach",
                self.policy.explain(actor, action, entity.name, merged, lookup=self.lookup(conn)),
                _scope_inputs(self.policy.grants_for(actor, entity.name, action), changed),
            )

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
            _err(errors, NON_FIELD, "in-use", "other records still refer to this one")
            raise ValidationFailed(errors) from exc

    # -- validation ---------------------------------------------------------------------
    def prepare(
        self,
        conn: sa.Connection,
        actor: Actor,
        entity: Entity,
        current: Mapping[str, Any],
        changes: Mapping[str, Any],
        writable: frozenset[str],
        *,
        creating: bool,
    ) -> tuple[dict[str, Any], Errors]:
        """Clean `changes` over `current`; run visibility, required, compute, rules, refs.

        When `creating`, expression defaults fill the fields `changes` does not give.
        """
        errors: Errors = {}
        merged = dict(current)
        changed: set[str] = set()
        for name, raw in changes.items():
            field = entity.fields.get(name)
            if field is None:
                _err(errors, name, "unknown-field", "unknown field")
            elif name not in writable:
                _err(errors, name, "not-writable", "you may not change this field")
            else:
                try:
                    merged[name] = field.kind.clean(field, raw)
                    changed.add(name)
                except FieldValueError as exc:
                    _err(errors, name, exc.code, exc.template, **exc.params)
        if entity.name == "user" and "locale" in changed and "locale" not in errors:
            wrong = user_locale_error(self.model.locales, merged.get("locale"))
            if wrong is not None:
                errors["locale"] = [wrong]
        if creating:
            apply_defaults(entity, merged, changes, actor, errors)
        self._apply_rules(actor, entity, merged, errors)
        for name in changed:
            field = entity.fields[name]
            if field.type == "ref" and merged.get(name) is not None and name not in errors:
                target = field.config.to if field.config is not None else None
                if target and not self._readable(conn, actor, target, merged[name]):
                    _err(errors, name, "not-found", "the selected record does not exist")
            if field.unique and merged.get(name) is not None and name not in errors:
                if self._taken(conn, entity, name, merged[name], merged.get("id")):
                    _err(errors, name, "unique", "this value is already used")
            if (
                field.type == "file"
                and merged.get(name) is not None
                and merged.get(name) != current.get(name)
                and name not in errors
                and (self.file_guard is None or not self.file_guard(conn, actor, str(merged[name])))
            ):
                # only files this actor uploaded may be attached: an id alone is no permission
                _err(errors, name, "not-found", "the file does not exist")
        return merged, errors

    def _apply_rules(
        self, actor: Actor, entity: Entity, merged: dict[str, Any], errors: Errors
    ) -> None:
        # Fields that failed to clean hold their old value (or None): an expression reading
        # one would judge a value nobody entered. The field error refuses the write anyway.
        failed = frozenset(errors)
        for name, field in entity.fields.items():
            try:
                if (
                    field.visible_when is not None
                    and not _reads(field.visible_when, failed)
                    and not field.visible_when.test(record=merged, actor=actor)
                ):
                    merged[name] = None  # hidden fields keep no value
                    continue
                needed = field.required or (
                    field.required_when is not None
                    and not _reads(field.required_when, failed)
                    and bool(field.required_when.test(record=merged, actor=actor))
                )
                if needed and field.kind.is_empty(merged.get(name)) and name not in errors:
                    _err(errors, name, "required", "this field is required")
            except EvaluationError as exc:
                # The message stays generic; the log line is for the definition's maintainer.
                log.warning("%s.%s: a condition could not be checked: %s", entity.name, name, exc)
                _err(errors, name, "expression-failed", "could not be checked")
        compute_fields(entity, merged, actor, errors)
        for name, field in entity.fields.items():
            if field.compute is not None and _reads(field.compute, failed):
                # Computed from a refused value: the refused field's error says it all.
                kept = [m for m in errors.get(name, []) if m.code != "expression-failed"]
                if kept:
                    errors[name] = kept
                else:
                    errors.pop(name, None)
        for rule in entity.rules:
            if _reads(rule.check, failed):
                continue
            try:
                ok = rule.check.test(record=merged, actor=actor)
            except EvaluationError as exc:
                log.warning("%s: rule %d could not be checked: %s", entity.name, rule.index, exc)
                _err(errors, NON_FIELD, "expression-failed", "a rule could not be checked")
                continue
            if not ok:
                _err(
                    errors,
                    NON_FIELD,
                    "rule",
                    rule.message.get(self.model.default_locale, self.model.default_locale),
                    entity=entity.name,
                    rule=rule.index,
                )

    def _readable(
        self, conn: sa.Connection, actor: Actor, entity_name: str, record_id: Any
    ) -> bool:
        table = self.tables[entity_name]
        try:
            rid = _int_id(record_id)
        except NotFound:
            return False
        query = sa.select(table.c.id).where(
            table.c.id == rid, self.policy.row_filter(actor, entity_name, "read")
        )
        return conn.execute(query).first() is not None

    def _taken(
        self, conn: sa.Connection, entity: Entity, name: str, value: Any, own_id: Any
    ) -> bool:
        field = entity.fields[name]
        table = self.tables[entity.name]
        column = field.columns[0]
        stored = field.kind.to_storage(field, value)[column]
        query = sa.select(table.c.id).where(table.c[column] == stored)
        if own_id is not None:
            query = query.where(table.c.id != own_id)
        return conn.execute(query.limit(1)).first() is not None


def _auth_columns(entity: Entity, auth: Mapping[str, Any] | None) -> dict[str, Any]:
    """`auth` checked: only the user table has authentication columns, and only those."""
    if not auth:
        return {}
    unknown = set(auth) - set(USER_AUTH_COLUMNS) if entity.name == "user" else set(auth)
    if unknown:
        raise ValueError(f"{entity.name} has no authentication columns {sorted(unknown)}")
    return dict(auth)


@contextmanager
def unique_errors(entity: Entity) -> Iterator[None]:
    """Turn a unique index refusing a value (a concurrent writer won the race) into a
    field error (422) instead of a database error."""
    try:
        yield
    except sa.exc.IntegrityError as exc:
        text = str(exc.orig).lower()
        if "unique" not in text and "duplicate" not in text:
            raise
        errors: Errors = {}
        for name, field in entity.fields.items():
            if field.unique and any(column.lower() in text for column in field.columns):
                _err(errors, name, "unique", "this value is already used")
        if not errors:
            _err(errors, NON_FIELD, "unique", "this record conflicts with an existing one")
        raise ValidationFailed(errors) from exc
