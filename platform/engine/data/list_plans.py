"""List statements built once per actor and query shape (`build_plan`), kept by the record
store (`ListPlans`).

A list page asks for the same statement on every request: the same actor, entity, filters,
sort and page. Building it (row filter, field masks, title joins, the bounded count) costs
more than running it, and a new statement object also makes SQLAlchemy recompute its cache
key. `ListPlans` keeps the finished statement with what reading its rows needs. The key holds
the whole `Actor` (every attribute a row filter or mask can read) and every argument of the
read, so a plan is only ever reused for an identical unfiltered read; the store is per portal version,
so a new version starts empty. The cache is bounded: past `MAX_PLANS` it starts over.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..definition.model import Entity
from .permissions import Actor
from .ref_titles import TitleJoin, joined_from, title_joins

if TYPE_CHECKING:
    from .records import ReadStore

#: Plans kept per store; a busy portal has one per (signed-in user, list query) in use.
MAX_PLANS = 2048


class Absent:
    """The type of `ABSENT`: no plan is kept for a key."""


ABSENT = Absent()


@dataclass(frozen=True, slots=True)
class ListPlan:
    """A list read ready to run: the statement and what reading its rows needs."""

    query: sa.Select[Any]
    table: sa.Table
    where: sa.ColumnElement[bool]
    flags: tuple[tuple[Any, sa.ColumnElement[Any]], ...]
    mask: frozenset[str] | None
    joins: tuple[TitleJoin, ...]


class ListPlans:
    """A bounded map of plan keys to plans (`None` for reads that can see no row)."""

    def __init__(self, limit: int = MAX_PLANS) -> None:
        self.limit = limit
        self._plans: dict[Hashable, ListPlan | None] = {}

    def __len__(self) -> int:
        return len(self._plans)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._plans

    def get(self, key: Hashable) -> ListPlan | None | Absent:
        """The plan of `key`, None when the read sees no row, `ABSENT` when no plan is kept.

        One look-up, so that a concurrent `put` starting over cannot turn a plan into None
        between a membership test and a read."""
        return self._plans.get(key, ABSENT)

    def put(self, key: Hashable, plan: ListPlan | None) -> None:
        """Keep `plan` under `key`, starting over when the bound is reached."""
        if len(self._plans) >= self.limit:
            self._plans.clear()
        self._plans[key] = plan


def plan_key(
    actor: Actor,
    entity: str,
    filters: Mapping[str, Any] | None,
    search: str | None,
    search_fields: Sequence[str] | None,
    parent: tuple[str, int] | None,
    *shape: Any,
) -> Hashable | None:
    """The key of a list read, or None when no plan is kept for it.

    `shape` is the rest of the read as given (sort, page, size, count, fields, titles …);
    sequences are keyed as tuples. Filtered reads keep no plan: a field type (a plugin's too)
    builds its filter clause from the value, and nothing promises that clause is the same at
    every call.
    """
    if filters:
        return None
    try:
        key = (
            actor,
            entity,
            search,
            None if search_fields is None else tuple(search_fields),
            parent,
            *(tuple(s) if isinstance(s, list) else s for s in shape),
        )
        hash(key)
    except TypeError:
        return None
    return key


def build_plan(
    store: ReadStore,
    actor: Actor,
    entity: Entity,
    filters: Mapping[str, Any] | None,
    search: str | None,
    search_fields: Sequence[str] | None,
    parent: tuple[str, int] | None,
    sort: str | None,
    page: int,
    page_size: int,
    count: bool,
    count_limit: int,
    fields: Sequence[str] | None,
    titles: Sequence[str],
    full_text: bool = True,
) -> ListPlan | None:
    """The statement of a list read through `store` (None when the actor can read no row)."""
    table = store.tables[entity.name]
    found = None
    if full_text and entity.full_text is not None and search and search.strip():
        # ranked: the hits (id, score) are joined, the row filter stays in the same WHERE
        found = store.full_text(actor, entity, search)
        if found is None:
            return None
        search = None
    where = store.where(actor, entity, filters, search, search_fields, parent, full_text=full_text)
    if where is None:
        return None
    source: sa.FromClause = table
    if found is not None:
        where = sa.and_(where, found.where)
        source = table.join(found.hits, found.hits.c.id == table.c.id)
    order: list[sa.ColumnElement[Any]]
    if found is not None and not sort:
        order = [found.hits.c.score.desc()]  # by relevance unless the reader sorts
    else:
        order = store.order_by(actor, entity, sort)
    flags = store._flags(actor, entity)
    joins = title_joins(
        store.model, store.tables, store.policy, actor, entity, titles, store._aliases
    )
    query = (
        sa.select(
            *store.columns(entity, fields),
            *(f.label(f"_g{i}") for i, (_, f) in enumerate(flags)),
            *(c for j in joins for c in (j.title, j.key)),
        )
        .select_from(joined_from(source, joins))
        .where(where)
        .order_by(*order, table.c.id)
        .limit(page_size + 1)
        .offset((page - 1) * page_size)
    )
    if count:
        # the bounded count rides in the same statement (an uncorrelated subquery, run once)
        inner = (
            sa.select(table.c.id).select_from(source).where(where).limit(count_limit + 1).subquery()
        )
        counted = sa.select(sa.func.count()).select_from(inner).scalar_subquery()
        query = query.add_columns(counted.label("_total"))
    mask = None if flags else store.policy.field_mask(actor, entity.name, "read")
    if found is not None:  # the plan's WHERE alone (a count past the last page) has the hits
        where = sa.and_(where, table.c.id.in_(sa.select(found.hits.c.id)))
    return ListPlan(query, table, where, tuple(flags), mask, tuple(joins))
