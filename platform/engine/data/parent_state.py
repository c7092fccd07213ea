"""Writes of children whose grants depend on their parent's state (`{parent: order, when:
"parent['status'] == 'draft'"}`).

Before such a grant is decided, the parent rows it reads are locked in the write's
transaction (PostgreSQL: `FOR NO KEY UPDATE`, the lock a rollup refresh or a transition of the
parent takes too; SQLite: the writer already holds the database through `BEGIN IMMEDIATE`).
A concurrent change of the parent's state then either commits first — and the child write
reads the new state and is refused — or waits for the child write to commit: a line never
lands in a delivered order. A refused write gets the scope's `message`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa

from ..definition.model import Grant
from .errors import Forbidden, ParentStateRefused
from .permissions import Actor, ParentLookup, Policy, state_holds
from .tables import TableSet

#: The refusal a write gets when no parent's state is the reason.
Refusal = TypeVar("Refusal", bound=Forbidden)


def lock_parents(
    conn: sa.Connection,
    policy: Policy,
    tables: TableSet,
    actor: Actor,
    entity: str,
    action: str,
    values: Mapping[str, Any],
) -> None:
    """Lock the parents whose state the actor's `action` grants on `entity` depend on."""
    if conn.dialect.name != "postgresql":
        return
    locked: set[tuple[str, Any]] = set()
    for _, target, parent_id in _state_parents(policy, actor, entity, action, values):
        if (target, parent_id) in locked:
            continue
        table = tables[target]
        query = sa.select(table.c.id).where(table.c.id == parent_id)
        conn.execute(query.with_for_update(key_share=True))
        locked.add((target, parent_id))


def refusal(
    policy: Policy,
    actor: Actor,
    action: str,
    entity: str,
    record: Mapping[str, Any],
    lookup: ParentLookup,
    otherwise: Refusal,
) -> ParentStateRefused | Refusal:
    """The error of a refused write: `ParentStateRefused` with the scope's message when a
    parent's state refused it, else `otherwise`."""
    grant = state_refusal(policy, actor, action, entity, record, lookup)
    if grant is None:
        return otherwise
    scope = grant.scope
    target = scope.target or "parent"
    if scope.message is not None:
        text = scope.message.get(policy.model.default_locale, policy.model.default_locale)
    else:
        text = f"the {target} is not in a state that allows this change"
    return ParentStateRefused(text, otherwise.reason, grant)


def state_refusal(
    policy: Policy,
    actor: Actor,
    action: str,
    entity: str,
    record: Mapping[str, Any],
    lookup: ParentLookup,
) -> Grant | None:
    """The first of the actor's grants for `action` that covers `record` but for its parent's
    state (`when` false, the parent readable): why a refused write was refused."""
    for grant, target, parent_id in _state_parents(policy, actor, entity, action, record):
        parent = lookup(target, parent_id)
        if parent is None or state_holds(grant.scope, parent, actor):
            continue
        if policy.can(actor, "read", target, parent, lookup=lookup):
            return grant
    return None


def _state_parents(
    policy: Policy, actor: Actor, entity: str, action: str, record: Mapping[str, Any]
) -> Iterator[tuple[Grant, str, Any]]:
    """(grant, parent entity, parent id) of the actor's grants whose parent scope has a
    `when`, for the parent `record` refers to."""
    for grant in policy.grants_for(actor, entity, action):
        scope = grant.scope
        if scope.kind != "parent" or scope.when is None or not scope.target:
            continue
        parent_id = record.get(scope.field or "")
        if parent_id is not None:
            yield grant, scope.target, parent_id
