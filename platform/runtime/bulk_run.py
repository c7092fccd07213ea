"""Bulk actions: one action on many selected rows, each row checked and written on its own.

Every row goes through the record store with the actor, in its own transaction: a row the
actor may not see, or may not act on, is refused and left untouched while the others are
done. A refused row says why — "not available" when the actor may not see or may not act on
it at all (the same words for both: nothing about another account's rows leaks), the
transition's own reason when its condition or guard is not met, the field errors a form would
show when a value is refused. The pages (`bulk_views`) and the API (`api.bulk`) share this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from portalis.engine.data import errors
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.block_bulk import MAX_BULK_IDS
from portalis.engine.definition.block_configs import BulkAction, ListBlock
from portalis.engine.definition.model import Entity
from portalis.engine.flow import workflow

from .form_errors import error_texts
from .templating import gettext, label
from .transition_form import error_lines, reason_text

#: Most rows one bulk request may name.
MAX_IDS = MAX_BULK_IDS


@dataclass(frozen=True, slots=True)
class RowResult:
    """What happened to one selected row: `title` is empty when the row is not available."""

    id: int
    done: bool
    title: str = ""
    reasons: tuple[str, ...] = ()


@dataclass(slots=True)
class BulkResult:
    """The outcome of one bulk action, row by row in the order the ids were given."""

    action: str
    rows: list[RowResult] = field(default_factory=list)

    @property
    def done(self) -> list[RowResult]:
        """Rows the action was applied to."""
        return [r for r in self.rows if r.done]

    @property
    def refused(self) -> list[RowResult]:
        """Rows left untouched, with the reasons."""
        return [r for r in self.rows if not r.done]


def not_available() -> str:
    """The one reason for rows the actor may not see or may not act on."""
    return gettext("not available")


def parse_ids(values: Iterable[Any]) -> list[int]:
    """Positive integer ids in the order given, without repeats, at most `MAX_IDS`
    (anything else is not an id and is dropped)."""
    out: dict[int, None] = {}
    for value in values:
        try:
            rid = int(str(value).strip())
        except ValueError:
            continue
        if 0 < rid < 2**63 and len(out) < MAX_IDS:
            out.setdefault(rid, None)
    return list(out)


def offered(store: RecordStore, actor: Actor, cfg: ListBlock) -> list[tuple[int, BulkAction]]:
    """The block's bulk actions the actor may take on some rows, with their index: a
    transition of one of their roles, fields they may update, delete where granted."""
    policy = store.policy
    entity = store.entity(cfg.entity)
    out = []
    for index, action in enumerate(cfg.bulk):
        if action.kind == "export":
            ok = bool(policy.grants_for(actor, entity.name, "read"))
        elif action.kind == "delete":
            ok = bool(policy.grants_for(actor, entity.name, "delete"))
        elif action.kind == "set":
            writable = store.writable(entity, policy.grants_for(actor, entity.name, "update"))
            ok = all(name in writable for name, _ in action.values)
        else:
            ok = _may_transition(store, actor, entity, str(action.transition))
        if ok:
            out.append((index, action))
    return out


def bar_actions(store: RecordStore, actor: Actor, cfg: ListBlock) -> list[tuple[int, str]]:
    """(index, label) of the bulk actions the list offers `actor`."""
    entity = store.entity(cfg.entity)
    pairs = offered(store, actor, cfg) if cfg.bulk else []
    return [(i, action_label(store, entity, a)) for i, a in pairs]


def _may_transition(store: RecordStore, actor: Actor, entity: Entity, name: str) -> bool:
    if not store.policy.grants_for(actor, entity.name, "transition"):
        return False
    try:
        _, tr = workflow.find(store, entity, name)
    except errors.NotFound:
        return False
    approvers = tr.approvals.roles if tr.approvals is not None else frozenset()
    return bool((tr.roles | approvers) & actor.roles)


def action_label(store: RecordStore, entity: Entity, action: BulkAction) -> str:
    """The action's name in the menu and on the result page."""
    if action.label is not None:
        return label(action.label)
    if action.kind == "transition":
        try:
            _, tr = workflow.find(store, entity, str(action.transition))
        except errors.NotFound:
            return str(action.transition)
        return label(tr.label, tr.name)
    if action.kind == "set":
        names = ", ".join(
            label(entity.fields[n].label, n) if n in entity.fields else n for n, _ in action.values
        )
        return gettext("Set %(fields)s", fields=names)
    return gettext("Export CSV") if action.kind == "export" else gettext("Delete")


def set_values(action: BulkAction, actor: Actor) -> dict[str, Any]:
    """`set:` with `$actor.id` / `$actor.account` replaced by the actor's."""
    actor_values = {"$actor.id": actor.id, "$actor.account": actor.account}
    return {
        name: actor_values[value] if isinstance(value, str) and value in actor_values else value
        for name, value in action.values
    }


def run(
    store: RecordStore,
    actor: Actor,
    entity: Entity,
    action: BulkAction,
    ids: Sequence[int],
    locale: str,
    *,
    parent: tuple[str, int] | None = None,
    name: str = "",
) -> BulkResult:
    """Apply a transition, set or delete action to every row of `ids`, each in its own
    transaction; `parent` restricts the rows to the children of one record (a list on a
    record page)."""
    result = BulkResult(name or action_label(store, entity, action))
    for rid in ids:
        result.rows.append(_one(store, actor, entity, action, rid, locale, parent))
    return result


def _one(
    store: RecordStore,
    actor: Actor,
    entity: Entity,
    action: BulkAction,
    rid: int,
    locale: str,
    parent: tuple[str, int] | None,
) -> RowResult:
    try:
        record = readable(store, actor, entity, rid, parent)
    except errors.NotFound:
        return RowResult(rid, False, reasons=(not_available(),))
    title = entity.title_of(record.values)
    try:
        if action.kind == "transition":
            workflow.take(store, actor, entity.name, rid, str(action.transition))
        elif action.kind == "set":
            store.update(actor, entity.name, rid, set_values(action, actor))
        elif action.kind == "delete":
            store.delete(actor, entity.name, rid)
        else:
            raise ValueError(f"{action.kind} is not a row action")
    except workflow.TransitionUnavailable as exc:
        if exc.availability.code == "no-grant":
            # not theirs to act on: the same words as for a row they cannot see
            return RowResult(rid, False, reasons=(not_available(),))
        return RowResult(rid, False, title, (reason_text(exc.availability, entity),))
    except (errors.NotFound, errors.Forbidden):
        # may see it but not act on it: the same words as for a row they cannot see
        return RowResult(rid, False, reasons=(not_available(),))
    except errors.StaleRecord:
        return RowResult(rid, False, title, (gettext("someone else changed it meanwhile"),))
    except errors.ValidationFailed as exc:
        texts = error_texts(exc.errors, locale, store.model)
        return RowResult(rid, False, title, tuple(error_lines(entity, texts)))
    return RowResult(rid, True, title)


def readable(
    store: RecordStore, actor: Actor, entity: Entity, rid: int, parent: tuple[str, int] | None
) -> Record:
    """The row as the actor may read it (under `parent` when given), else NotFound."""
    record = store.get(actor, entity.name, rid)
    if parent is not None and record.get(parent[0]) != parent[1]:
        raise errors.NotFound(f"{entity.name} #{rid} not found")
    return record


def readable_rows(
    store: RecordStore,
    actor: Actor,
    entity: Entity,
    ids: Sequence[int],
    parent: tuple[str, int] | None = None,
) -> list[Record]:
    """The rows of `ids` the actor may read (for export), in the order given."""
    out = []
    for rid in ids:
        try:
            out.append(readable(store, actor, entity, rid, parent))
        except errors.NotFound:
            continue
    return out


def summary(result: BulkResult) -> Mapping[str, Any]:
    """The result as JSON: `done` ids and `refused` rows with their reasons."""
    return {
        "action": result.action,
        "done": [r.id for r in result.done],
        "refused": [{"id": r.id, "reasons": list(r.reasons)} for r in result.refused],
    }
