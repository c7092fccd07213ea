"""A record saved together with its line items (an order and its order lines): the parent's
insert or update and every child insert, update and delete in ONE transaction, each write
through the record store with the actor — policy, grants (parent-state ones included),
rules, computed fields and rollups apply as they do for single writes.

Rows are written in the order: removed lines deleted, kept lines updated (only when a value
or their position changed), new lines inserted. Each child write runs in a savepoint, so
every row's errors are collected in one pass; if anything was refused — the parent or any
row — the whole transaction rolls back and `LinesRefused` carries the parent's errors and
each row's. Nothing is ever half-saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..definition.block_configs import FormLines
from ..definition.fields import FieldValueError
from .computed import Errors
from .errors import (
    NON_FIELD,
    FieldMessage,
    Forbidden,
    NotFound,
    ParentStateRefused,
    ValidationFailed,
)
from .permissions import Actor
from .rows import Record

if TYPE_CHECKING:
    from .store import RecordStore


@dataclass(frozen=True, slots=True)
class LineRow:
    """One submitted row: an existing line (`id`, `version` as shown) or a new one, with the
    raw values of its fields."""

    values: Mapping[str, Any]
    id: int | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class LineItems:
    """The submitted rows of one form (in their order) and how they belong to the parent."""

    spec: FormLines
    rows: Sequence[LineRow] = field(default_factory=tuple)


class LinesRefused(ValidationFailed):
    """The parent or some rows were refused; nothing was written. `errors` are the parent's,
    `rows` maps a row's position (0-based) to its errors (NON_FIELD: the row as a whole)."""

    def __init__(self, errors: Mapping[str, list[FieldMessage]], rows: Mapping[int, Errors]):
        super().__init__(errors)
        self.rows = {i: ValidationFailed(e).errors for i, e in rows.items()}


def existing_lines(
    store: RecordStore,
    actor: Actor,
    spec: FormLines,
    parent_id: int,
    conn: sa.Connection | None = None,
) -> list[Record]:
    """The lines of a parent the actor may read, in row order (`order_by`, then id)."""
    sort = spec.order_by or "id"
    page = store.list(
        actor, spec.entity, parent=(spec.via, parent_id), sort=sort, page_size=spec.max,
        count=False, conn=conn,
    )  # fmt: skip
    return sorted(page.records, key=lambda r: (r.get(sort) is None, r.get(sort) or 0, r.id))


def save_with_lines(
    store: RecordStore,
    actor: Actor,
    entity: str,
    record_id: int | None,
    values: Mapping[str, Any],
    lines: LineItems,
    *,
    expected_version: int | None = None,
) -> Record:
    """Create (`record_id` None) or update the parent with `values` and make its lines what
    `lines.rows` say; one transaction. Raises `LinesRefused` with every error found,
    `StaleRecord` (409) for a parent or line changed meanwhile, NotFound/Forbidden as the
    record store does for the parent."""
    spec = lines.spec
    if not spec.min <= len(lines.rows) <= spec.max:
        message = FieldMessage(
            "rows", "between {min} and {max} rows, please", {"min": spec.min, "max": spec.max}
        )
        raise LinesRefused({NON_FIELD: [message]}, {})
    with store.transaction() as conn:
        if record_id is None:
            parent = store.insert(actor, entity, values, conn=conn)
        else:
            parent = store.update(
                actor, entity, record_id, values, expected_version=expected_version, conn=conn
            )
        removed, rows = _write_lines(store, actor, conn, spec, parent.id, lines.rows)
        if removed or rows:
            raise LinesRefused(removed, rows)
        return store.get(actor, entity, parent.id, conn=conn)


def _write_lines(
    store: RecordStore,
    actor: Actor,
    conn: sa.Connection,
    spec: FormLines,
    parent_id: int,
    rows: Sequence[LineRow],
) -> tuple[Errors, dict[int, Errors]]:
    """Write the rows; (errors of removing lines, errors per row)."""
    current = {r.id: r for r in existing_lines(store, actor, spec, parent_id, conn)}
    kept = {row.id for row in rows if row.id is not None}
    if kept - current.keys():
        # an id that is not one of this parent's lines the actor can read: a forged form
        raise NotFound(f"{spec.entity} is not a line of this record")
    removed: Errors = {}
    for line in current.values():
        if line.id not in kept:
            delete = partial(
                store.delete, actor, spec.entity, line.id, expected_version=line.version, conn=conn
            )
            _attempt(conn, removed, delete)
    errors: dict[int, Errors] = {}
    for position, row in enumerate(rows):
        changes = dict(row.values)
        if spec.order_by is not None:
            changes[spec.order_by] = position + 1
        if row.id is None:
            changes[spec.via] = parent_id
            write = partial(store.insert, actor, spec.entity, changes, conn=conn)
        elif _unchanged(store, spec, current[row.id], changes):
            continue
        else:
            write = partial(
                store.update, actor, spec.entity, row.id, changes,
                expected_version=row.version, conn=conn,
            )  # fmt: skip
        found: Errors = {}
        _attempt(conn, found, write)
        if found:
            errors[position] = found
    return {NON_FIELD: removed.get(NON_FIELD, [])} if removed else {}, errors


def _attempt(conn: sa.Connection, errors: Errors, write: Callable[[], object]) -> None:
    """Run one child write in a savepoint; a refusal becomes errors (StaleRecord: 409 for
    the whole form)."""
    try:
        with conn.begin_nested():
            write()
    except ValidationFailed as exc:
        for name, messages in exc.errors.items():
            errors.setdefault(name, []).extend(messages)
    except ParentStateRefused as exc:
        message = FieldMessage(
            "parent-state", str(exc), {"entity": exc.grant.entity, "grant": exc.grant.index}
        )
        errors.setdefault(NON_FIELD, []).append(message)
    except Forbidden:
        errors.setdefault(NON_FIELD, []).append(
            FieldMessage("forbidden", "you may not change this row")
        )


def _unchanged(
    store: RecordStore, spec: FormLines, line: Record, changes: Mapping[str, Any]
) -> bool:
    """True when writing `changes` would leave the line as it is (no write, no version)."""
    entity = store.entity(spec.entity)
    for name, raw in changes.items():
        f = entity.fields.get(name)
        if f is None or name not in line:
            return False
        try:
            if f.kind.clean(f, raw) != line.get(name):
                return False
        except FieldValueError:
            return False
    return True
