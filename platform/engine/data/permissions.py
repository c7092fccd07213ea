"""The permission policy: grants compiled per (entity, action) into SQL filters and decisions.

Default deny: an actor may do only what a grant of one of their roles allows. Scopes become
SQLAlchemy expressions that the record store puts into every WHERE, so a record the actor may
not see does not exist for them. The same scopes are evaluated in Python by `can` for a given
record; a property test keeps the two in agreement. Every decision carries a reason.

A parent scope may hold a condition on the parent's state (`{parent: order, when:
"parent['status'] == 'draft'"}`). It is allowed on write grants only (the validator refuses
it on read) and decided in Python, by `can`/`matching_grants`, against the parent row the
record store has locked in the write's transaction. Its SQL form (`scope_clause`, used for
the advice of which buttons to offer) leaves the condition out: a page may offer a change
the write then refuses with the scope's message (`parent_state`), never the reverse.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..definition.builtins import SYSTEM_ROLE
from ..definition.model import ACTIONS, Entity, Grant, PortalModel, Scope
from ..expr.expressions import EvaluationError
from .account_tree import subtree_ids, within_tree
from .actors import MISSING, Actor, resolve_actor_value

__all__ = ["SYSTEM_READABLE", "Actor", "Decision", "ParentLookup", "Policy", "state_holds"]
from .tables import TableSet

log = logging.getLogger(__name__)
#: Looks up a record by (entity, id) for parent scopes; None when it does not exist.
ParentLookup = Callable[[str, Any], Mapping[str, Any] | None]
#: Columns every actor may see on a readable record.
SYSTEM_READABLE = frozenset({"id", "created_at", "updated_at", "created_by", "version"})
#: Parent chains are bounded (the validator refuses cycles; this guards depth).
MAX_PARENT_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Decision:
    """An allow/deny answer with the reason (`allowed by grant #2 of ticket: customer/account`)."""

    allowed: bool
    reason: str
    grant: Grant | None = None
    considered: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.allowed


class Policy:
    """Grants of one compiled portal, indexed by (entity, action)."""

    def __init__(self, model: PortalModel, tables: TableSet) -> None:
        self.model = model
        self.tables = tables
        index: dict[tuple[str, str], list[Grant]] = {}
        for entity in model.entities.values():
            system = Grant(
                -1, entity.name, frozenset({SYSTEM_ROLE}), frozenset(ACTIONS), Scope("all")
            )
            for grant in (*entity.grants, system):
                for action in grant.actions:
                    index.setdefault((entity.name, action), []).append(grant)
        self._grants = {key: tuple(value) for key, value in index.items()}

    # -- grants -------------------------------------------------------------------------
    def grants_for(self, actor: Actor, entity: str, action: str) -> tuple[Grant, ...]:
        """The grants that apply to the actor's roles for (entity, action)."""
        return tuple(g for g in self._grants.get((entity, action), ()) if g.roles & actor.roles)

    def allowed_actions(self, actor: Actor, entity: str) -> frozenset[str]:
        """Actions the actor has on at least some records of `entity`."""
        return frozenset(a for a in ACTIONS if self.grants_for(actor, entity, a))

    # -- SQL ----------------------------------------------------------------------------
    def row_filter(
        self, actor: Actor, entity: str, action: str, *, _depth: int = 0
    ) -> sa.ColumnElement[bool]:
        """WHERE clause selecting exactly the rows `actor` may `action` (false when none)."""
        grants = self.grants_for(actor, entity, action)
        if not grants:
            return sa.false()
        clauses = [self.scope_clause(actor, entity, g.scope, _depth) for g in grants]
        if any(_is_true(c) for c in clauses):
            return sa.true()
        return sa.or_(*clauses)

    def scope_clause(
        self, actor: Actor, entity: str, scope: Scope, depth: int = 0
    ) -> sa.ColumnElement[bool]:
        """The WHERE clause of one scope for `actor` on `entity`."""
        table = self.tables[entity]
        if scope.kind == "all":
            return sa.true()
        if scope.kind == "account":
            if actor.account is None or scope.field is None:
                return sa.false()
            return table.c[scope.field] == actor.account
        if scope.kind == "account_tree":
            if actor.account is None or scope.field is None or scope.target is None:
                return sa.false()
            tree = subtree_ids(self.tables["account"], scope.target, actor.account)
            return table.c[scope.field].in_(tree)
        if scope.kind == "own":
            return sa.false() if actor.id is None else table.c.created_by == actor.id
        if scope.kind == "self":
            return sa.false() if actor.id is None else table.c.id == actor.id
        if scope.kind == "where":
            parts = []
            for name, raw in scope.where:
                value = resolve_actor_value(actor, raw)
                if value is MISSING:
                    return sa.false()
                column = table.c[name]
                parts.append(column.is_(None) if value is None else column == value)
            return sa.and_(*parts)
        if scope.kind == "parent" and scope.field and scope.target:
            if depth >= MAX_PARENT_DEPTH:
                return sa.false()
            parent = self.tables[scope.target]
            visible = self.row_filter(actor, scope.target, "read", _depth=depth + 1)
            if _is_false(visible):
                return sa.false()
            return table.c[scope.field].in_(sa.select(parent.c.id).where(visible))
        return sa.false()

    def grant_flags(
        self, actor: Actor, entity: str, action: str
    ) -> list[tuple[Grant, sa.ColumnElement[Any]]]:
        """Per-grant match flags, for field masks that differ between grants on one row."""
        return [
            (g, sa.case((self.scope_clause(actor, entity, g.scope), 1), else_=0))
            for g in self.grants_for(actor, entity, action)
        ]

    # -- fields -------------------------------------------------------------------------
    def field_mask(self, actor: Actor, entity: str, action: str) -> frozenset[str]:
        """Fields some grant for (entity, action) lets through (union over the grants)."""
        return self.fields_of_grants(entity, self.grants_for(actor, entity, action))

    def fields_of_grants(self, entity: str, grants: Iterable[Grant]) -> frozenset[str]:
        """The union of the fields the given grants let through."""
        names = self.model.entities[entity].fields
        out: set[str] = set()
        for grant in grants:
            out.update(n for n in names if grant.allows_field(n))
        return frozenset(out)

    def readable_clause(
        self, actor: Actor, entity: str, field: str, action: str = "read"
    ) -> sa.ColumnElement[bool]:
        """WHERE clause of the rows on which `field` is readable (within `row_filter`).

        A field is readable on a row when some grant whose scope covers the row lets the field
        through. Filters, search terms, sort keys and groups on a field are compiled as
        `(condition AND readable_clause)`, so a hidden value never changes which rows match
        or in which order they come (the "union of the grants' fields for that row" rule).
        True when every grant lets the field through, false when none does.
        """
        grants = self.grants_for(actor, entity, action)
        allowing = [g for g in grants if g.allows_field(field)]
        if not allowing:
            return sa.false()
        if len(allowing) == len(grants):
            return sa.true()
        clauses = [self.scope_clause(actor, entity, g.scope) for g in allowing]
        if any(_is_true(c) for c in clauses):
            return sa.true()
        return sa.or_(*clauses)

    def masks_differ(self, actor: Actor, entity: str, action: str) -> bool:
        """True when grants for (entity, action) restrict fields differently."""
        grants = self.grants_for(actor, entity, action)
        masks = {self.fields_of_grants(entity, [g]) for g in grants}
        return len(masks) > 1

    # -- decisions ----------------------------------------------------------------------
    def can(
        self,
        actor: Actor,
        action: str,
        entity: str,
        record: Mapping[str, Any] | None = None,
        *,
        lookup: ParentLookup | None = None,
    ) -> Decision:
        """May `actor` do `action` on `entity` (on `record`, when given)?

        Without a record the answer is about the entity as a whole (some rows). With a record,
        scopes are evaluated in Python; parent scopes need `lookup` to fetch the parent.
        """
        return self._decide(actor, action, entity, record, lookup, 0)

    def matching_grants(
        self,
        actor: Actor,
        action: str,
        entity: str,
        record: Mapping[str, Any],
        *,
        lookup: ParentLookup | None = None,
    ) -> tuple[Grant, ...]:
        """Every grant of the actor's roles whose scope covers `record` for `action`."""
        target = self.model.entities[entity]
        return tuple(
            g
            for g in self.grants_for(actor, entity, action)
            if self._scope_matches(actor, target, g.scope, record, lookup, 0)[0]
        )

    def explain(
        self,
        actor: Actor,
        action: str,
        entity: str,
        record: Mapping[str, Any] | None = None,
        *,
        lookup: ParentLookup | None = None,
    ) -> str:
        """A readable account of the decision and every grant considered."""
        decision = self._decide(actor, action, entity, record, lookup, 0)
        lines = [("ALLOWED: " if decision else "DENIED: ") + decision.reason]
        lines.extend("  - " + c for c in decision.considered)
        return "\n".join(lines)

    def _decide(
        self,
        actor: Actor,
        action: str,
        entity: str,
        record: Mapping[str, Any] | None,
        lookup: ParentLookup | None,
        depth: int,
    ) -> Decision:
        target = self.model.entities.get(entity)
        if target is None:
            return Decision(False, f"unknown entity {entity!r}")
        all_grants = self._grants.get((entity, action), ())
        considered: list[str] = []
        for grant in all_grants:
            if not grant.roles & actor.roles:
                considered.append(
                    f"{grant.describe()}: not for roles {', '.join(sorted(actor.roles))}"
                )
                continue
            if record is None:
                return Decision(True, f"allowed by {grant.describe()}", grant, tuple(considered))
            matched, why = self._scope_matches(actor, target, grant.scope, record, lookup, depth)
            if matched:
                return Decision(True, f"allowed by {grant.describe()}", grant, tuple(considered))
            considered.append(f"{grant.describe()}: {why}")
        if not all_grants:
            reason = f"no grant gives {action} on {entity} to anyone"
        elif not any(g.roles & actor.roles for g in all_grants):
            reason = (
                f"no grant gives {action} on {entity} to roles {', '.join(sorted(actor.roles))}"
            )
        else:
            reason = f"no grant's scope covers this {entity} for {action}"
        return Decision(False, reason, None, tuple(considered))

    def _scope_matches(
        self,
        actor: Actor,
        entity: Entity,
        scope: Scope,
        record: Mapping[str, Any],
        lookup: ParentLookup | None,
        depth: int,
    ) -> tuple[bool, str]:
        if scope.kind == "all":
            return True, ""
        if scope.kind == "account":
            key = scope.field or ""
            ok = actor.account is not None and record.get(key) == actor.account
            return ok, f"{key}={record.get(key)!r} is not the actor's account {actor.account!r}"
        if scope.kind == "account_tree":
            key, up = scope.field or "", scope.target or ""
            ok = within_tree(lookup, up, record.get(key), actor.account)
            return ok, f"{key}={record.get(key)!r} is not in the tree of account {actor.account!r}"
        if scope.kind == "own":
            ok = actor.id is not None and record.get("created_by") == actor.id
            return ok, "created by someone else"
        if scope.kind == "self":
            ok = actor.id is not None and record.get("id") == actor.id
            return ok, "not the actor's own user record"
        if scope.kind == "where":
            for name, raw in scope.where:
                value = resolve_actor_value(actor, raw)
                if value is MISSING or record.get(name) != value:
                    return False, f"{name}={record.get(name)!r} does not match {raw!r}"
            return True, ""
        if scope.kind == "parent" and scope.field and scope.target:
            parent_id = record.get(scope.field)
            if parent_id is None or lookup is None or depth >= MAX_PARENT_DEPTH:
                return False, f"no readable parent {scope.field}"
            parent = lookup(scope.target, parent_id)
            if parent is None:
                return False, f"parent {scope.target} #{parent_id} does not exist"
            decision = self._decide(actor, "read", scope.target, parent, lookup, depth + 1)
            if (
                decision.allowed
                and scope.when is not None
                and not state_holds(scope, parent, actor)
            ):
                return False, f"parent {scope.target} #{parent_id}: {scope.when.source} is false"
            return decision.allowed, f"parent {scope.target} #{parent_id}: {decision.reason}"
        return False, f"unsupported scope {scope.kind}"


def state_holds(scope: Scope, parent: Mapping[str, Any], actor: Actor) -> bool:
    """True when the parent scope's `when` holds for `parent` (a failing expression refuses:
    permissions fail closed)."""
    if scope.when is None:
        return True
    try:
        return scope.when.test(parent=parent, actor=actor)
    except EvaluationError as exc:
        log.warning("a parent-state condition could not be checked: %s", exc)
        return False


def _is_true(clause: sa.ColumnElement[bool]) -> bool:
    return isinstance(clause, sa.sql.elements.True_)


def _is_false(clause: sa.ColumnElement[bool]) -> bool:
    return isinstance(clause, sa.sql.elements.False_)
