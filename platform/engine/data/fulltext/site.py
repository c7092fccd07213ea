"""A search over several entities (the `search` block): for each, its best hits that the
actor may read — the row filter in the same statement as the match — then all of them
interleaved by score, each with its title and a highlighted snippet of a readable field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..permissions import Actor
from .snippets import Snippet, best_snippet

if TYPE_CHECKING:
    from ..store import RecordStore

#: Hits a search shows at most.
MAX_HITS = 50


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One record found: its entity, id, title (`#id` when the title is not readable),
    score (higher is better) and snippet (None when no readable field shows a word)."""

    entity: str
    id: int
    title: str
    score: float
    snippet: Snippet | None


def search_entities(
    store: RecordStore,
    actor: Actor,
    entities: Sequence[str],
    text: str,
    limit: int = 10,
    conn: sa.Connection | None = None,
) -> list[SearchHit]:
    """The best `limit` hits for `text` in `entities` (those with a full-text index) that
    `actor` may read, best first. One statement per entity."""
    limit = max(1, min(int(limit), MAX_HITS))
    hits: list[SearchHit] = []
    with store.reading(conn) as c:
        for name in entities:
            hits.extend(_entity_hits(store, actor, name, text, limit, c))
    hits.sort(key=lambda h: (-h.score, h.entity, h.id))
    return hits[:limit]


def _entity_hits(
    store: RecordStore, actor: Actor, name: str, text: str, limit: int, conn: sa.Connection
) -> list[SearchHit]:
    entity = store.model.entities.get(name)
    index = store.tables.search.get(name)
    if entity is None or index is None:
        return []
    row_filter = store.policy.row_filter(actor, name, "read")
    if isinstance(row_filter, sa.sql.elements.False_):
        return []
    found = store.full_text(actor, entity, text)
    if found is None:
        return []
    table = store.tables[name]
    title = entity.title_field
    everywhere = title is not None and isinstance(
        store.policy.readable_clause(actor, name, title), sa.sql.elements.True_
    )
    shown = [*found.fields, *([title] if everywhere and title not in found.fields else [])]
    columns: list[Any] = [table.c[entity.fields[n].columns[0]].label(n) for n in shown if n]
    query = (
        sa.select(table.c.id, found.hits.c.score, *columns)
        .select_from(table.join(found.hits, found.hits.c.id == table.c.id))
        .where(row_filter, found.where)
        .order_by(found.hits.c.score.desc(), table.c.id)
        .limit(limit)
    )
    # the title is shown anyway: a snippet of another field says more
    snippet_fields = sorted(found.fields, key=lambda n: n == title)
    out = []
    for row in conn.execute(query).mappings():
        values = dict(row)
        label = values.get(title) if everywhere and title else None
        out.append(
            SearchHit(
                name,
                int(row["id"]),
                str(label) if label not in (None, "") else f"#{row['id']}",
                float(row["score"] or 0.0),
                best_snippet(index.language, found.words, values, snippet_fields),
            )
        )
    return out
