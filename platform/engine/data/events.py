"""Write events: what the record store tells the living parts of a portal after each write.

Every insert, update, delete and transition of the record store produces one `WriteEvent`
inside the write's transaction. Rollups, the audit log, workflow timers and automations react
to it on the same connection, so a failure in any of them rolls the whole write back (R6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..definition.flow_model import Transition, Workflow
from ..definition.model import Entity
from .permissions import Actor

EventKind = Literal["create", "update", "delete", "transition"]

#: Automations may write, and their writes raise events again; this bounds the chain.
MAX_EVENT_DEPTH = 3


@dataclass(frozen=True, slots=True)
class WriteEvent:
    """One committed-to-be write.

    `before`/`after` are the record's raw values (field name → cleaned value, plus the system
    columns `id`, `version`, `created_by`, …); `before` is None on create, `after` None on
    delete. `actor` is who acted — for writes made by automations and timers a system actor
    whose `on_behalf_of` names the user who caused them, if any. `via` names the automation
    or timer that made the write (`automation:weekly_reminder`, `timer:ticket_flow/sla`) or
    the sign-in provider whose role mapping changed a user (`provider corporate`).

    `rollup_of` names the child entities whose rollups changed the record: such an update
    is a refresh of derived values (`rollup_events`), made inside the child's write; the
    rollups above it are already refreshed, so the rollup listener passes it by.

    `auth_changes` is for the built-in `user` entity only: the changed authentication columns
    that are record state (`roles`, `is_active`) as name → (old, new). They are no fields, so
    they are not in the images; the password hash and login times never appear in an event.
    """

    kind: EventKind
    entity: Entity
    actor: Actor
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    workflow: Workflow | None = None
    transition: Transition | None = None
    comment: str | None = None
    via: str | None = None
    depth: int = 0
    auth_changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    rollup_of: tuple[str, ...] = ()

    @property
    def record_id(self) -> int:
        """The id of the written record."""
        values = self.after if self.after is not None else self.before
        assert values is not None  # every event has at least one image
        return int(values["id"])

    @property
    def record(self) -> Mapping[str, Any]:
        """The record as it is after the write (as it was, for a delete)."""
        values = self.after if self.after is not None else self.before
        assert values is not None
        return values

    def changed(self) -> dict[str, tuple[Any, Any]]:
        """Fields whose value differs between the two images: name → (old, new)."""
        old = self.before or {}
        new = self.after or {}
        return {
            name: (old.get(name), new.get(name))
            for name in self.entity.fields
            if old.get(name) != new.get(name)
        }
