"""What an actor may do with one record, and whether they may read a stored file.

Pages ask these questions to decide which buttons and inputs to offer; the answer comes from
the same grants and scopes the record store enforces on every write, compiled into one SQL
query. It is advice for the page only: the write itself is checked again by the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.permissions import Actor
from ..data.query import _int_id
from ..definition.model import Grant
from . import workflow

if TYPE_CHECKING:
    from ..data.store import RecordStore

#: The actions that are about an existing record (`create` is about the entity); `pay` and
#: `refund` exist on payable entities only.
ROW_ACTIONS = ("read", "update", "delete", "transition", "pay", "refund")


@dataclass(frozen=True, slots=True)
class RecordRights:
    """The actor's rights on one record: per action asked for, the grants whose scope
    covers it.

    A record the actor cannot read has no rights at all. `writable` holds the fields an
    update may change (the covering update grants' fields, without readonly, computed and
    workflow-state fields); `transitions` the transitions the actor may take now, when they
    were asked for (else None).
    """

    entity: str
    record_id: int
    grants: Mapping[str, tuple[Grant, ...]] = field(default_factory=dict)
    writable: frozenset[str] = frozenset()
    transitions: frozenset[str] | None = None

    @property
    def actions(self) -> frozenset[str]:
        """The actions of `ROW_ACTIONS` the actor may take on this record."""
        return frozenset(a for a, granted in self.grants.items() if granted)

    def allows(self, action: str) -> bool:
        """True when the actor may take `action` on this record."""
        return bool(self.grants.get(action))


def record_rights(
    store: RecordStore,
    actor: Actor,
    entity_name: str,
    record_id: Any,
    *,
    actions: Iterable[str] = ROW_ACTIONS,
    transitions: bool = False,
    conn: sa.Connection | None = None,
) -> RecordRights:
    """The actor's rights on one record: one query, none when the actor holds no grant of
    `actions` (ask only for those a page offers); `transitions` adds the workflow's."""
    entity = store.entity(entity_name)
    rid = _int_id(record_id)
    policy = store.policy
    flags = [
        (action, grant, flag)
        for action in dict.fromkeys(actions)
        if action in ROW_ACTIONS
        for grant, flag in policy.grant_flags(actor, entity.name, action)
    ]
    none = RecordRights(entity.name, rid)
    if not flags or not policy.grants_for(actor, entity.name, "read"):
        return none
    table = store.tables[entity.name]
    query = sa.select(table.c.id, *(f.label(f"_g{i}") for i, (_, _, f) in enumerate(flags)))
    query = query.where(table.c.id == rid, policy.row_filter(actor, entity.name, "read"))
    with store.reading(conn) as c:
        row = c.execute(query).mappings().first()
    if row is None:
        return none
    grants: dict[str, tuple[Grant, ...]] = {}
    for i, (action, grant, _) in enumerate(flags):
        if row[f"_g{i}"]:
            grants[action] = (*grants.get(action, ()), grant)
    allowed: frozenset[str] | None = None
    if transitions:
        available = workflow.available(store, actor, entity.name, rid)
        allowed = frozenset(item.transition.name for item in available if item.allowed)
    writable = store.writable(entity, grants.get("update", ()))
    return RecordRights(entity.name, rid, grants, writable, allowed)


def file_readable(store: RecordStore, actor: Actor, file_id: str) -> bool:
    """True when some record the actor may read holds `file_id` in a field they may read.

    Each file field is checked on the rows where the policy lets that field through
    (`Policy.readable_clause`), so a masked field never opens a download.
    """
    policy = store.policy
    with store.reading() as conn:
        for entity in store.model.entities.values():
            for fld in entity.fields.values():
                if fld.type != "file":
                    continue
                readable = policy.readable_clause(actor, entity.name, fld.name)
                if isinstance(readable, sa.sql.elements.False_):
                    continue
                scope = sa.and_(policy.row_filter(actor, entity.name, "read"), readable)
                table = store.tables[entity.name]
                query = sa.select(table.c.id).where(table.c[fld.name] == file_id, scope)
                if conn.execute(query.limit(1)).first() is not None:
                    return True
    return False
