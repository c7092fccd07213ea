"""What happens after a write, inside its transaction: the listeners of `WriteEvent`s.

A compiled portal hands these to every record store it makes (`CompiledPortal.store`); the
store calls them once per insert, update, delete and transition, on the write's own connection,
through its small `Listener` interface — the data layer never imports the flow layer. Listeners
run in this order — each may rely on the ones before:

1. audit: the event becomes an audit entry (timers and approvals key on its id);
2. rollups: aggregates over child records are recomputed on their parents — a parent that
   an automation listens to gets an update event of its own, whose audit entry thus follows
   the child's (`data.rollup_events`);
3. workflow timers: entering a state schedules its timers as outbox jobs;
4. automations: matching `on: create | update | delete | transition:<name>` automations run;
5. documents: a deleted record's attached documents are deleted with it.

A listener that raises rolls the write back: nothing of it persists (R6).
"""

from __future__ import annotations

from .data import audit, documents, rollups
from .data.store import Listener
from .flow import automations, timers

#: The listeners, in order (see the module docstring).
LISTENERS: tuple[Listener, ...] = (
    audit.record_event,
    rollups.after_write,
    timers.after_write,
    automations.after_write,
    documents.after_write,
)
