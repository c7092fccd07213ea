"""Automations: `on: create | update | delete | transition:<name>` run inside the triggering
write; `on: {schedule: ...}` runs are made by the scheduler (`scheduler`) through `run_scheduled`.

Record-triggered automations (`after_write`, the last write listener of `effects`) run in
definition order on the write's own connection, so the write, every automation's actions and
everything those actions write or queue commit together or not at all (R6):

- an automation fires when its entity and trigger match the event — an `update` only when the
  write changed at least one field — or, on `user`, the roles or activation (a no-op save is no
  change, and an automation that sets a value it already set thereby ends its own chain), a `transition:<name>` only for that
  transition (`update` automations do not fire on transitions: that is what transitions are
  for);
- its `when` sees `record` (the record after the write; before it, for a delete), `actor` (who
  wrote) and `before` (the record before an update; None otherwise);
- a `when` that *fails to evaluate* refuses the write, exactly like a failing action: skipping
  the automation silently would hide a definition bug until someone misses its effect. Either
  way a log line names the automation;
- writes made by actions raise events again, one level deeper; `effects` refuses a chain
  deeper than `events.MAX_EVENT_DEPTH`, and that refusal reaches the user as the failure of the
  automation that went too deep;
- a `transition` action is taken by the system acting for the user (`taker`), one level
  deeper too: its own actions and the `on: transition:<name>` automations it fires run in the
  same transaction, so two automations taking transitions back and forth end at that bound.
  A transition that cannot be taken (wrong state, false `when`, a `require`d field empty)
  fails the automation like any other action: the triggering write is refused. An
  automation's `when` should therefore test the state it moves the record from.

Every failure reaches the caller as `AutomationFailed` (a `ValidationFailed`: the form or API
shows "automation X failed: …" and nothing was written), except a concurrent change of the
record (`StaleRecord`, 409) and database errors, which keep their own meaning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.audit import json_safe
from ..data.errors import NON_FIELD, FieldMessage, Forbidden, StaleRecord, ValidationFailed
from ..data.events import WriteEvent
from ..data.permissions import Actor
from ..data.tables import utcnow
from ..definition.flow_model import Action, Automation
from ..definition.model import Entity
from ..expr.expressions import EvaluationError
from ..outbox import notify, webhooks
from ..problems import PortalisError
from . import actions
from .workflow_apply import take

if TYPE_CHECKING:
    from ..data.store import RecordStore

log = logging.getLogger("portalis.automations")

#: Triggers that fire on a write of the record store (the rest: `schedule`).
RECORD_TRIGGERS = frozenset({"create", "update", "delete", "transition"})
#: Records read per query while a scheduled run looks for matching records.
SCAN_BATCH = 200

# What an action may raise besides our own errors: a bad webhook URL (ValueError), a payload
# that is no JSON (TypeError), a chain that went too deep (RecursionError), an unknown name.
_ACTION_ERRORS = (
    PortalisError,
    EvaluationError,
    RecursionError,
    LookupError,
    TypeError,
    ValueError,
)


class AutomationFailed(ValidationFailed):
    """An automation's condition or action failed: the triggering write (or the scheduled run)
    persists nothing. `automation` names it, `error` says what went wrong."""

    def __init__(self, automation: str, error: str, *, condition: bool = False) -> None:
        self.automation = automation
        self.error = error
        if condition:
            message = FieldMessage(
                "automation-condition",
                "automation {automation}: its condition could not be evaluated: {error}",
                {"automation": automation, "error": error},
            )
        else:
            message = FieldMessage(
                "automation-failed",
                "automation {automation} failed: {error}",
                {"automation": automation, "error": error},
            )
        super().__init__({NON_FIELD: [message]})


def where_of(automation: Automation) -> str:
    """How writes, audit entries and messages name the automation: `automation <name>`."""
    return f"automation {automation.name}"


def triggers(automation: Automation, event: WriteEvent) -> bool:
    """True when `event` fires `automation` (its `when` is not looked at here)."""
    if not automation.enabled or automation.trigger not in RECORD_TRIGGERS:
        return False
    if automation.entity != event.entity.name or automation.trigger != event.kind:
        return False
    if event.kind == "transition":
        return event.transition is not None and event.transition.name == automation.transition
    if event.kind == "update":
        # a user's roles or activation are a change too (they are no fields: `auth_changes`)
        return bool(event.changed()) or bool(event.auth_changes)
    return True


def after_write(store: RecordStore, conn: sa.Connection, event: WriteEvent) -> None:
    """The write listener: run every automation `event` fires, in definition order.

    Each sees the event's own images: what an earlier automation writes is an event of its
    own, which automations see in turn (one level deeper) — so a condition comparing `before`
    with `record` fires once per change, never again for the outer event.
    """
    record: Mapping[str, Any] = event.record
    before = event.before if event.kind == "update" else None
    for automation in store.model.automations.values():
        if triggers(automation, event):
            _run_on_event(store, conn, automation, event, record, before)


def _run_on_event(
    store: RecordStore,
    conn: sa.Connection,
    automation: Automation,
    event: WriteEvent,
    record: Mapping[str, Any],
    before: Mapping[str, Any] | None,
) -> None:
    what = f"{event.entity.name} #{event.record_id} ({event.kind})"
    if not holds(automation, record=record, actor=event.actor, before=before, what=what):
        return
    trigger = event.transition.name if event.transition is not None else event.kind
    with failures(automation, what):
        if event.kind == "delete":
            refuse_set(automation, "a deleted record cannot be changed")
            actions.run_effects(
                store, conn, automation.actions, entity=event.entity, record=record,
                actor=event.actor, where=where_of(automation), trigger=trigger, depth=event.depth,
            )  # fmt: skip
        else:
            actions.run_actions(
                store, conn, automation.actions, entity=event.entity, record=record,
                actor=event.actor, where=where_of(automation), trigger=trigger, before=before,
                depth=event.depth, take=taker(store, conn, automation, event.entity, event.actor),
            )  # fmt: skip
    log.info("automation %s ran on %s", automation.name, what)


def taker(
    store: RecordStore,
    conn: sa.Connection,
    automation: Automation,
    entity: Entity,
    actor: Actor,
) -> actions.TakeTransition:
    """How the automation's `transition` actions are taken: by the system acting for
    `actor` (no role needed; `from`, `when` and `require` hold), on the write's connection,
    one level deeper than the write that ran the automation. A transition that is not
    available raises, which fails the automation and refuses the triggering write."""

    def take_one(name: str, record: Mapping[str, Any], depth: int) -> Mapping[str, Any]:
        take(
            store, actions.system_actor(actor), entity.name, record["id"], name, conn=conn,
            via=where_of(automation), depth=depth + 1,
        )  # fmt: skip
        return store.load_raw(conn, entity, record["id"])

    return take_one


def holds(
    automation: Automation,
    *,
    record: Mapping[str, Any] | None,
    actor: Actor,
    before: Mapping[str, Any] | None,
    what: str,
) -> bool:
    """Whether the automation's `when` holds; AutomationFailed when it cannot be evaluated."""
    if automation.when is None:
        return True
    try:
        ok = automation.when.test(record=record, actor=actor, before=before)
    except EvaluationError as exc:
        log.warning(
            "automation %s: condition %r failed on %s, refusing the write: %s",
            automation.name, automation.when_source, what, exc,
        )  # fmt: skip
        raise AutomationFailed(automation.name, str(exc), condition=True) from None
    if not ok:
        log.debug("automation %s: condition false on %s", automation.name, what)
    return ok


@contextmanager
def failures(automation: Automation, what: str) -> Iterator[None]:
    """Turn what an action raises into `AutomationFailed` naming the automation (and log it);
    our own failures, stale records and database errors pass through unchanged."""
    try:
        yield
    except (AutomationFailed, StaleRecord):
        raise
    except _ACTION_ERRORS as exc:
        error = describe(exc)
        log.warning(
            "automation %s failed on %s, nothing is written: %s", automation.name, what, error
        )
        raise AutomationFailed(automation.name, error) from exc


def describe(exc: BaseException) -> str:
    """A one-line explanation of an action's failure for people."""
    if isinstance(exc, Forbidden) and exc.reason:
        return f"{exc} ({exc.reason})"
    if isinstance(exc, KeyError) and exc.args:
        return f"unknown name {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


def refuse_set(automation: Automation, why: str) -> None:
    """AutomationFailed when the automation has a `set` action (the semantic checks refuse
    such definitions; this guards compiled models made some other way)."""
    if any(action.kind == "set" for action in automation.actions):
        raise AutomationFailed(automation.name, f"set is not possible here: {why}")


# -- scheduled runs ---------------------------------------------------------------------------
def run_scheduled(store: RecordStore, automation: Automation, *, conn: sa.Connection) -> int:
    """One run of a scheduled automation on `conn` (the caller's write transaction, so the run
    is all-or-nothing); returns how many records it acted on (1 for an automation without an
    entity whose `when` held, else 0).

    Over an entity: the records that exist when the run starts are read by the system, in id
    order, and the actions run for each one whose `when` holds, at most `limit` of them — the
    rest wait for the next run (a `set` that makes a record stop matching works through a
    backlog run by run). Without an entity: the actions run once, with `record` None.
    """
    actor = Actor.system()
    if automation.entity is None:
        return _run_unbound(store, conn, automation, actor)
    entity = store.model.entities.get(automation.entity)
    if entity is None:
        raise AutomationFailed(automation.name, f"there is no entity {automation.entity!r}")
    if automation.limit < 1:
        raise AutomationFailed(automation.name, f"limit must be at least 1, not {automation.limit}")
    done = 0
    for record in _records(store, conn, entity):
        what = f"{entity.name} #{record['id']} (schedule)"
        if not holds(automation, record=record, actor=actor, before=None, what=what):
            continue
        with failures(automation, what):
            actions.run_actions(
                store, conn, automation.actions, entity=entity, record=record, actor=actor,
                where=where_of(automation), trigger=automation.name,
                take=taker(store, conn, automation, entity, actor),
            )  # fmt: skip
        done += 1
        if done >= automation.limit:
            break
    return done


def _records(store: RecordStore, conn: sa.Connection, entity: Entity) -> Iterator[dict[str, Any]]:
    """Every record of `entity` that exists now, in id order, read in batches (records the
    run itself creates are not visited)."""
    table = store.tables[entity.name]
    last = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
    if last is None:
        return
    seen = 0
    while True:
        rows = (
            conn.execute(
                sa.select(*store.columns(entity))
                .where(table.c.id > seen, table.c.id <= last)
                .order_by(table.c.id)
                .limit(SCAN_BATCH)
            )
            .mappings()
            .all()
        )
        for row in rows:
            yield store.raw_values(entity, row)
        if len(rows) < SCAN_BATCH:
            return
        seen = int(rows[-1]["id"])


def _run_unbound(
    store: RecordStore, conn: sa.Connection, automation: Automation, actor: Actor
) -> int:
    """A scheduled automation without an entity: create, notify (by role) and webhook."""
    what = "its schedule"
    if not holds(automation, record=None, actor=actor, before=None, what=what):
        return 0
    refuse_set(automation, "the automation has no entity, so there is no record to change")
    where = where_of(automation)
    names: dict[str, Any] = {"record": None, "actor": actor, "before": None}
    with failures(automation, what):
        for action in automation.actions:
            if action.kind == "create":
                if action.entity is None:
                    raise AutomationFailed(automation.name, "create names no entity")
                values = actions.evaluate_values(action.values, names, where)
                store.insert(actor, action.entity, values, conn=conn, via=where, depth=1)
            elif action.kind == "notify":
                _notify_unbound(store, conn, automation, action)
            elif action.kind == "webhook":
                if action.url is None:
                    raise AutomationFailed(automation.name, "webhook names no url")
                event = action.event or f"automation.{automation.name}"
                body = {
                    "event": event,
                    "portal": store.model.slug,
                    "automation": automation.name,
                    "at": json_safe(utcnow()),
                }
                webhooks.enqueue_webhook(
                    conn, portal=store.model.slug, url=action.url, event=event, body=body,
                    secret=action.secret,
                )  # fmt: skip
    log.info("automation %s ran on %s", automation.name, what)
    return 1


def _notify_unbound(
    store: RecordStore, conn: sa.Connection, automation: Automation, action: Action
) -> int:
    """Notify the users of staff roles (`role:<name>`) without a record; returns how many.

    `notify.send` resolves recipients from a record, which a run without an entity does not
    have: only staff roles name users without one (other roles are picked within the record's
    account; `creator` and ref fields are the record's). Rendering, preferences, the bell and
    the mail job are `notify`'s.
    """
    model = store.model
    spec = model.notifications.get(action.template or "")
    if spec is None:
        raise AutomationFailed(automation.name, f"unknown notification {action.template!r}")
    roles = [r.removeprefix("role:") for r in action.to if r.startswith("role:")]
    for name in [r for r in action.to if not r.startswith("role:")] + roles:
        role = model.roles.get(name)
        if role is None or not role.staff:
            raise AutomationFailed(
                automation.name,
                f"without an entity only staff roles (role:<name>) can be notified, not {name!r}",
            )
    users = _staff_members(store, conn, frozenset(roles))
    if not users:
        return 0
    title = model.title.get(model.default_locale, model.default_locale)
    return notify.deliver(
        store,
        conn,
        spec,
        users,
        acting={"name": title, "email": ""},
        record=lambda user, locale: {},
        route=notify.link_route(model, spec, {}),
    )


def _staff_members(
    store: RecordStore, conn: sa.Connection, roles: frozenset[str]
) -> list[notify.Recipient]:
    """Active users holding any of `roles` (directly or through inheritance), by id."""
    model = store.model
    holders = frozenset(r.name for r in model.roles.values() if r.closure & roles)
    if not holders:
        return []
    users = store.tables["user"]
    columns = [users.c[n] for n in ("id", "email", "name", "account", "roles", "locale")]
    text = sa.cast(users.c.roles, sa.Text)  # the JSON list as text narrows the scan portably
    query = (
        sa.select(*columns)
        .where(users.c.is_active.is_(True))
        .where(sa.or_(*(text.like(f'%"{name}"%') for name in sorted(holders))))
        .order_by(users.c.id)
    )
    out = []
    for row in conn.execute(query).mappings():
        if holders & set(row["roles"] or ()):
            out.append(
                notify.Recipient(
                    id=int(row["id"]), email=str(row["email"] or ""), name=str(row["name"] or ""),
                    account=row["account"], roles=tuple(row["roles"] or ()), locale=row["locale"],
                )
            )  # fmt: skip
    return out
