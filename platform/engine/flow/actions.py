"""Actions of transitions, timers and automations: `set`, `create`, `notify`, `webhook`, and
(automations only) `transition`.

Every action runs on the connection of the write that triggered it, so the triggering change,
its actions, their audit entries and their outbox jobs commit together or not at all (R6).
Mail and webhooks are only *queued* here; the worker sends them after the commit.

Records are written by the system actor on behalf of the user who acted: actions are part of
the definition, so they may do what the acting user could not (an agent's `resolve` creating a
message on a ticket the customer owns), and the audit log still names that user.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.audit import json_safe
from ..data.errors import NON_FIELD, FieldMessage, ValidationFailed
from ..data.permissions import Actor
from ..definition.flow_model import Action
from ..definition.model import Entity
from ..expr.expressions import EvaluationError
from ..outbox import notify, webhooks

if TYPE_CHECKING:
    from ..data.store import RecordStore


#: Takes a workflow transition for a `transition` action: (transition name, the record as it
#: is, the depth of the write that ran the action) → the record afterwards. Automations hand
#: one in (`automations` may import the workflow; this module may not: the workflow runs
#: actions); elsewhere the action is refused.
TakeTransition = Callable[[str, Mapping[str, Any], int], Mapping[str, Any]]


class ActionFailed(ValidationFailed):
    """An action could not run (its expression failed, a created record was invalid)."""


def system_actor(actor: Actor) -> Actor:
    """The system actor acting for `actor` (kept as is when it already is the system)."""
    if actor.is_system:
        return actor
    return Actor.system(on_behalf_of=actor.id, ip=actor.ip)


def evaluate_values(
    values: Mapping[str, Any], names: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """Resolve `set`/`create` values (literals or expressions) for `names`."""
    out: dict[str, Any] = {}
    for field, value in values.items():
        try:
            out[field] = value.resolve(**names)
        except EvaluationError as exc:
            raise ActionFailed(
                {
                    field: [
                        FieldMessage(
                            "expression-failed",
                            "{where}: {error}",
                            {"where": where, "error": str(exc)},
                        )
                    ]
                }
            ) from None
    return out


def set_changes(
    actions: tuple[Action, ...], names: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """The field changes of every `set` action, in order (later ones win)."""
    changes: dict[str, Any] = {}
    for action in actions:
        if action.kind == "set":
            changes.update(evaluate_values(action.values, names, where))
    return changes


def run_effects(
    store: RecordStore,
    conn: sa.Connection,
    actions: tuple[Action, ...],
    *,
    entity: Entity,
    record: Mapping[str, Any],
    actor: Actor,
    where: str,
    trigger: str,
    before: Mapping[str, Any] | None = None,
    depth: int = 0,
    take: TakeTransition | None = None,
) -> None:
    """Run the `create`, `notify`, `webhook` and `transition` actions in order (`set` is
    applied by the caller, as part of its own write). `where` names the source for messages
    and the audit log (`transition ticket_flow/resolve`, `automation weekly_reminder`);
    `trigger` is the event name webhooks announce by default (`ticket.resolve`). `take` takes
    a transition; the actions after it see the record in its new state."""
    names = {"record": record, "actor": actor, "before": before}
    system = system_actor(actor)
    for action in actions:
        if action.kind == "transition":
            assert action.transition is not None
            if take is None:
                raise ActionFailed(
                    {
                        NON_FIELD: [
                            FieldMessage(
                                "action-transition",
                                "{where}: only automations take transitions as actions",
                                {"where": where},
                            )
                        ]
                    }
                )
            record = take(action.transition, record, depth)
            names = {"record": record, "actor": actor, "before": before}
        elif action.kind == "create":
            assert action.entity is not None  # the schema requires it
            values = evaluate_values(action.values, names, where)
            store.insert(system, action.entity, values, conn=conn, via=where, depth=depth + 1)
        elif action.kind == "notify":
            assert action.template is not None
            notify.send(
                store,
                conn,
                template=action.template,
                to=action.to,
                entity=entity,
                record=record,
                actor=actor,
            )
        elif action.kind == "webhook":
            assert action.url is not None
            event = action.event or f"{entity.name}.{trigger}"
            webhooks.enqueue_webhook(
                conn,
                portal=store.model.slug,
                url=action.url,
                event=event,
                secret=action.secret,
                body={
                    "event": event,
                    "portal": store.model.slug,
                    "entity": entity.name,
                    "record": {k: json_safe(v) for k, v in record.items()},
                    "actor": {
                        "id": actor.on_behalf_of if actor.is_system else actor.id,
                        "email": actor.email or None,
                    },
                    "at": datetime.now(UTC).isoformat(),
                },
            )


def run_actions(
    store: RecordStore,
    conn: sa.Connection,
    actions: tuple[Action, ...],
    *,
    entity: Entity,
    record: Mapping[str, Any],
    actor: Actor,
    where: str,
    trigger: str,
    before: Mapping[str, Any] | None = None,
    depth: int = 0,
    take: TakeTransition | None = None,
) -> Mapping[str, Any]:
    """Run all actions for a record that is already written (automations, timers): `set`
    becomes one update by the system actor, then the others run in order (`take` takes the
    `transition` ones); returns the record as it is after the `set`."""
    names = {"record": record, "actor": actor, "before": before}
    # values the record already holds are no change: no empty update, audit entry or version
    changes = {k: v for k, v in set_changes(actions, names, where).items() if record.get(k) != v}
    current = record
    if changes:
        store.update(
            system_actor(actor),
            entity.name,
            record["id"],
            changes,
            conn=conn,
            via=where,
            depth=depth + 1,
        )
        current = store.load_raw(conn, entity, record["id"])
    run_effects(
        store,
        conn,
        actions,
        entity=entity,
        record=current,
        actor=actor,
        where=where,
        trigger=trigger,
        before=before,
        depth=depth,
        take=take,
    )
    return current
