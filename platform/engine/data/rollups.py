"""Rollups: aggregates over child records (`{rollup: sum, of: invoice_line.amount, via:
invoice}`), kept exact inside the transaction of every child write.

`after_write` is the first write listener (see `effects`). When a child is created, deleted,
moved to another parent or changed in a field the rollup reads (the aggregated field or a
`where` field), each affected parent is refreshed:

1. its row is locked (PostgreSQL: `FOR NO KEY UPDATE`, which does not wait for the key-share
   locks that inserting children take on the parent; SQLite: the writer already holds the
   database through `BEGIN IMMEDIATE`);
2. every rollup over that child relation is recomputed with ONE aggregate SELECT over the
   children — never an increment, so the value is exact however writes interleave;
3. the parent's stored computed fields are recomputed from the new values;
4. the parent's rules run against the new values: a failing rule refuses the child write
   (a `RuleConflict` with the parent's rule message) when it held before the write or
   reads a field the write changed. "booked <= capacity" on a slot is how a definition says
   that the last place can be taken once (R7). A rule the parent already breaks for other
   reasons ("due >= today()" on last month's invoice) does not block its children;
5. the changed columns are written with `updated_at` = now but the same `version`: rollup
   and computed fields are never written by users, so no one's edit can be lost, and a form
   opened before a child was added still saves. `updated_at` moves because the parent's
   data did change (lists sorted by recent activity show it), as in other platforms;
6. rollups of grandparents that read a changed field are refreshed next (a chain such as
   account.balance = sum of invoice.total), level by level.

Money is summed in the parent field's currency; a child amount in another currency refuses
the write with a field error on the child rather than adding apples and pears. An empty sum
is 0, an empty min/max is None, a count is an int. `recompute_all` brings every parent of a
rollup field up to date (deploys call it for new or changed rollups and after seeding;
`rollup_recompute`).

A refreshed parent that an `on: update` automation listens to gets one update event of its
own after the whole chain is refreshed (`rollup_events`); `recompute_all` raises none: a
deploy repairs derived data, nobody changed anything an automation should answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..definition.fields import FieldValueError
from ..definition.fieldtypes.money import Money
from ..definition.model import Entity, Field, Rollup
from ..expr.expressions import EvaluationError
from .computed import compute_virtual
from .currencies import zero_in
from .errors import NON_FIELD, FieldMessage, RuleConflict, ValidationFailed
from .events import WriteEvent
from .permissions import Actor
from .rollup_events import Announcements
from .rollup_sql import ForeignCurrency, aggregate, currency_of, reads, rollups_over
from .tables import utcnow

if TYPE_CHECKING:
    from .store import RecordStore

log = logging.getLogger(__name__)

#: Rollups over rollups are refreshed level by level; deeper chains mean a cycle in the data.
MAX_CHAIN = 16

#: (parent entity, parent id) → the child relations (child entity, via field) that changed
Pending = dict[tuple[str, int], set[tuple[str, str]]]


# -- the listener -------------------------------------------------------------------------
def after_write(store: RecordStore, conn: sa.Connection, event: WriteEvent) -> None:
    """Refresh the parents whose rollups the written child takes part in."""
    if event.rollup_of:
        return  # a parent's refresh: `refresh` has already carried it up the chain
    pending: Pending = {}
    for parent, _field, rollup in rollups_over(store.model, event.entity.name):
        for parent_id in _parents_touched(event, rollup):
            pending.setdefault((parent.name, parent_id), set()).add((rollup.entity, rollup.via))
    if pending:
        refresh(store, conn, pending, event.actor, child=event)


def _parents_touched(event: WriteEvent, rollup: Rollup) -> set[int]:
    old = _ref(event.before, rollup.via)
    new = _ref(event.after, rollup.via)
    if event.kind == "create":
        return {new} if new is not None else set()
    if event.kind == "delete":
        return {old} if old is not None else set()
    changed = event.changed()
    if not reads(rollup) & changed.keys():
        return set()
    return {i for i in (old, new) if i is not None}


def _ref(values: Mapping[str, Any] | None, name: str) -> int | None:
    value = None if values is None else values.get(name)
    return None if value is None else int(value)


def refresh(
    store: RecordStore,
    conn: sa.Connection,
    pending: Pending,
    actor: Actor,
    *,
    child: WriteEvent | None = None,
) -> None:
    """Recompute the rollups of `pending` parents and, level by level, of their ancestors.

    `child` is the write that caused it (its field gets the error for a foreign currency).
    Raises ValidationFailed when a parent's rule breaks or a value does not fit its field.
    """
    announced = Announcements(store.model, actor, child.depth if child is not None else 0)
    level = 0
    while pending:
        level += 1
        if level > MAX_CHAIN:
            raise ValidationFailed(
                {NON_FIELD: [FieldMessage("rollup-depth", "rollups are nested too deeply")]}
            )
        upward: Pending = {}
        # a fixed lock order (entity, id) keeps two writers from waiting on each other
        for key in sorted(pending):
            entity = store.model.entities[key[0]]
            changed, before, values = _refresh_one(
                store, conn, entity, key[1], pending[key], actor, child
            )
            if not changed:
                continue
            announced.add(entity, before, values, (source for source, _via in pending[key]))
            for grand, _f, rollup in rollups_over(store.model, entity.name):
                grand_id = _ref(values, rollup.via)
                if grand_id is not None and reads(rollup) & changed:
                    upward.setdefault((grand.name, grand_id), set()).add(
                        (rollup.entity, rollup.via)
                    )
        pending, child = upward, None
    announced.emit(store, conn)


def _refresh_one(
    store: RecordStore,
    conn: sa.Connection,
    entity: Entity,
    parent_id: int,
    sources: set[tuple[str, str]],
    actor: Actor,
    child: WriteEvent | None,
) -> tuple[frozenset[str], dict[str, Any], dict[str, Any]]:
    """Lock, recompute and write one parent; (changed field names, old values, new values)."""
    table = store.tables[entity.name]
    query = sa.select(*store.columns(entity)).where(table.c.id == parent_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=table, key_share=True)
    row = conn.execute(query).mappings().first()
    if row is None:  # the parent is being deleted in this very transaction
        return frozenset(), {}, {}
    before = store.raw_values(entity, row)
    after = dict(before)
    errors: dict[str, list[FieldMessage]] = {}
    for name, field in entity.fields.items():
        rollup = field.rollup
        if rollup is None or (rollup.entity, rollup.via) not in sources:
            continue
        try:
            after[name] = aggregate_field(store, conn, field, rollup, parent_id, before[name])
        except ForeignCurrency as exc:
            _currency_error(errors, entity, field, rollup, parent_id, exc, child)
        except FieldValueError as exc:
            _add(
                errors,
                FieldMessage(
                    exc.code,
                    "{entity} #{id}, {field}: {error}",
                    {"entity": entity.name, "id": parent_id, "field": name, "error": str(exc)},
                ),
            )
    if errors:
        raise ValidationFailed(errors)
    changed = {n for n, f in entity.fields.items() if f.rollup and after[n] != before[n]}
    if not changed:
        return frozenset(), before, after
    changed |= recompute_stored(entity, after, actor, errors, parent_id)
    _check_rules(store, entity, before, after, frozenset(changed), actor, errors)
    if errors and all(m.code == "rule" for msgs in errors.values() for m in msgs):
        raise RuleConflict(errors)  # the parent's state refuses it, not the child's input
    if errors:
        raise ValidationFailed(errors)
    columns: dict[str, Any] = {}
    for name in changed:
        field = entity.fields[name]
        columns.update(field.kind.to_storage(field, after[name]))
    after["updated_at"] = utcnow()
    conn.execute(
        table.update()
        .where(table.c.id == parent_id)
        .values(**columns, updated_at=after["updated_at"])
    )
    return frozenset(changed), before, after


def recompute_stored(
    entity: Entity,
    values: dict[str, Any],
    actor: Actor,
    errors: dict[str, list[FieldMessage]],
    parent_id: int,
) -> set[str]:
    """Stored computed fields from the new rollup values (in definition order)."""
    changed = set()
    for name, field in entity.fields.items():
        if field.compute is None or not field.stored:
            continue
        try:
            value = field.kind.clean(field, field.compute.evaluate(record=values, actor=actor))
        except (EvaluationError, FieldValueError) as exc:
            _add(
                errors,
                FieldMessage(
                    "expression-failed",
                    "{entity} #{id}, {field} could not be computed: {error}",
                    {"entity": entity.name, "id": parent_id, "field": name, "error": str(exc)},
                ),
            )
            continue
        if value != values.get(name):
            values[name] = value
            changed.add(name)
    return changed


def _check_rules(
    store: RecordStore,
    entity: Entity,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    changed: frozenset[str],
    actor: Actor,
    errors: dict[str, list[FieldMessage]],
) -> None:
    """A rule of the parent failing after the child write refuses it, if it held before or
    reads one of the `changed` fields (so the write is what breaks it, or makes it worse)."""
    if not entity.rules:
        return
    old = {**before, **compute_virtual(entity, before, actor)}
    new = {**after, **compute_virtual(entity, after, actor)}
    for rule in entity.rules:
        try:
            if rule.check.test(record=new, actor=actor):
                continue
        except EvaluationError as exc:
            _add(
                errors,
                FieldMessage(
                    "expression-failed",
                    "a rule of {entity} could not be checked: {error}",
                    {"entity": entity.name, "error": str(exc)},
                ),
            )
            continue
        try:
            held = rule.check.test(record=old, actor=actor)
        except EvaluationError:
            held = True  # it could not be judged before: the new failure is this write's
        if held or rule.check.record_keys & changed:
            text = rule.message.get(store.model.default_locale, store.model.default_locale)
            errors.setdefault(NON_FIELD, []).append(
                FieldMessage("rule", text, {"entity": entity.name, "rule": rule.index})
            )


def _currency_error(
    errors: dict[str, list[FieldMessage]],
    entity: Entity,
    field: Field,
    rollup: Rollup,
    parent_id: int,
    exc: ForeignCurrency,
    child: WriteEvent | None,
) -> None:
    target = currency_of(field)
    mine = child.after.get(rollup.field or "") if child is not None and child.after else None
    if (
        child is not None
        and child.entity.name == rollup.entity
        and isinstance(mine, Money)
        and mine.currency != target
        and rollup.field is not None
    ):
        if any(m.code == "currency" for m in errors.get(rollup.field, ())):
            return  # one message, however many rollups read the amount
        errors.setdefault(rollup.field, []).append(
            FieldMessage(
                "currency",
                "must be in {currency}: it adds up into {field} of {entity}",
                {"currency": target, "field": field.name, "entity": entity.name},
            )
        )
        return
    params = {
        "entity": entity.name,
        "id": parent_id,
        "child": rollup.entity,
        "currencies": ", ".join(exc.currencies),
        "field": field.name,
        "currency": target,
    }
    _add(
        errors,
        FieldMessage(
            "currency",
            "{entity} #{id} has {child} amounts in {currencies}; {field} adds up {currency} only",
            params,
        ),
    )


def _add(errors: dict[str, list[FieldMessage]], message: FieldMessage) -> None:
    errors.setdefault(NON_FIELD, []).append(message)


def aggregate_field(
    store: RecordStore,
    conn: sa.Connection,
    field: Field,
    rollup: Rollup,
    parent_id: int,
    before: Any,
) -> Any:
    """The rollup `field` of one parent; an empty sum keeps the parent's currency (a USD
    order whose last line is gone totals 0 USD, not the field's default 0 EUR)."""
    value = aggregate(conn, store.model, store.tables, field, rollup, parent_id)
    return zero_in(value, before.currency) if isinstance(before, Money) else value
