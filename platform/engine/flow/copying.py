"""Copying a record with its children (`copy:` of an entity): "repeat order" makes a new order
with the same lines.

`copy_record` runs in one transaction and writes only through the record store *as the
user*: the source must be readable (else NotFound, like any record they cannot see), the copy
and every child are created with the user's own create grants, so row-level scopes, field
rules and the unique checks hold as if they had typed the records in. What is copied is what
the user may read and may write on create; everything else starts afresh:

- the `reset:` fields get their defaults (the entity's by name, a child's as `child.field`);
- workflow states start in the initial state, computed and rolled-up fields are recomputed
  (the children's rollups fill the copy's totals as they are created);
- file fields are never copied (a copy shares no attachments);
- children the user may not read are not copied; the ref to the source becomes the copy.

Any child that is refused refuses the whole copy: nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ..data.errors import NotFound
from ..data.permissions import Actor
from ..data.rows import Record
from ..definition.flow_model import CopySpec
from ..definition.model import Entity

if TYPE_CHECKING:
    from ..data.store import RecordStore

#: Children read per query while they are copied.
CHILD_BATCH: Final = 200


def copy_spec(store: RecordStore, entity_name: str) -> CopySpec:
    """The entity's `copy:`; NotFound when it declares none (there is nothing to take)."""
    spec = store.entity(entity_name).copy
    if spec is None:
        raise NotFound(f"{entity_name} cannot be copied")
    return spec


def can_copy(store: RecordStore, actor: Actor, entity_name: str) -> bool:
    """Whether to offer the copy: the entity declares `copy:` and the actor may create it and
    each of its children (the copy itself still checks every record it writes)."""
    entity = store.entity(entity_name)
    if entity.copy is None:
        return False
    names = [entity.name, *(child.entity for child in entity.copy.children)]
    return all(store.policy.grants_for(actor, name, "create") for name in names)


def copy_record(
    store: RecordStore,
    actor: Actor,
    entity_name: str,
    record_id: Any,
    *,
    conn: sa.Connection | None = None,
) -> Record:
    """Copy the record and its children for `actor`; returns the copy as they see it.

    NotFound when the entity declares no `copy:` or the actor cannot read the record;
    Forbidden without a create grant for the copy or a child (OutOfScope outside it);
    ValidationFailed when the copy or a child is refused — nothing is written then.
    """
    entity = store.entity(entity_name)
    spec = copy_spec(store, entity.name)
    with store.transaction(conn) as c:
        source = store.get(actor, entity.name, record_id, conn=c)
        via = f"copy of {entity.name} #{source.id}"
        values = copy_values(store, actor, entity, source.values, spec, child=False)
        copy = store.insert(actor, entity.name, values, conn=c, via=via)
        for child in spec.children:
            target = store.entity(child.entity)
            for row in _children(store, actor, child.entity, child.via, source.id, c):
                values = copy_values(store, actor, target, row.values, spec, child=True)
                values[child.via] = copy.id
                store.insert(actor, target.name, values, conn=c, via=via)
        return store.get(actor, entity.name, copy.id, conn=c)


def copy_values(
    store: RecordStore,
    actor: Actor,
    entity: Entity,
    values: Mapping[str, Any],
    spec: CopySpec,
    *,
    child: bool,
) -> dict[str, Any]:
    """The values of `values` a copy takes over: readable, writable on create by `actor`,
    not reset, no state, derived or file field."""
    writable = store.writable(entity, store.policy.grants_for(actor, entity.name, "create"))
    return {
        name: values[name]
        for name, field in entity.fields.items()
        if name in values
        and name in writable
        and field.type != "file"
        and not spec.resets(entity.name, name, child=child)
    }


def _children(
    store: RecordStore, actor: Actor, entity: str, via: str, parent: int, conn: sa.Connection
) -> Iterator[Record]:
    """The children of `parent` the actor may read, in id order, read in batches."""
    number = 1
    while True:
        page = store.list(
            actor, entity, parent=(via, parent), sort="id", page=number,
            page_size=CHILD_BATCH, count=False, conn=conn,
        )  # fmt: skip
        yield from page.records
        if not page.has_next:
            return
        number += 1
