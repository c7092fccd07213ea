"""Records related to one the actor reads (the `related` block): others of the same entity
that share the values of the named fields (e.g. the category) and words of its title, most
shared values first, then the best full-text match of the title's words.

One statement with the actor's row filter in its WHERE, like a search: a record the actor
may not read is never related. The field-mask rule holds on both sides: a shared value
counts only where the actor may read that field, and the title's words match through the
fields the actor may read (`match.text_match` with `any_word`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..permissions import Actor
from ..rows import Record

if TYPE_CHECKING:
    from ..store import RecordStore

#: Related records a block shows at most.
MAX_RELATED = 20


@dataclass(frozen=True, slots=True)
class RelatedRecord:
    """One related record: its id and title (`#id` when the title is not readable)."""

    id: int
    title: str


def related_records(
    store: RecordStore,
    actor: Actor,
    record: Record,
    same: Sequence[str],
    limit: int = 5,
) -> list[RelatedRecord]:
    """Up to `limit` records of `record`'s entity related to it, best first (see module)."""
    entity = store.model.entities[record.entity]
    table = store.tables[entity.name]
    row_filter = store.policy.row_filter(actor, entity.name, "read")
    if isinstance(row_filter, sa.sql.elements.False_):
        return []
    shared: list[sa.ColumnElement[Any]] = []
    for name in same:
        value = record.values.get(name)
        if value is None or name not in entity.fields:
            continue  # no value, or one the actor may not read on this record
        readable = store.policy.readable_clause(actor, entity.name, name)
        column = table.c[entity.fields[name].columns[0]]
        stored = value.get("id") if isinstance(value, dict) else value
        shared.append(sa.case((sa.and_(readable, column == stored), 1), else_=0))
    together: sa.ColumnElement[Any] = sum(shared[1:], shared[0]) if shared else sa.literal(0)
    title = entity.title_field
    text = str(record.values.get(title) or "") if title else ""
    found = store.full_text(actor, entity, text, any_word=True) if text.strip() else None
    query = sa.select(table.c.id).where(row_filter, table.c.id != record.id)
    if found is not None:
        score = sa.func.coalesce(found.hits.c.score, 0.0)
        matched = sa.and_(found.hits.c.id.is_not(None), found.where)
        query = (
            query.select_from(table.outerjoin(found.hits, found.hits.c.id == table.c.id))
            .where(sa.or_(together > 0, matched))
            .order_by(together.desc(), sa.case((matched, score), else_=0.0).desc())
        )
    else:
        query = query.where(together > 0).order_by(together.desc())
    query = query.order_by(table.c.id).limit(max(1, min(int(limit), MAX_RELATED)))
    with store.reading() as conn:
        ids = [int(i) for i in conn.execute(query).scalars()]
    titles = store.titles(actor, entity.name, ids)
    return [RelatedRecord(i, titles.get(i) or f"#{i}") for i in ids]
