"""Checks of record writes, before anything is stored: the values, the definition's rules and
what the input points at.

A field that fails to clean keeps its old value while rules run, and an expression that reads a
refused value is skipped: the field's own error explains the refusal. Refs must point at records
the actor can read and files at the actor's own uploads; a unique value taken by a concurrent
writer becomes a field error, not a database error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ..definition.fields import FieldValueError
from ..definition.model import Entity, PortalModel
from ..expr.expressions import EvaluationError, Expression
from .account_tree import check_account_parent
from .computed import Errors, apply_defaults, compute_fields
from .currencies import align_given, check_computed
from .errors import NON_FIELD, FieldMessage, NotFound, ValidationFailed
from .lookups import load_lookups
from .permissions import Actor, Policy
from .query import _int_id
from .related import load_related
from .tables import TableSet, utcnow
from .user_rows import user_locale_error

log = logging.getLogger("portalis.engine.data.store")

#: Decides whether `actor` may attach the stored file `file_id` (the runtime knows uploads).
FileGuard = Callable[[sa.Connection, Actor, str], bool]


def add_error(errors: Errors, name: str, code: str, message: str, **params: Any) -> None:
    """Add one field message to `errors` (NON_FIELD for the record as a whole)."""
    errors.setdefault(name, []).append(FieldMessage(code, message, params))


def _reads(expr: Expression, fields: frozenset[str]) -> bool:
    """True when `expr` may read one of `fields` (a whole-record read may read any)."""
    return bool(fields) and (expr.whole_record or bool(expr.record_keys & fields))


class WriteChecks:
    """Input checks of record writes (the validation half of `RecordStore`): clean values,
    apply visibility, required, compute and rules, and check refs, unique values and files."""

    model: PortalModel
    tables: TableSet
    policy: Policy
    #: decides which file ids an actor may attach (None: no new file values)
    file_guard: FileGuard | None

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
                add_error(errors, name, "unknown-field", "unknown field")
            elif name not in writable:
                add_error(errors, name, "not-writable", "you may not change this field")
            else:
                try:
                    merged[name] = field.kind.clean(field, raw)
                    changed.add(name)
                except FieldValueError as exc:
                    add_error(errors, name, exc.code, exc.template, **exc.params)
        if entity.name == "user" and "locale" in changed and "locale" not in errors:
            wrong = user_locale_error(self.model.locales, merged.get("locale"))
            if wrong is not None:
                errors["locale"] = [wrong]
        related = self._load_related(conn, entity, merged)
        if creating:
            apply_defaults(entity, merged, changes, actor, errors)
            if any(f.default_expr is not None for f in entity.refs()):
                related = self._load_related(conn, entity, merged)  # a default chose a reference
        align_given(entity, merged, changes, errors, creating=creating)
        self._apply_rules(actor, entity, merged, errors)
        check_computed(entity, merged, errors)
        for key in related:  # read for the expressions; never stored or passed on
            merged.pop(key, None)
        for name in changed:
            field = entity.fields[name]
            if field.type == "ref" and merged.get(name) is not None and name not in errors:
                target = field.config.to if field.config is not None else None
                if target and not self._readable(conn, actor, target, merged[name]):
                    add_error(errors, name, "not-found", "the selected record does not exist")
            if name == entity.parent_field and name not in errors:
                wrong = check_account_parent(
                    conn, self.tables[entity.name], name, merged.get("id"), merged.get(name)
                )
                if wrong is not None:
                    errors[name] = [wrong]
            if field.unique and merged.get(name) is not None and name not in errors:
                if self._taken(conn, entity, name, merged[name], merged.get("id")):
                    add_error(errors, name, "unique", "this value is already used")
            if (
                field.type == "file"
                and merged.get(name) is not None
                and merged.get(name) != current.get(name)
                and name not in errors
                and (self.file_guard is None or not self.file_guard(conn, actor, str(merged[name])))
            ):
                # only files this actor uploaded may be attached: an id alone is no permission
                add_error(errors, name, "not-found", "the file does not exist")
        return merged, errors

    def _load_related(
        self, conn: sa.Connection, entity: Entity, merged: dict[str, Any]
    ) -> frozenset[str]:
        """Load the referenced records' fields the entity's expressions read into `merged`."""
        if entity.reads:
            paths = [key for key in entity.reads if "." in key]
            load_related(conn, self.model, self.tables, entity, [merged], paths)
            names = [key for key in entity.reads if key in entity.lookups]
            today = utcnow().date()
            load_lookups(conn, self.model, self.tables, entity, [merged], names, today)
        return entity.reads

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
                    add_error(errors, name, "required", "this field is required")
            except EvaluationError as exc:
                # The message stays generic; the log line is for the definition's maintainer.
                log.warning("%s.%s: a condition could not be checked: %s", entity.name, name, exc)
                add_error(errors, name, "expression-failed", "could not be checked")
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
                add_error(errors, NON_FIELD, "expression-failed", "a rule could not be checked")
                continue
            if not ok:
                add_error(
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
                add_error(errors, name, "unique", "this value is already used")
        if not errors:
            add_error(errors, NON_FIELD, "unique", "this record conflicts with an existing one")
        raise ValidationFailed(errors) from exc
