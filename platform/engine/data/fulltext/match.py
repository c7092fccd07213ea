"""Which records match a full-text search for an actor, and how well.

`text_match` gives a subquery of (id, score) — higher scores first — and a condition for the
outer WHERE; the caller adds the actor's row filter to the same statement (the record
store's `where`), so a record the actor may not read never matches.

Field masks: a field the actor may not read never makes a record match. Fields readable on
every row the actor sees are matched (and ranked) by the index directly; fields no grant lets
through are left out of the match; fields readable on some rows only (grants with different
field sets) match where readable — each word must then be found in a field readable on that
row (`Policy.readable_clause`) — and do not rank, so a hidden value never orders the hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ...definition.model import Entity
from ..permissions import Actor, Policy
from .index import SearchIndex, fts_table, regconfig
from .pg_vectors import stored_vector, vector_column
from .terms import query_words, stem


@dataclass(frozen=True, slots=True)
class TextMatch:
    """A full-text search of one entity for one actor."""

    #: (id, score) of the matching rows, best first by score
    hits: sa.Subquery
    #: more conditions on the entity's table (fields readable on some rows only)
    where: sa.ColumnElement[bool]
    #: the words searched for (stop words left out)
    words: tuple[str, ...]
    #: the indexed fields readable on every row the actor sees (snippets come from these)
    fields: tuple[str, ...]


def text_match(
    policy: Policy,
    actor: Actor,
    entity: Entity,
    table: sa.Table,
    index: SearchIndex,
    dialect: str,
    text: str,
    *,
    any_word: bool = False,
) -> TextMatch | None:
    """The match of `text` in `entity`'s index for `actor`; None when `text` has no word to
    look for (blank or only stop words) or no indexed field is readable: nothing matches.
    A search needs every word; `any_word` (similar records) one of them, more ranking higher."""
    if entity.full_text is None:
        return None
    words = query_words(index.language, text)
    always: list[str] = []
    partly: list[tuple[str, sa.ColumnElement[bool]]] = []
    for name in entity.full_text.names():
        readable = policy.readable_clause(actor, entity.name, name)
        if isinstance(readable, sa.sql.elements.True_):
            always.append(name)
        elif not isinstance(readable, sa.sql.elements.False_):
            partly.append((name, readable))
    if not words or not (always or partly):
        return None
    column = {name: entity.fields[name].columns[0] for name in entity.full_text.names()}
    ranked = [column[n] for n in always]
    searched = ranked + [column[n] for n, _ in partly]
    if dialect == "sqlite":
        hits, one = _sqlite(index, table, words, ranked, searched, any_word)
    else:
        hits, one = _postgres(index, table, words, ranked, searched, any_word)
    where: sa.ColumnElement[bool] = sa.true()
    if partly:
        # each word (or one, with any_word) in a field that is readable on the row
        where = (sa.or_ if any_word else sa.and_)(
            *(
                sa.or_(
                    *(one(word, column[n]) for n in always),
                    *(sa.and_(one(word, column[n]), clause) for n, clause in partly),
                )
                for word in words
            )
        )
    return TextMatch(hits, where, words, tuple(always))


def _sqlite(
    index: SearchIndex,
    table: sa.Table,
    words: tuple[str, ...],
    ranked: list[str],
    searched: list[str],
    any_word: bool,
) -> tuple[sa.Subquery, Any]:
    fts = fts_table(index)
    match = sa.literal_column(f'"{index.name}"').op("MATCH")
    quoted = [f'"{stem(index.language, w)}"' for w in words]
    joiner = " OR " if any_word else " AND "
    query = "{" + " ".join(searched) + "} : (" + joiner.join(quoted) + ")"
    # bm25 is lower for better hits; columns the actor may not rank by weigh nothing
    weights = [float(w) if c in ranked else 0.0 for c, w in index.columns]
    score = -sa.func.bm25(sa.literal_column(f'"{index.name}"'), *weights)
    hits = (
        sa.select(fts.c.rowid.label("id"), score.label("score"))
        .where(match(sa.bindparam(None, query, type_=sa.String)))
        .subquery("search_hits")
    )

    def one(word: str, col: str) -> sa.ColumnElement[bool]:
        single = "{" + col + "} : " + f'"{stem(index.language, word)}"'
        return table.c.id.in_(sa.select(fts.c.rowid).where(match(sa.literal(single))))

    return hits, one


def _postgres(
    index: SearchIndex,
    table: sa.Table,
    words: tuple[str, ...],
    ranked: list[str],
    searched: list[str],
    any_word: bool,
) -> tuple[sa.Subquery, Any]:
    config = regconfig(index.language)
    query: sa.ColumnElement[Any] = sa.func.plainto_tsquery(config, " ".join(words))
    if any_word:  # tsquery's || is OR
        query = sa.func.plainto_tsquery(config, words[0])
        for word in words[1:]:
            query = query.op("||")(sa.func.plainto_tsquery(config, word))
    everything = [c for c, _ in index.columns]
    # the stored vectors of all indexed fields are the GIN index's expression: they find the
    # candidates (a superset: a record matches through its readable fields only), those of
    # the readable fields decide — both read stored vectors, nothing is parsed per row
    clauses = [stored_vector(index, table).op("@@")(query)]
    if searched != everything:
        clauses.append(stored_vector(index, table, searched).op("@@")(query))
    weights: sa.ColumnElement[Any] = sa.literal_column(
        "ARRAY[" + ", ".join(f"{w:.4f}" for w in index.rank_weights()) + "]::float4[]"
    )
    if ranked:
        score: sa.ColumnElement[Any] = sa.func.ts_rank(
            weights, stored_vector(index, table, ranked), query
        )
    else:
        score = sa.literal(0.0)
    hits = (
        sa.select(table.c.id.label("id"), score.label("score"))
        .where(*clauses)
        .subquery("search_hits")
    )

    def one(word: str, col: str) -> sa.ColumnElement[bool]:
        vector: sa.ColumnElement[Any] = sa.literal_column(
            f'"{table.name}"."{vector_column(index, col)}"'
        )
        return vector.op("@@")(sa.func.plainto_tsquery(config, word))

    return hits, one
