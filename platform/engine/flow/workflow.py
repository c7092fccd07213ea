"""Workflow transitions: which are available to an actor and why not, and taking one.

The rules live in `workflow_rules` (pure), approvals in `approvals`, applying a transition in
`workflow_apply`; this module is the entry point callers use:

- `available(store, actor, entity, id)` — every transition of the record's workflows with its
  `Availability` (allowed, a plain-words reason, approval progress);
- `explain(store, actor, entity, id, name)` — the same for one transition;
- `take(...)` — take or approve a transition, returning an `Outcome`;
- `transition(...)` — take one and return the record afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.errors import NotFound
from ..data.permissions import Actor
from ..data.rows import Record
from ..definition.flow_model import Transition, Workflow
from ..definition.model import Entity
from . import approvals
from .workflow_apply import COMMENT_KEY, MAX_COMMENT_LENGTH, Outcome, TransitionUnavailable, take
from .workflow_rules import Availability, Progress, check
from .workflow_rules import find as find_in_model

if TYPE_CHECKING:
    from ..data.store import RecordStore

__all__ = [
    "COMMENT_KEY",
    "MAX_COMMENT_LENGTH",
    "Availability",
    "Outcome",
    "Progress",
    "TransitionUnavailable",
    "available",
    "check",
    "explain",
    "find",
    "take",
    "transition",
]


def find(store: RecordStore, entity: Entity, name: str) -> tuple[Workflow, Transition]:
    """The workflow and transition called `name` on `entity`, or NotFound."""
    return find_in_model(store.model, entity, name)


def available(
    store: RecordStore, actor: Actor, entity_name: str, record_id: Any
) -> list[Availability]:
    """Every transition of the record's workflows with its availability for `actor`
    (NotFound when the actor cannot read the record). A fixed number of queries: the
    record, the grant's parent look-ups, and one for approvals when a quorum is pending."""
    entity = store.entity(entity_name)
    workflows = store.model.workflow_for(entity.name)
    if not workflows:
        return []
    with store.reading() as conn:
        current = _readable_row(store, conn, actor, entity, record_id)
        has_grant = bool(
            store.policy.matching_grants(
                actor, "transition", entity.name, current, lookup=store.lookup(conn)
            )
        )
        pending = [
            tr
            for wf in workflows
            for tr in wf.transitions.values()
            if current.get(wf.field) in tr.sources
        ]
        progress: Mapping[str, Progress] = {}
        if has_grant and not actor.is_system:
            progress = approvals.progress_map(
                conn,
                portal=store.model.slug,
                entity=entity,
                record=current,
                transitions=pending,
                actor=actor,
            )
    return [
        check(actor, wf, tr, current, has_grant, progress=progress.get(tr.name))
        for wf in workflows
        for tr in wf.transitions.values()
    ]


def explain(
    store: RecordStore, actor: Actor, entity_name: str, record_id: Any, name: str
) -> Availability:
    """Whether `actor` may take transition `name` on the record now, and why (not)."""
    entity = store.entity(entity_name)
    find(store, entity, name)  # NotFound for an unknown transition
    for item in available(store, actor, entity.name, record_id):
        if item.transition.name == name:
            return item
    raise NotFound(f"{entity.name} has no transition {name!r}")  # pragma: no cover


def transition(
    store: RecordStore,
    actor: Actor,
    entity_name: str,
    record_id: Any,
    name: str,
    *,
    expected_version: int | None = None,
    values: Mapping[str, Any] | None = None,
    comment: str | None = None,
    conn: sa.Connection | None = None,
    via: str | None = None,
    depth: int = 0,
) -> Record | None:
    """Take (or approve) transition `name` and return the record as the actor sees it
    afterwards (None when it left their reach). See `take` for the errors it raises; use
    `take` to learn whether an approval completed the quorum."""
    return take(
        store,
        actor,
        entity_name,
        record_id,
        name,
        expected_version=expected_version,
        values=values,
        comment=comment,
        conn=conn,
        via=via,
        depth=depth,
    ).record


def _readable_row(
    store: RecordStore, conn: sa.Connection, actor: Actor, entity: Entity, record_id: Any
) -> dict[str, Any]:
    table = store.tables[entity.name]
    try:
        rid = int(record_id)
    except (TypeError, ValueError):
        raise NotFound(f"{entity.name} #{record_id} not found") from None
    row = (
        conn.execute(
            sa.select(*store.columns(entity)).where(
                table.c.id == rid, store.policy.row_filter(actor, entity.name, "read")
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"{entity.name} #{record_id} not found")
    return store.raw_values(entity, row)
