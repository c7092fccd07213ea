"""What happens after a write, inside its transaction: the listeners of `WriteEvent`s.

The record store calls `after_write` once per insert, update, delete and transition, on the
write's own connection. Listeners run in this order — each may rely on the ones before:

1. rollups: aggregates over child records are recomputed on their parents;
2. audit: the event becomes an audit entry (timers and approvals key on its id);
3. workflow timers: entering a state schedules its timers as outbox jobs;
4. automations: matching `on: create | update | delete | transition:<name>` automations run.

A listener that raises rolls the write back: nothing of it persists (R6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import audit, automations, rollups, timers
from .events import MAX_EVENT_DEPTH, WriteEvent

if TYPE_CHECKING:
    from .store import RecordStore

#: A listener: (store, connection, event) → None; raising aborts the write.
Listener = Callable[["RecordStore", sa.Connection, WriteEvent], None]

#: The listeners, in order (see the module docstring).
LISTENERS: tuple[Listener, ...] = (
    rollups.after_write,
    audit.record_event,
    timers.after_write,
    automations.after_write,
)


def after_write(store: RecordStore, conn: sa.Connection, event: WriteEvent) -> None:
    """Run every listener for `event`; events deeper than `MAX_EVENT_DEPTH` are refused."""
    if event.depth > MAX_EVENT_DEPTH:
        raise RecursionError(
            f"automations wrote {event.entity.name} more than {MAX_EVENT_DEPTH} levels deep"
        )
    for listener in store.listeners:
        listener(store, conn, event)
