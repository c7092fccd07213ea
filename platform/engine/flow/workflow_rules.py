"""Whether an actor may take a workflow transition on a record, and why not — in plain words.

A transition is available when, in this order: a `transition` grant covers the record; the
record is in one of the transition's source states; the actor holds one of its roles (and,
for a quorum, one of the approving roles); its `when` is true; the actor is the assignee
(with `assignee_field`); the actor did not create the record (with `allow_self_approval:
false`); and the actor has not approved it already in this round (with `approvals`).

The first three make the actor *eligible*: they could take the transition in principle, so a
page shows it disabled, with the reason, when a later condition fails. A required comment is
not a reason: it is something the form asks for.

The system actor (timers, automations) needs no role, is never the assignee or the creator,
and applies approval transitions directly; `when` and `require` hold for it like for anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..data.errors import NotFound
from ..data.permissions import Actor
from ..definition.flow_model import Transition, Workflow
from ..definition.model import Entity, PortalModel
from ..definition.values import frozen_map
from ..expr.expressions import EvaluationError

#: Reason codes, in the order they are checked (stable: the runtime translates by code).
REASON_CODES: Final = (
    "available",
    "no-grant",
    "state",
    "role",
    "when-error",
    "when",
    "assignee",
    "self-approval",
    "already-approved",
)
#: Codes of transitions the actor could take in principle (shown disabled with the reason).
ELIGIBLE_CODES: Final = frozenset(
    {"available", "when-error", "when", "assignee", "self-approval", "already-approved"}
)


@dataclass(frozen=True, slots=True)
class Progress:
    """Approvals towards a quorum transition in the record's current stay in its state.

    `given` counts distinct approvers (the creator never counts when self-approval is off);
    `mine` is True when the asking actor is one of them.
    """

    given: int
    needed: int
    mine: bool = False

    @property
    def complete(self) -> bool:
        """True when the quorum is reached."""
        return self.given >= self.needed

    def describe(self) -> str:
        """`1 of 2`."""
        return f"{self.given} of {self.needed}"


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether a transition is available now, and why (not).

    `reason` is an English sentence for logs, errors and the API; `code` and `params` let a
    user interface say the same in the reader's language. `progress` is set for transitions
    with `approvals`.
    """

    transition: Transition
    workflow: Workflow
    allowed: bool
    reason: str
    code: str = "available"
    params: Mapping[str, Any] = field(default_factory=frozen_map)
    progress: Progress | None = None

    @property
    def eligible(self) -> bool:
        """True when the actor could take the transition in principle (grant, state, role)."""
        return self.code in ELIGIBLE_CODES


def find(model: PortalModel, entity: Entity, name: str) -> tuple[Workflow, Transition]:
    """The workflow and transition called `name` on `entity`, or NotFound."""
    for wf in model.workflow_for(entity.name):
        if name in wf.transitions:
            return wf, wf.transitions[name]
    raise NotFound(f"{entity.name} has no transition {name!r}")


def needed_roles(tr: Transition) -> frozenset[str]:
    """The roles that may take `tr` (for a quorum: the approving roles among them)."""
    if tr.approvals is None:
        return tr.roles
    return (tr.roles & tr.approvals.roles) or tr.approvals.roles


def is_creator(actor: Actor, record: Mapping[str, Any]) -> bool:
    """True when `actor` created `record`."""
    created_by = record.get("created_by")
    return actor.id is not None and created_by is not None and int(created_by) == actor.id


def check(
    actor: Actor,
    wf: Workflow,
    tr: Transition,
    record: Mapping[str, Any],
    has_grant: bool,
    *,
    progress: Progress | None = None,
) -> Availability:
    """Decide one transition for a record (the grant and approval progress are resolved by
    the caller: they need the database)."""

    def no(code: str, reason: str, **params: Any) -> Availability:
        return Availability(tr, wf, False, reason, code, frozen_map(params), progress)

    state = record.get(wf.field)
    if not has_grant:
        return no("no-grant", "no transition grant covers this record")
    if state not in tr.sources:
        return no("state", f"not available in state {state!r}", state=state)
    system = actor.is_system
    roles = needed_roles(tr)
    if not system and not roles & actor.roles:
        text = " or ".join(sorted(roles))
        return no("role", f"needs role {text}", roles=text)
    if tr.when is not None:
        try:
            ok = tr.when.test(record=record, actor=actor)
        except EvaluationError as exc:
            return no("when-error", f"condition could not be evaluated: {exc}", error=str(exc))
        if not ok:
            return no("when", f"when-condition false: {tr.when_source}", condition=tr.when_source)
    if system:
        return Availability(tr, wf, True, "available", progress=progress)
    if tr.assignee_field is not None:
        assigned = record.get(tr.assignee_field)
        if assigned is None or actor.id is None or int(assigned) != actor.id:
            return no(
                "assignee",
                f"only the assignee (field {tr.assignee_field}) may take this transition",
                field=tr.assignee_field,
            )
    if not tr.allow_self_approval and is_creator(actor, record):
        return no("self-approval", "the creator of the record may not approve it")
    if progress is not None and progress.mine:
        return no(
            "already-approved",
            f"you have already approved ({progress.describe()})",
            given=progress.given,
            needed=progress.needed,
        )
    return Availability(tr, wf, True, "available", progress=progress)
