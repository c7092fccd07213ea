"""Why an actor sees what they see: the policy's reasons per entity, record and field.

The builder's "why?" panel (view-as and draft preview) asks these questions of the same
`Policy` the record store enforces, so an explanation can never disagree with what was
served: a record is visible by the first grant whose scope covers it, a field by the first
of those grants that lets it through; a hidden field names the grant that excepts it (or
says that no covering grant lists it); an entity without a grant for the actor's roles says
so. Reading rows for an explanation is a plain SELECT within the actor's row filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from ..definition.model import Entity, Grant
from .permissions import Actor, Decision, Policy
from .tables import TableSet


class Compiled(Protocol):
    """What an explanation needs of a compiled portal (`CompiledPortal` has both)."""

    @property
    def policy(self) -> Policy:
        """The portal's permission policy."""

    @property
    def tables(self) -> TableSet:
        """The portal's tables."""


#: At most this many records are explained per entity (a page shows a page of them).
DEFAULT_RECORDS = 10


@dataclass(frozen=True, slots=True)
class FieldReason:
    """Whether one field is visible to the actor (on a record, or on some records) and why."""

    field: str
    visible: bool
    reason: str


@dataclass(frozen=True, slots=True)
class RecordReason:
    """Why one record is visible: the decision (with its grant) and each field's reason."""

    entity: str
    record_id: Any
    decision: Decision
    fields: tuple[FieldReason, ...]
    #: the record's title (its entity's title field), when it has one
    title: str | None = None


@dataclass(frozen=True, slots=True)
class EntityReason:
    """What the actor may do with an entity as a whole and the reasons, with up to
    `DEFAULT_RECORDS` visible records explained one by one."""

    entity: str
    read: Decision
    fields: tuple[FieldReason, ...]
    records: tuple[RecordReason, ...]


def field_reasons(
    policy: Policy, actor: Actor, entity: str, grants: Iterable[Grant]
) -> tuple[FieldReason, ...]:
    """Each field of `entity` under the given grants (those covering a record, or all the
    actor's grants for the entity as a whole): visible by the first grant letting it
    through, else hidden with the grant that restricts it."""
    covering = tuple(grants)
    out = []
    for name in policy.model.entities[entity].fields:
        allowing = next((g for g in covering if g.allows_field(name)), None)
        if allowing is not None:
            out.append(FieldReason(name, True, f"visible by {allowing.describe()}"))
        elif not covering:
            out.append(FieldReason(name, False, "hidden: no grant covers it"))
        else:
            out.append(FieldReason(name, False, "hidden: " + _restriction(covering[0], name)))
    return tuple(out)


def _restriction(grant: Grant, name: str) -> str:
    roles = ",".join(sorted(grant.roles))
    if name in grant.fields_except:
        return f"field {name} excepted for {roles} by {grant.describe()}"
    return f"field {name} not listed for {roles} by {grant.describe()}"


def explain_record(
    policy: Policy,
    actor: Actor,
    entity: str,
    record: Mapping[str, Any],
    *,
    lookup: Any = None,
) -> RecordReason:
    """Why `record` (a raw row of `entity`) is or is not readable, field by field."""
    decision = policy.can(actor, "read", entity, record, lookup=lookup)
    covering = policy.matching_grants(actor, "read", entity, record, lookup=lookup)
    fields = field_reasons(policy, actor, entity, covering) if decision else ()
    title_field = policy.model.entities[entity].title_field
    title = record.get(title_field) if title_field else None
    return RecordReason(
        entity, record.get("id"), decision, fields, None if title is None else str(title)
    )


def explain_entity(
    conn: sa.Connection,
    portal: Compiled,
    actor: Actor,
    entity: str,
    *,
    record_ids: Iterable[int] | None = None,
    limit: int = DEFAULT_RECORDS,
) -> EntityReason:
    """The reasons for `entity`: reading it at all, its fields, and each visible record
    (the ones named in `record_ids`, else the newest `limit` the actor may read) of the
    compiled `portal`."""
    policy, tables = portal.policy, portal.tables
    read = policy.can(actor, "read", entity)
    if not read:
        return EntityReason(entity, read, field_reasons(policy, actor, entity, ()), ())
    grants = policy.grants_for(actor, entity, "read")
    table = tables[entity]
    query = sa.select(table).where(policy.row_filter(actor, entity, "read"))
    if record_ids is not None:
        query = query.where(table.c.id.in_(list(record_ids)))
    rows = conn.execute(query.order_by(table.c.id.desc()).limit(limit)).mappings().all()

    def lookup(target: str, record_id: Any) -> Mapping[str, Any] | None:
        parent = tables[target]
        found = conn.execute(sa.select(parent).where(parent.c.id == record_id)).mappings()
        row = found.first()
        return dict(row) if row is not None else None

    records = tuple(explain_record(policy, actor, entity, dict(r), lookup=lookup) for r in rows)
    return EntityReason(entity, read, field_reasons(policy, actor, entity, grants), records)


def page_entities(entities: Mapping[str, Entity], blocks: Iterable[Any]) -> tuple[str, ...]:
    """The entities a page's blocks show, in block order, each once (a block's `config`
    names its entity as `entity`; blocks without one are skipped)."""
    seen: list[str] = []
    for block in blocks:
        name = getattr(block.config, "entity", None)
        if isinstance(name, str) and name in entities and name not in seen:
            seen.append(name)
    return tuple(seen)
