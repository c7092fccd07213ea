"""Rollup refreshes as updates of the parent: what `on: update` automations of the parent see.

When a child write changes a parent's rollups (and the stored computed fields that read them),
the parent did change: an invoice whose payments reach its total has `open_amount` 0 now, and
an automation waiting for that must run. `rollups.refresh` collects every parent it changed in
an `Announcements`; once the whole chain is refreshed, each parent that something listens to
gets ONE `update` event, in the child write's transaction:

- `before`/`after` are the parent as it was before the child write and as the refresh left it
  (over a chain — line → order → account — a parent reached twice still gets one event, with
  the net change; one that ends where it started gets none);
- the actor is the child write's actor (the user, or the system acting for them), so the
  audit entry and the automations name the person whose write changed the rollup;
- `via` says `rollup of <child entity>`, which the audit entry records, and `rollup_of` marks
  the event as a refresh, so the rollup listener does not refresh the ancestors again;
- the depth is the child write's: an automation whose actions write children of the same
  parent raises the depth by one per round and so hits `events.MAX_EVENT_DEPTH`.

Only parents that an enabled `on: update` automation of their entity listens to get an event
(webhooks and notifications are automation actions, so this covers them): a refresh nobody
reacts to costs no statement more than before — no audit entry either, as the child write's
own entry explains it. Deploy-time repairs (`deploy.rollup_repair`) and seeding bypass this
on purpose: they bring derived data in line with data that is already there, so nothing
happened that an automation should answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..definition.model import Entity, PortalModel
from .events import WriteEvent
from .permissions import Actor

if TYPE_CHECKING:
    from .store import RecordStore


def listened(model: PortalModel, entity: str) -> bool:
    """Whether an enabled `on: update` automation of `entity` would see a refresh."""
    return any(
        a.enabled and a.trigger == "update" and a.entity == entity
        for a in model.automations.values()
    )


def via_of(children: Iterable[str]) -> str:
    """How the audit log names a refresh: `rollup of payment` (several: `of a, b`)."""
    return "rollup of " + ", ".join(sorted(set(children)))


@dataclass(slots=True)
class _Change:
    entity: Entity
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    children: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Announcements:
    """The parents a refresh changed, to be announced as update events (see module doc)."""

    model: PortalModel
    actor: Actor
    depth: int = 0
    changes: dict[tuple[str, int], _Change] = field(default_factory=dict)

    def add(
        self,
        entity: Entity,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        children: Iterable[str],
    ) -> None:
        """Note one refresh of a parent (the first `before` and the last `after` count)."""
        if not listened(self.model, entity.name):
            return
        key = (entity.name, int(before["id"]))
        known = self.changes.get(key)
        if known is None:
            known = self.changes[key] = _Change(entity, before, after)
        known.after = after
        known.children.update(children)

    def emit(self, store: RecordStore, conn: sa.Connection) -> None:
        """Raise the update events, in the order the parents were first refreshed."""
        for change in self.changes.values():
            event = WriteEvent(
                "update",
                change.entity,
                self.actor,
                change.before,
                change.after,
                via=via_of(change.children),
                depth=self.depth,
                rollup_of=tuple(sorted(change.children)),
            )
            if event.changed():
                store.emit(conn, event)
        self.changes.clear()
