"""The full-text index of an entity in the database, and keeping it in step with deploys.

PostgreSQL: one stored weighted `tsvector` column per indexed field, built with the
language's text-search configuration and kept by a trigger, and a GIN index on them
(`pg_vectors`).

SQLite: an FTS5 table (`fts_<table>_<signature>`) whose columns hold the stems of the indexed
columns (`terms.stems`, the SQL function `portalis_search_terms` every Portalis connection
has), kept by insert, update and delete triggers on the entity's table — again inside every
write's transaction, whichever path writes.

`upkeep.sync` runs at the end of every migration (`migrations.apply`): it creates and fills the index of an entity that gained `search:` (or changed its fields, weights or
language: the signature in the name changes), drops the index of one that lost it, and
rebuilds SQLite's triggers after a table rebuild dropped them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ...definition.model import Entity
from .terms import SQL_FUNCTION

#: ts_rank's four weight classes, heaviest first.
WEIGHT_CLASSES = ("A", "B", "C", "D")


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """The full-text index of one table: (column, weight) in order, and the language."""

    table: str
    columns: tuple[tuple[str, int], ...]
    language: str

    @property
    def signature(self) -> str:
        """A short hash of what the index holds: a change needs a new index."""
        text = repr((self.columns, self.language))
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:10]

    @property
    def name(self) -> str:
        """SQLite's FTS5 table (PostgreSQL's names: `pg_vectors`)."""
        return f"fts_{self.table}_{self.signature}"

    def weight_class(self, weight: int) -> str:
        """`A` for the heaviest weight, then `B`, `C`, `D`."""
        distinct = sorted({w for _, w in self.columns}, reverse=True)
        return WEIGHT_CLASSES[distinct.index(weight)]

    def rank_weights(self) -> list[float]:
        """ts_rank's weights array (`{D, C, B, A}`) for the declared weights."""
        top = max(w for _, w in self.columns)
        by_class = {self.weight_class(w): w / top for _, w in self.columns}
        return [by_class.get(c, 0.0) for c in reversed(WEIGHT_CLASSES)]


def search_index(entity: Entity, table: str) -> SearchIndex | None:
    """The index an entity's `search:` asks for (None for a substring search)."""
    if entity.full_text is None:
        return None
    columns = tuple(
        (entity.fields[name].columns[0], weight) for name, weight in entity.full_text.fields
    )
    return SearchIndex(table, columns, entity.full_text.language)


# -- PostgreSQL ---------------------------------------------------------------------------
def regconfig(language: str) -> sa.ColumnElement[Any]:
    """The text-search configuration as a literal (an index expression cannot be a parameter)."""
    if not language.isalpha():  # pragma: no cover - names come from `full_text.LANGUAGES`
        raise ValueError(f"bad text-search language {language!r}")
    return sa.literal_column(f"'{language}'::regconfig")


# -- SQLite -------------------------------------------------------------------------------
_TRIGGERS = ("ai", "au", "ad")


def sqlite_sync(conn: sa.Connection, wanted: list[SearchIndex], prefix: str) -> None:
    """Make the live FTS5 tables and triggers of the portal with `prefix` those of `wanted`."""
    quote = conn.dialect.identifier_preparer.quote
    rows = conn.exec_driver_sql(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger') "
        "AND name LIKE ? ESCAPE '\\'",
        ("fts\\_" + prefix.replace("_", "\\_") + "%",),
    ).all()
    live_tables = {n for t, n in rows if t == "table" and not _shadow(n)}
    live_triggers = {n for t, n in rows if t == "trigger"}
    keep = {
        i.name
        for i in wanted
        if i.name in live_tables and all(f"{i.name}_{t}" in live_triggers for t in _TRIGGERS)
    }
    for name in live_tables - keep:
        conn.exec_driver_sql(f"DROP TABLE {quote(name)}")
    for name in live_triggers:
        if name.rsplit("_", 1)[0] not in keep:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {quote(name)}")
    for index in wanted:
        if index.name not in keep:
            _sqlite_create(conn, index)


def _shadow(name: str) -> bool:
    return name.rsplit("_", 1)[-1] in ("data", "idx", "content", "docsize", "config")


def _sqlite_create(conn: sa.Connection, index: SearchIndex) -> None:
    quote = conn.dialect.identifier_preparer.quote
    fts, table = quote(index.name), quote(index.table)
    names = [c for c, _ in index.columns]
    cols = ", ".join(quote(c) for c in names)
    lang = f"'{index.language}'"

    def stems(row: str) -> str:
        return ", ".join(f"{SQL_FUNCTION}({lang}, {row}.{quote(c)})" for c in names)

    insert = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {stems('new')});"
    delete = f"DELETE FROM {fts} WHERE rowid = old.id;"
    conn.exec_driver_sql(f"CREATE VIRTUAL TABLE {fts} USING fts5({cols})")
    conn.exec_driver_sql(
        f"CREATE TRIGGER {quote(index.name + '_ai')} AFTER INSERT ON {table} BEGIN {insert} END"
    )
    conn.exec_driver_sql(
        f"CREATE TRIGGER {quote(index.name + '_ad')} AFTER DELETE ON {table} BEGIN {delete} END"
    )
    conn.exec_driver_sql(
        f"CREATE TRIGGER {quote(index.name + '_au')} AFTER UPDATE OF {cols} ON {table} "
        f"BEGIN {delete} {insert} END"
    )
    conn.exec_driver_sql(f"INSERT INTO {fts}(rowid, {cols}) SELECT id, {stems(table)} FROM {table}")


def fts_table(index: SearchIndex) -> sa.TableClause:
    """SQLite's FTS5 table of `index` as a selectable (`rowid` and the indexed columns)."""
    return sa.table(index.name, sa.column("rowid"), *(sa.column(c) for c, _ in index.columns))
