"""Workflow transitions: which are available to an actor, and applying one atomically.

A transition needs a `transition` grant whose scope covers the record, one of the
transition's roles, the record in a source state, a true `when` and every `require`d field
set. Applying it changes the state (and any supplied required fields) in one transaction,
guarded by the record's version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .errors import NON_FIELD, FieldMessage, Forbidden, NotFound, ValidationFailed
from .expressions import EvaluationError
from .model import Entity, Transition, Workflow
from .permissions import Actor
from .records import Record
from .store import RecordStore


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether a transition is available now, and why (not)."""

    transition: Transition
    workflow: Workflow
    allowed: bool
    reason: str


def find(store: RecordStore, entity: Entity, name: str) -> tuple[Workflow, Transition]:
    """The workflow and transition called `name` on `entity`, or NotFound."""
    for wf in store.model.workflow_for(entity.name):
        if name in wf.transitions:
            return wf, wf.transitions[name]
    raise NotFound(f"{entity.name} has no transition {name!r}")


def check(
    actor: Actor,
    wf: Workflow,
    tr: Transition,
    record: Mapping[str, Any],
    has_grant: bool,
) -> Availability:
    """Decide one transition for a record (grant already resolved by the caller)."""
    state = record.get(wf.field)
    if not has_grant:
        return Availability(tr, wf, False, "no transition grant covers this record")
    if state not in tr.sources:
        return Availability(tr, wf, False, f"not available in state {state!r}")
    if not tr.roles & actor.roles:
        return Availability(tr, wf, False, "needs role " + " or ".join(sorted(tr.roles)))
    if tr.when is not None:
        try:
            ok = tr.when.test(record=record, actor=actor)
        except EvaluationError as exc:
            return Availability(tr, wf, False, f"condition could not be evaluated: {exc}")
        if not ok:
            return Availability(tr, wf, False, f"when-condition false: {tr.when_source}")
    return Availability(tr, wf, True, "available")


def available(
    store: RecordStore, actor: Actor, entity_name: str, record_id: Any
) -> list[Availability]:
    """Every transition of the record's workflows with its availability for `actor`."""
    entity = store.entity(entity_name)
    workflows = store.model.workflow_for(entity.name)
    if not workflows:
        return []
    table = store.tables[entity.name]
    with store.engine.connect() as conn:
        row = (
            conn.execute(
                sa.select(*store.columns(entity)).where(
                    table.c.id == record_id, store.policy.row_filter(actor, entity.name, "read")
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"{entity.name} #{record_id} not found")
        current = store.raw_values(entity, row)
        has_grant = bool(
            store.policy.matching_grants(
                actor, "transition", entity.name, current, lookup=store.lookup(conn)
            )
        )
    return [
        check(actor, wf, tr, current, has_grant)
        for wf in workflows
        for tr in wf.transitions.values()
    ]


def transition(
    store: RecordStore,
    actor: Actor,
    entity_name: str,
    record_id: Any,
    name: str,
    *,
    expected_version: int | None = None,
    values: Mapping[str, Any] | None = None,
    conn: sa.Connection | None = None,
) -> Record:
    """Apply transition `name`; Forbidden when unavailable, StaleRecord on a version clash.

    `values` may set the transition's `require`d fields (e.g. a resolution) in the same write.
    """
    entity = store.entity(entity_name)
    wf, tr = find(store, entity, name)
    with store.transaction(conn) as c:
        current, _grants = store.locked(c, actor, entity, record_id, "transition")
        store.check_version(entity, current, expected_version)
        verdict = check(actor, wf, tr, current, True)
        if not verdict.allowed:
            raise Forbidden(f"transition {name!r} is not available", verdict.reason)
        writable = frozenset(tr.require)
        # rules and visibility see the record as it will be: in the target state
        moved = {**current, wf.field: tr.target}
        merged, errors = store.prepare(
            c, actor, entity, moved, dict(values or {}), writable, creating=False
        )
        for req in tr.require:
            field = entity.fields[req]
            if field.kind.is_empty(merged.get(req)) and req not in errors:
                errors.setdefault(req, []).append(
                    FieldMessage("required", "required for {transition}", {"transition": name})
                )
        if errors:
            raise ValidationFailed(errors)
        if merged.get(wf.field) not in wf.states:  # defensive: compiled workflows are checked
            raise ValidationFailed({NON_FIELD: [FieldMessage("state", "invalid target state")]})
        store.update_row(c, entity, current, merged)
        return store.get(actor, entity.name, current["id"], conn=c)
