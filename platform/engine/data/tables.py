"""SQLAlchemy Core tables for a compiled portal: one real table per entity.

Portals are isolated by a table-name prefix (`p_<slug>__<entity>`). Every table has the system
columns `id`, `created_at`, `updated_at`, `created_by` and `version` (optimistic locking).
The built-in `user` table also holds the authentication columns, which are never fields and
therefore never leave the record store. Virtual fields (`compute` with `stored: false`) have
no column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..definition.block_configs import ListBlock
from ..definition.fields import TableContext
from ..definition.model import Entity, PortalModel
from ..definition.naming import constraint_name, table_name, table_prefix
from .fulltext.index import SearchIndex, search_index
from .table_indexes import entity_index_keys

#: Columns of the user table that are not fields: they never appear in records.
USER_AUTH_COLUMNS = (
    "password_hash",
    "roles",
    "is_active",
    "password_changed_at",
    "last_login_at",
)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only time Portalis stores)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TableSet:
    """The tables of one compiled portal, by entity name."""

    metadata: sa.MetaData
    tables: Mapping[str, sa.Table]
    prefix: str
    #: full-text indexes by entity (`search: {fields: ...}`), kept by `fulltext.index.sync`
    search: Mapping[str, SearchIndex] = dataclass_field(default_factory=dict)

    def __getitem__(self, entity: str) -> sa.Table:
        return self.tables[entity]


def build_tables(model: PortalModel) -> TableSet:
    """Build the SQLAlchemy tables of `model` (pure: touches no database)."""
    metadata = sa.MetaData()
    names = {name: table_name(model.slug, name) for name in model.entities}
    ctx = TableContext(table_names=names)
    indexed = _indexed_fields(model)
    tables: dict[str, sa.Table] = {}
    user_table = names.get("user", table_name(model.slug, "user"))
    for entity in model.entities.values():
        columns: list[Any] = [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, default=utcnow),
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                default=utcnow,
                onupdate=utcnow,
            ),
            sa.Column(
                "created_by",
                sa.Integer,
                sa.ForeignKey(
                    f"{user_table}.id",
                    ondelete="SET NULL",
                    use_alter=True,
                    name=constraint_name("fk", names[entity.name], ("created_by",)),
                ),
                nullable=True,
            ),
            sa.Column("version", sa.Integer, nullable=False, default=1),
        ]
        for field in entity.fields.values():
            if field.stored:  # a virtual field is computed on read and has no column
                columns.extend(field.kind.columns(field, ctx))
        if entity.name == "user":
            columns.extend(_user_auth_columns())
        # AUTOINCREMENT on SQLite: a deleted record's id is never handed to a new record (links,
        # audit entries and sessions keep pointing at the old one). PostgreSQL sequences never
        # reuse ids anyway; SQLite cannot add it to an existing table, so older tables keep
        # their layout until a migration rebuilds them.
        table = sa.Table(names[entity.name], metadata, *columns, sqlite_autoincrement=True)
        _add_indexes(model, entity, table, indexed.get(entity.name, set()))
        tables[entity.name] = table
    search = {
        e.name: index
        for e in model.entities.values()
        if (index := search_index(e, names[e.name])) is not None
    }
    return TableSet(metadata, tables, table_prefix(model.slug), search)


def _user_auth_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("roles", sa.JSON, nullable=False, default=list),
        sa.Column("is_active", sa.Boolean, nullable=False, default=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    ]


def _ref_columns(entity: Entity) -> set[str]:
    out: set[str] = set()
    for field in entity.fields.values():
        if field.type == "ref" or field.indexed or field.unique:
            out.update(field.columns)
    return out


def _indexed_fields(model: PortalModel) -> dict[str, set[str]]:
    """Columns worth an index: declared sort and filter fields of list blocks."""
    out: dict[str, set[str]] = {}
    for page in model.pages.values():
        for block in page.blocks:
            cfg = block.config
            if not isinstance(cfg, ListBlock) or cfg.entity not in model.entities:
                continue
            entity = model.entities[cfg.entity]
            wanted = [cfg.sort.lstrip("-"), *cfg.filters]
            for name in wanted:
                field = entity.fields.get(name)
                if field is not None and field.kind.sortable:
                    out.setdefault(cfg.entity, set()).add(field.columns[0])
    return out


def _add_indexes(model: PortalModel, entity: Entity, table: sa.Table, indexed: set[str]) -> None:
    """Unique single-column indexes for unique fields; every other index from `table_indexes`
    (named by `constraint_name`, which marks them as made by Portalis)."""
    unique = {f.columns[0] for f in entity.fields.values() if f.unique}
    single = [
        name
        for name in sorted(indexed | _ref_columns(entity) | {"updated_at", "created_by"})
        if name in table.c and not table.c[name].primary_key
    ]
    for name in single:
        if name in unique:
            sa.Index(constraint_name("ix", table.name, (name,)), table.c[name], unique=True)
    taken: set[str | None] = {index.name for index in table.indexes}
    for key in entity_index_keys(model, entity, [n for n in single if n not in unique]):
        if not all(c in table.c for c in key.columns):
            continue  # a declared column without storage; the validator reports it
        if key.columns[0] == "id" or (len(key.columns) == 1 and key.columns[0] in unique):
            continue  # the primary key or the unique index already serves it
        name = constraint_name("ix", table.name, key.name_parts())
        if name in taken:  # two keys spelled alike (`a_desc` ascending, `a` descending)
            directions = "".join("d" if d else "a" for d in key.descending)
            name = constraint_name("ix", table.name, (*key.name_parts(), directions), hashed=True)
        taken.add(name)
        sa.Index(
            name,
            *(table.c[c].desc() if d else table.c[c] for c, d in zip(key.columns, key.descending)),
        )
