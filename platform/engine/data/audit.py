"""The audit log: who created, changed, moved or deleted which record, and who signed in.

Every write of the record store becomes one row of `portalis_audit` inside the write's own
transaction (`record_event` is a write listener, see `effects`), so a write that fails leaves
no entry and an entry always describes a write that happened. Sign-in events of the runtime
use `record_auth`. Each row names the actor (for automations and timers: the user on whose
behalf they acted), the client address, the record and a field-level diff in storage form.

There is deliberately no function that updates or deletes entries: an audit trail the
application itself can rewrite proves nothing. A correction is a new entry. On PostgreSQL a
trigger refuses UPDATE and DELETE even to SQL run with the application's role
(`system_tables`); retention is a database administrator's job, outside the application.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..definition.fields import FieldValueError
from ..definition.model import Entity, Field
from .events import WriteEvent
from .system_tables import audit, aware
from .tables import utcnow

if TYPE_CHECKING:
    from .permissions import Actor
    from .store import RecordStore

#: Actions of record writes; everything else in the table is an authentication event.
RECORD_ACTIONS = frozenset({"create", "update", "delete", "transition"})
#: Actions whose entry starts a stay in a workflow state (timers and approvals key on it).
ENTRY_ACTIONS = ("create", "transition")
#: Rows fetched per round trip while exporting.
EXPORT_BATCH = 500
_EMAIL_MAX = 254
_IP_MAX = 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit log.

    `changes` maps field names to `[old, new]` in storage form (JSON values); `detail` holds
    what else the action has: workflow, transition, from, to, comment, via, provider, reason.
    """

    id: int
    portal: str
    at: datetime
    action: str
    actor_id: int | None
    actor_email: str | None
    ip: str | None
    entity: str | None
    record_id: int | None
    changes: Mapping[str, Any]
    detail: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON-safe dict (one line of `portalis audit export`)."""
        return {
            "id": self.id,
            "portal": self.portal,
            "at": self.at.astimezone(UTC).isoformat(),
            "action": self.action,
            "actor_id": self.actor_id,
            "actor_email": self.actor_email,
            "ip": self.ip,
            "entity": self.entity,
            "record_id": self.record_id,
            "changes": json_safe(dict(self.changes)),
            "detail": json_safe(dict(self.detail)),
        }


# -- values -----------------------------------------------------------------------------------
def json_safe(value: Any) -> Any:
    """`value` with only JSON types: ISO text for dates and times, Decimal as fixed-point text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo is not None else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=str)
    return str(value)


def stored_form(field: Field, value: Any) -> Any:
    """A field value as its columns store it, JSON-safe: the column value for a
    single-column field, a dict column → value for several (money: amount and currency)."""
    if value is None:
        return None
    columns = field.kind.to_storage(field, value)
    if len(columns) == 1:
        return json_safe(next(iter(columns.values())))
    return json_safe(columns)


def diff(event: WriteEvent) -> dict[str, list[Any]]:
    """The field-level changes of a write: name → [old, new] in storage form.

    A create lists every non-empty field (old null), a delete every non-empty field (new
    null), an update or transition the fields whose value changed. Of the user table's
    authentication columns only the record state appears — `roles` and `is_active`, when the
    write changed them (`WriteEvent.auth_changes`); the password hash and login times never do.
    """
    out: dict[str, list[Any]] = {}
    if event.before is None or event.after is None:
        values = event.after if event.after is not None else event.before or {}
        creating = event.after is not None
        for name, field in event.entity.fields.items():
            value = values.get(name)
            if field.kind.is_empty(value):
                continue
            stored = stored_form(field, value)
            out[name] = [None, stored] if creating else [stored, None]
    else:
        for name, (old, new) in event.changed().items():
            field = event.entity.fields[name]
            old_stored, new_stored = stored_form(field, old), stored_form(field, new)
            if old_stored != new_stored:  # e.g. 1.50 and 1.5: different objects, same value
                out[name] = [old_stored, new_stored]
    for name, (old, new) in event.auth_changes.items():
        out[name] = [json_safe(old), json_safe(new)]
    return out


def revive(field: Field, table: sa.Table, stored: Any) -> Any:
    """The Python value of a field from its stored form in an entry (None when it no longer
    fits the field, e.g. after the field's type changed)."""
    if stored is None:
        return None
    names = field.columns
    if len(names) > 1:
        if not isinstance(stored, Mapping):
            return None
        row = {name: stored.get(name) for name in names}
    else:
        row = {names[0]: stored}
    for name in names:
        if name in table.c:
            row[name] = _parse(table.c[name].type, row[name])
    try:
        return field.kind.from_storage(field, row)
    except (FieldValueError, ValueError, TypeError, ArithmeticError):
        return None


def revive_changes(
    store: RecordStore, entity: Entity, changes: Mapping[str, Any], fields: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Old and new Python values of an entry's changed `fields`, in the entity's field order
    (fields since removed, and pairs that are no [old, new], are left out)."""
    table = store.tables[entity.name]
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name, field in entity.fields.items():
        pair = changes.get(name)
        if name not in fields or not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        old[name] = revive(field, table, pair[0])
        new[name] = revive(field, table, pair[1])
    return old, new


def _parse(column_type: sa.types.TypeEngine[Any], value: Any) -> Any:
    """A JSON value back in the column's Python type (ISO text → date, text → Decimal)."""
    if not isinstance(value, str):
        return value
    try:
        if isinstance(column_type, sa.DateTime):
            return datetime.fromisoformat(value)
        if isinstance(column_type, sa.Date):
            return date.fromisoformat(value)
        if isinstance(column_type, sa.Time):
            return time.fromisoformat(value)
        # exact decimals are a type decorator over Numeric
        stored = getattr(column_type, "impl", column_type)
        if isinstance(stored, sa.Numeric) and not isinstance(stored, sa.Float):
            return Decimal(value)
    except (ValueError, InvalidOperation):
        return value
    return value


# -- writing ----------------------------------------------------------------------------------
def record_event(store: RecordStore, conn: sa.Connection, event: WriteEvent) -> None:
    """The write listener: one audit entry for a create, update, delete or transition."""
    actor = event.actor
    actor_id = actor.on_behalf_of if actor.is_system else actor.id
    email = None if actor.is_system else (actor.email or None)
    if email is None and actor_id is not None:
        email = _user_email(store, conn, actor_id)
    detail: dict[str, Any] = {}
    if event.kind == "transition" and event.workflow is not None:
        state = event.workflow.field
        detail.update(
            workflow=event.workflow.name,
            transition=event.transition.name if event.transition is not None else None,
            **{
                "from": (event.before or {}).get(state),
                "to": (event.after or {}).get(state),
            },
            comment=event.comment,
        )
    elif event.comment:
        detail["comment"] = event.comment
    if event.via:
        detail["via"] = event.via
    _insert(
        conn,
        portal=store.model.slug,
        action=event.kind,
        actor_id=actor_id,
        email=email,
        ip=actor.ip,
        entity=event.entity.name,
        record_id=event.record_id,
        changes=diff(event),
        detail=json_safe(detail) or None,
    )


def record_auth(
    conn: sa.Connection,
    *,
    portal: str,
    action: str,
    actor_id: int | None,
    email: str | None,
    ip: str | None,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Record a sign-in event (login, login_failed, logout, lockout, password_change, …) in
    the caller's transaction; returns the entry's id. Never pass a secret in `detail`."""
    return _insert(
        conn,
        portal=portal,
        action=action,
        actor_id=actor_id,
        email=email,
        ip=ip,
        entity=None,
        record_id=None,
        changes=None,
        detail=json_safe(dict(detail)) if detail else None,
    )


def record_action(
    store: RecordStore,
    conn: sa.Connection,
    actor: Actor,
    action: str,
    *,
    entity: str,
    record_id: int,
    detail: Mapping[str, Any],
) -> int:
    """Record an action on a record that changes none of its fields (a document attached,
    versioned or deleted) in the caller's transaction; returns the entry's id."""
    email = actor.email or None
    if email is None and actor.id is not None:
        email = _user_email(store, conn, actor.id)
    return _insert(
        conn,
        portal=store.model.slug,
        action=action,
        actor_id=actor.id,
        email=email,
        ip=actor.ip,
        entity=entity,
        record_id=record_id,
        changes=None,
        detail=json_safe(dict(detail)),
    )


def _insert(
    conn: sa.Connection,
    *,
    portal: str,
    action: str,
    actor_id: int | None,
    email: str | None,
    ip: str | None,
    entity: str | None,
    record_id: int | None,
    changes: Mapping[str, Any] | None,
    detail: Mapping[str, Any] | None,
) -> int:
    result = conn.execute(
        audit.insert().values(
            portal=portal,
            at=utcnow(),
            actor_id=actor_id,
            actor_email=email[:_EMAIL_MAX] if email else None,
            ip=ip[:_IP_MAX] if ip else None,
            action=action,
            entity=entity,
            record_id=record_id,
            changes=changes,
            detail=detail,
        )
    )
    key = result.inserted_primary_key
    if key is None or key[0] is None:  # pragma: no cover - every dialect returns it
        raise RuntimeError("audit insert returned no id")
    return int(key[0])


def _user_email(store: RecordStore, conn: sa.Connection, user_id: int) -> str | None:
    """The e-mail address of a user of the store's portal (the system actor has none)."""
    users = store.tables.tables.get("user")
    if users is None:
        return None
    value = conn.execute(sa.select(users.c.email).where(users.c.id == user_id)).scalar()
    return str(value) if value else None


# -- reading ----------------------------------------------------------------------------------
def entry_marker(conn: sa.Connection, *, portal: str, entity: str, record_id: int) -> int | None:
    """The id of the newest `create` or `transition` entry of a record: it marks the record's
    current stay in its state (workflow timers and approval rounds key on it)."""
    value = conn.execute(
        sa.select(sa.func.max(audit.c.id)).where(
            audit.c.portal == portal,
            audit.c.entity == entity,
            audit.c.record_id == record_id,
            audit.c.action.in_(ENTRY_ACTIONS),
        )
    ).scalar()
    return int(value) if value is not None else None


def history(
    conn: sa.Connection, *, portal: str, entity: str, record_id: int, limit: int = 200
) -> list[AuditEntry]:
    """The entries of one record, newest first (at most `limit`)."""
    rows = conn.execute(
        sa.select(audit)
        .where(audit.c.portal == portal, audit.c.entity == entity, audit.c.record_id == record_id)
        .order_by(audit.c.id.desc())
        .limit(max(1, int(limit)))
    ).mappings()
    return [_entry(row) for row in rows]


def export(
    engine: sa.Engine, *, since: datetime, portal: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every entry at or after `since` (naive means UTC), oldest first, as JSON-safe dicts.

    Rows are streamed in batches (server-side cursor on PostgreSQL), so exporting millions of
    entries needs the memory of one batch.
    """
    start = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
    query = sa.select(audit).where(audit.c.at >= start)
    if portal is not None:
        query = query.where(audit.c.portal == portal)
    query = query.order_by(audit.c.at, audit.c.id)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=EXPORT_BATCH).execute(query).mappings()
        for row in result:
            yield _entry(row).to_json()


def _entry(row: sa.RowMapping) -> AuditEntry:
    at = aware(row["at"])
    assert at is not None  # the column is NOT NULL
    return AuditEntry(
        id=int(row["id"]),
        portal=str(row["portal"]),
        at=at,
        action=str(row["action"]),
        actor_id=row["actor_id"],
        actor_email=row["actor_email"],
        ip=row["ip"],
        entity=row["entity"],
        record_id=row["record_id"],
        changes=dict(row["changes"] or {}),
        detail=dict(row["detail"] or {}),
    )
