"""Titles of referenced records joined into a list query, so the list's row filter runs once.

A list showing a reference column (a ticket's `account`) shows the referenced record's title.
`title_joins` plans one LEFT JOIN per such column, on an alias of the referenced table (the
list's own WHERE may hold a subquery on that table, and a reference may point to its own
entity), with exactly the rules of `ReadStore.titles`: the referenced row joins only where the
actor may read it (its read row filter is part of the ON clause) and its title only where the
title field is readable on that row (else NULL, shown as `#id`). `created_by` joins the author's
name without the read filter, like `titles(..., names_only=True)`.

A column whose title needs more than SQL — a computed title field, or a row filter with a
subquery (a `parent` scope, which must not correlate with the list's own tables) — is not
planned; the caller loads those titles with `ReadStore.titles` as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.util import ClauseAdapter

from ..definition.model import Entity, PortalModel
from .computed import queryable
from .permissions import Actor, Policy
from .rows import Record
from .tables import TableSet


@dataclass(frozen=True, slots=True)
class TitleJoin:
    """One joined reference column: its alias, ON clause and selected title and key."""

    name: str
    target: Entity
    alias: sa.FromClause
    on: sa.ColumnElement[bool]
    title: sa.ColumnElement[Any]
    key: sa.ColumnElement[Any]


def title_joins(
    model: PortalModel,
    tables: TableSet,
    policy: Policy,
    actor: Actor,
    entity: Entity,
    names: Sequence[str],
    aliases: dict[tuple[str, str], sa.FromClause],
) -> list[TitleJoin]:
    """The joins for the reference columns `names` of `entity` that SQL alone can title.

    `aliases` keeps the alias of each (entity, column) across calls: an alias builds its
    column collection on first use, which would otherwise cost more than the join saves.
    """
    table = tables[entity.name]
    joins = []
    for i, name in enumerate(names):
        if name == "created_by":
            target_name, names_only, column = "user", True, "created_by"
        else:
            field = entity.fields.get(name)
            if field is None or field.type != "ref" or not field.stored:
                continue
            target_name, names_only = str(getattr(field.config, "to", "")), False
            column = field.columns[0]
        target = model.entities.get(target_name)
        if target is None or not _joinable(policy, actor, target, names_only):
            continue
        alias = aliases.get((entity.name, name))
        if alias is None:
            alias = aliases[(entity.name, name)] = tables[target.name].alias(f"_r_{name}")
        adapt = ClauseAdapter(alias).traverse
        on = alias.c.id == table.c[column]
        title_field = target.title_field
        title: sa.ColumnElement[Any] = alias.c[title_field] if title_field else alias.c.id
        if not names_only:
            on = sa.and_(on, adapt(policy.row_filter(actor, target.name, "read")))
            if title_field:
                readable = policy.readable_clause(actor, target.name, title_field)
                if not isinstance(readable, sa.sql.elements.True_):
                    title = sa.case((adapt(readable), title), else_=sa.null())
        joins.append(
            TitleJoin(name, target, alias, on, title.label(f"_t{i}"), alias.c.id.label(f"_k{i}"))
        )
    return joins


def _joinable(policy: Policy, actor: Actor, target: Entity, names_only: bool) -> bool:
    if target.title_field and not queryable(target, target.title_field):
        return False
    if names_only:
        return True
    return all(g.scope.kind != "parent" for g in policy.grants_for(actor, target.name, "read"))


def joined_from(table: sa.FromClause, joins: Sequence[TitleJoin]) -> sa.FromClause:
    """`table` LEFT JOINed to every planned alias."""
    source: sa.FromClause = table
    for join in joins:
        source = source.outerjoin(join.alias, join.on)
    return source


def read_titles(
    joins: Sequence[TitleJoin],
    rows: Sequence[Mapping[Any, Any]],
    records: Sequence[Record],
) -> dict[str, dict[int, str]]:
    """Per joined column, the titles of the ids the records show (masked values show none)."""
    titles: dict[str, dict[int, str]] = {}
    for join in joins:
        found: dict[int, str] = {}
        key, title, field = join.key.key, join.title.key, join.target.title_field or "id"
        for row, record in zip(rows, records, strict=False):
            ref = record.values.get(join.name)
            if ref is None or ref in found:  # rows often name the same record
                continue
            if row[key] is not None:
                found[int(ref)] = join.target.title_of({field: row[title], "id": row[key]})
        titles[join.name] = found
    return titles
