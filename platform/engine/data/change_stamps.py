"""Change stamps: a cheap answer to "did anything this viewer watches change?".

A page that refreshes itself without a reload asks every few seconds whether what it shows
changed. The answer has to cost little and reveal nothing beyond what the viewer may read, so
it is one SELECT of scalar subqueries, each under the actor's row filter:

- a watched record: its `version` and `updated_at` (both NULL when the actor may not read it —
  the caller answers 404, as every other path does for an unseen record);
- a watched record's children: how many the actor may read, their highest id and their latest
  `updated_at` (an insert raises the count or the highest id, a delete lowers the count, an
  update moves the latest time). The parent ref leads the list index every `list` block with
  `parent:` gets (`table_indexes`), so this reads a few index entries, not the table.

A write to a record the actor may not read changes none of these values, so the answer cannot
be used to watch other accounts. The state lives in the database only: any worker on any host
gives the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .permissions import Actor
from .query import _int_id
from .store import RecordStore

#: What a watch reads: (version, updated_at) of a record, (count, max id, max updated_at) of
#: children; values are plain (text for times), so stamps compare and hash the same anywhere.
Stamp = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Watch:
    """One thing a page shows that others may change.

    `key` names it in the answer (e.g. `block-1`); `via` is None for the record `record_id`
    of `entity` itself, or the ref field of `entity` whose children of that record are shown.
    """

    key: str
    entity: str
    record_id: int
    via: str | None = None


def _columns(store: RecordStore, actor: Actor, watch: Watch) -> list[sa.ColumnElement[Any]]:
    """The scalar subqueries of one watch, each under the actor's row filter."""
    entity = store.entity(watch.entity)
    table = store.tables[entity.name]
    rid = _int_id(watch.record_id)
    if watch.via is None:
        where: sa.ColumnElement[bool] | None = sa.and_(
            table.c.id == rid, store.policy.row_filter(actor, entity.name, "read")
        )
        picks: list[sa.ColumnElement[Any]] = [table.c.version, table.c.updated_at]
    else:
        where = store.where(actor, entity, None, None, None, (watch.via, rid))
        picks = [sa.func.count(), sa.func.max(table.c.id), sa.func.max(table.c.updated_at)]
    if where is None:  # the actor reads none of them: a constant, never a query
        return [sa.literal(0), sa.null(), sa.null()]
    return [sa.select(p).select_from(table).where(where).scalar_subquery() for p in picks]


def stamp_select(store: RecordStore, actor: Actor, watches: Sequence[Watch]) -> sa.Select[Any]:
    """The one statement that reads every watch's stamp (columns in watch order)."""
    columns: list[sa.ColumnElement[Any]] = []
    for i, watch in enumerate(watches):
        columns.extend(c.label(f"w{i}_{j}") for j, c in enumerate(_columns(store, actor, watch)))
    return sa.select(*columns)


def read_stamps(
    store: RecordStore,
    actor: Actor,
    watches: Sequence[Watch],
    conn: sa.Connection | None = None,
) -> dict[str, Stamp | None]:
    """Each watch's stamp by key; None for a watched record the actor may not read (or that
    is gone). One query; none when there is nothing to watch."""
    if not watches:
        return {}
    with store.reading(conn) as c:
        row = c.execute(stamp_select(store, actor, watches)).one()
    out: dict[str, Stamp | None] = {}
    at = 0
    for watch in watches:
        width = 2 if watch.via is None else 3
        values = tuple(_plain(v) for v in row[at : at + width])
        at += width
        out[watch.key] = None if watch.via is None and values[0] is None else values
    return out


def _plain(value: Any) -> Any:
    """A stamp value as JSON-friendly plain data (times as ISO text)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value
