"""Taking a workflow transition: one transaction from the lock to the last queued side effect.

`take` locks the record, checks its version (StaleRecord → 409) and the transition's
availability for the actor, the comment and the `require`d fields. Then either the actor's
approval is recorded (a quorum transition short of its count: the record stays where it is)
or the transition happens: the `set` actions join the state change in one update, the write
event runs the listeners (audit entry with from/to/comment, timers of the new state,
automations), and the `create`, `notify` and `webhook` actions run — all on the same
connection. Anything that fails raises, and nothing of it persists (R6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ..data.errors import NON_FIELD, FieldMessage, Forbidden, NotFound, ValidationFailed
from ..data.events import WriteEvent
from ..data.permissions import Actor
from ..data.rows import Record
from ..definition.flow_model import Transition, Workflow
from ..definition.model import Entity
from . import actions, approvals
from .workflow_rules import Availability, Progress, check, find

if TYPE_CHECKING:
    from ..data.store import RecordStore

#: The key of comment errors (a form shows them at the comment box).
COMMENT_KEY: Final = "comment"
#: Longest comment kept with a transition or approval.
MAX_COMMENT_LENGTH: Final = 4000

Errors = dict[str, list[FieldMessage]]


class TransitionUnavailable(Forbidden):
    """The actor may act on the record, but this transition is not available to them now;
    `availability` says why (its reason is meant to be shown to the actor)."""

    code = "transition-unavailable"

    def __init__(self, availability: Availability) -> None:
        name = availability.transition.name
        super().__init__(f"transition {name!r} is not available", availability.reason)
        self.availability = availability


@dataclass(frozen=True, slots=True)
class Outcome:
    """What `take` did: `applied` is False when it recorded an approval short of the quorum
    (`progress` then says how far: `2 of 3`). `record` is the record as the actor sees it
    afterwards (None when the new state put it out of their reach)."""

    workflow: Workflow
    transition: Transition
    applied: bool
    record: Record | None
    progress: Progress | None = None


def clean_comment(tr: Transition, comment: str | None) -> tuple[str | None, list[FieldMessage]]:
    """The comment as stored (trimmed; None when empty) and what is wrong with it."""
    text = (comment or "").strip() or None
    problems: list[FieldMessage] = []
    params = {"transition": tr.name}
    if text is None and tr.comment == "required":
        problems.append(FieldMessage("required", "a comment is required for {transition}", params))
    elif text is not None and tr.comment == "none":
        problems.append(FieldMessage("not-allowed", "{transition} takes no comment", params))
    elif text is not None and len(text) > MAX_COMMENT_LENGTH:
        problems.append(
            FieldMessage(
                "max-length",
                "at most {max} characters",
                {"max": MAX_COMMENT_LENGTH, **params},
            )
        )
    return text, problems


def take(
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
) -> Outcome:
    """Take (or approve) transition `name` of a record for `actor`.

    NotFound when the actor cannot read the record or the transition does not exist;
    Forbidden without a transition grant covering the record; TransitionUnavailable (a
    Forbidden carrying the availability and its reason) when the transition is not available
    to the actor now; StaleRecord when `expected_version` is old; ValidationFailed with field
    errors for a missing comment (key `comment`) or `require`d field, or a failing rule or
    action. `values` may set the
    transition's `require`d fields in the same write. `via`/`depth` describe transitions
    taken by timers and automations.
    """
    entity = store.entity(entity_name)
    wf, tr = find(store.model, entity, name)
    slug = store.model.slug
    with store.transaction(conn) as c:
        current, _grants = store.locked(c, actor, entity, record_id, "transition")
        store.check_version(entity, current, expected_version)
        rid = int(current["id"])
        quorum = tr.approvals is not None and not actor.is_system
        round_, progress = 0, None
        if quorum:
            round_ = approvals.current_round(c, portal=slug, entity=entity.name, record_id=rid)
            given = approvals.approvers(
                c, portal=slug, entity=entity.name, record_id=rid, transitions=[tr.name],
                round_=round_,
            )  # fmt: skip
            progress = approvals.progress_of(tr, current, given[tr.name], actor)
        verdict = check(actor, wf, tr, current, True, progress=progress)
        if not verdict.allowed:
            raise TransitionUnavailable(verdict)
        after_progress = None
        if progress is not None:
            after_progress = Progress(progress.given + 1, progress.needed, True)
        applying = after_progress is None or after_progress.complete
        text, comment_problems = clean_comment(tr, comment)
        # rules and visibility see the record as it will be: in the target state
        base = {**current, wf.field: tr.target} if applying else dict(current)
        merged, errors = store.prepare(
            c, actor, entity, base, dict(values or {}), frozenset(tr.require), creating=False
        )
        if comment_problems:
            errors.setdefault(COMMENT_KEY, []).extend(comment_problems)
        _check_required(entity, tr, merged, errors)
        if errors:
            raise ValidationFailed(errors)
        if quorum:
            assert after_progress is not None
            approvals.approve(
                c, portal=slug, entity=entity, workflow=wf, transition=tr, record=current,
                actor=actor, round_=round_, comment=text, progress=after_progress,
                final=applying,
            )  # fmt: skip
        if not applying:
            _save_values(store, c, actor, entity, current, merged, via=via, depth=depth)
            return Outcome(wf, tr, False, _visible(store, c, actor, entity, rid), after_progress)
        where = f"transition {wf.name}/{tr.name}"
        sets = actions.set_changes(tr.actions, {"record": merged, "actor": actor}, where)
        if sets:
            merged = _apply_sets(store, c, actor, entity, merged, sets)
        if merged.get(wf.field) != tr.target or tr.target not in wf.states:
            # defensive: compiled workflows are checked and sets may not touch the state
            raise ValidationFailed({NON_FIELD: [FieldMessage("state", "invalid target state")]})
        store.update_row(c, entity, current, merged)
        after = store.load_raw(c, entity, rid)
        store.emit(
            c,
            WriteEvent(
                "transition",
                entity,
                actor,
                current,
                after,
                workflow=wf,
                transition=tr,
                comment=text,
                via=via,
                depth=depth,
            ),  # fmt: skip
        )
        actions.run_effects(
            store, c, tr.actions, entity=entity, record=after, actor=actor, where=where,
            trigger=tr.name, before=current, depth=depth,
        )  # fmt: skip
        return Outcome(wf, tr, True, _visible(store, c, actor, entity, rid), after_progress)


def _check_required(
    entity: Entity, tr: Transition, merged: Mapping[str, Any], errors: Errors
) -> None:
    for req in tr.require:
        field = entity.fields[req]
        if field.kind.is_empty(merged.get(req)) and req not in errors:
            errors.setdefault(req, []).append(
                FieldMessage("required", "required for {transition}", {"transition": tr.name})
            )


def _apply_sets(
    store: RecordStore,
    conn: sa.Connection,
    actor: Actor,
    entity: Entity,
    merged: dict[str, Any],
    sets: Mapping[str, Any],
) -> dict[str, Any]:
    """`merged` with the `set` actions' values, cleaned by their field types. The system
    writes them (the definition asked for them), but never a state or derived field."""
    blocked = store.state_fields(entity) | {n for n, f in entity.fields.items() if f.derived}
    writable = frozenset(n for n in sets if n in entity.fields and n not in blocked)
    result, errors = store.prepare(
        conn, actions.system_actor(actor), entity, merged, sets, writable, creating=False
    )
    if errors:
        raise actions.ActionFailed(errors)
    return result


def _save_values(
    store: RecordStore,
    conn: sa.Connection,
    actor: Actor,
    entity: Entity,
    current: Mapping[str, Any],
    merged: Mapping[str, Any],
    *,
    via: str | None,
    depth: int,
) -> None:
    """An approval short of the quorum keeps the required fields the approver filled in."""
    if all(merged.get(n) == current.get(n) for n in entity.fields):
        return
    store.update_row(conn, entity, current, merged)
    after = store.load_raw(conn, entity, current["id"])
    store.emit(conn, WriteEvent("update", entity, actor, current, after, via=via, depth=depth))


def _visible(
    store: RecordStore, conn: sa.Connection, actor: Actor, entity: Entity, record_id: int
) -> Record | None:
    try:
        return store.get(actor, entity.name, record_id, conn=conn)
    except NotFound:
        return None
