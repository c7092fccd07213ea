"""PostgreSQL's full-text index: one stored, weighted `tsvector` column per indexed field.

Each indexed field `f` of an entity gets a column `_fts_<f>_<hash>` (`vector_column`) holding
`setweight(to_tsvector(<language>, f), <weight class>)`, and the table gets one GIN index on the
concatenation of those columns. A search combines only the columns of the fields the actor may
read: the GIN index over all of them finds the candidates (a superset: the search is an AND
of words), the concatenation of the readable columns decides and ranks — reads of stored
vectors, no text parsed at query time, whichever fields a grant hides.

The columns are kept by a `BEFORE INSERT OR UPDATE` trigger in the write's own transaction,
whichever path writes. The trigger function reads the row as JSON (`to_jsonb(NEW)`) rather
than by column name, so that it never breaks in the middle of a migration that renames,
retypes or drops an indexed column before `sync` (at the end of the same migration) gives the
table its new columns, function and index. A column's name hashes its field's column, the
language and the weight class: when one of them changes, a new column is added and filled
and the old one dropped. The schema diff leaves `_fts_` columns alone (`is_vector_column`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from .index import SearchIndex

#: The prefix of the stored vector columns (no field name starts with `_`).
VECTOR_PREFIX = "_fts_"
#: The trigger that keeps a table's vector columns (one per table).
TRIGGER = "fts_search_vectors"


def is_vector_column(name: str) -> bool:
    """Whether a live column is a stored search vector (kept by `sync`, not a field)."""
    return name.startswith(VECTOR_PREFIX)


def vector_column(index: SearchIndex, column: str) -> str:
    """The name of the stored vector of `column` in `index` (within PostgreSQL's 63)."""
    weight = dict(index.columns)[column]
    text = repr((column, index.language, index.weight_class(weight)))
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{VECTOR_PREFIX}{column[:40]}_{digest}"


def index_name(index: SearchIndex) -> str:
    """The GIN index's name (another than the former expression index's, so a deploy swaps)."""
    digest = hashlib.sha1(f"{index.name}/stored".encode(), usedforsecurity=False).hexdigest()
    return f"fts_{index.table[:38]}_{digest[:12]}"


def _function_name(table: str) -> str:
    digest = hashlib.sha1(table.encode(), usedforsecurity=False).hexdigest()[:20]
    return f"fts_vectors_{digest}"


def stored_vector(
    index: SearchIndex, table: sa.Table, columns: Sequence[str] | None = None
) -> sa.ColumnElement[Any]:
    """The concatenation of the stored vectors of `columns` (default: all indexed ones, in
    the index's order — then the very expression of the GIN index)."""
    wanted = [c for c, _ in index.columns] if columns is None else list(columns)
    parts: list[sa.ColumnElement[Any]] = [
        sa.literal_column(f"{_quote(table.name)}.{_quote(vector_column(index, c))}")
        for c, _ in index.columns
        if c in wanted
    ]
    vector = parts[0]
    for part in parts[1:]:
        vector = vector.op("||")(part)
    return vector


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _vector_sql(index: SearchIndex, column: str, source: str) -> str:
    """SQL of the weighted vector of `column`, its text read by the SQL `source`."""
    weight = index.weight_class(dict(index.columns)[column])
    config = f"'{index.language}'::regconfig"
    return f"setweight(to_tsvector({config}, coalesce({source}, '')), '{weight}')"


def _function_sql(index: SearchIndex) -> str:
    steps = []
    for column, _ in index.columns:
        key = "'" + column.replace("'", "''") + "'"
        target = _quote(vector_column(index, column))
        steps.append(
            f"IF o IS NULL OR n->{key} IS DISTINCT FROM o->{key} THEN "
            f"NEW.{target} := {_vector_sql(index, column, f'n->>{key}')}; END IF;"
        )
    return (
        f"CREATE OR REPLACE FUNCTION {_quote(_function_name(index.table))}() "
        "RETURNS trigger LANGUAGE plpgsql AS $fn$ "
        "DECLARE n jsonb := to_jsonb(NEW); "
        "o jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END; "
        f"BEGIN {' '.join(steps)} RETURN NEW; END $fn$"
    )


def sync(conn: sa.Connection, tables: Mapping[str, sa.Table], wanted: list[SearchIndex]) -> None:
    """Make the live vector columns, triggers and GIN indexes those of `wanted`: add and fill
    new columns, drop stale ones, (re)create each table's trigger, swap changed indexes."""
    names = [t.name for t in tables.values()]
    by_table = {i.table: i for i in wanted}
    live_columns: dict[str, set[str]] = {}
    for table_name, column in conn.execute(
        sa.text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name LIKE '\\_fts\\_%' "
            "AND table_name = ANY(:tables)"
        ),
        {"tables": names},
    ).all():
        live_columns.setdefault(str(table_name), set()).add(str(column))
    live_indexes = conn.execute(
        sa.text(
            "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname LIKE 'fts\\_%' AND tablename = ANY(:tables)"
        ),
        {"tables": names},
    ).all()
    keep = {index_name(i) for i in wanted}
    for _, name in live_indexes:
        if name not in keep:
            conn.exec_driver_sql(f"DROP INDEX {_quote(name)}")
    for table_name in names:
        if table_name not in by_table:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {_quote(table_name)}")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {_quote(_function_name(table_name))}()")
    present = {name for _, name in live_indexes}
    for table_name in names:
        index = by_table.get(table_name)
        wanted_columns = {vector_column(index, c): c for c, _ in index.columns} if index else {}
        have = live_columns.get(table_name, set())
        for stale in sorted(have - set(wanted_columns)):
            conn.exec_driver_sql(f"ALTER TABLE {_quote(table_name)} DROP COLUMN {_quote(stale)}")
        if index is None:
            continue
        _sync_table(conn, index, wanted_columns, have, index_name(index) in present)


def _sync_table(
    conn: sa.Connection,
    index: SearchIndex,
    wanted_columns: Mapping[str, str],
    have: set[str],
    indexed: bool,
) -> None:
    table = _quote(index.table)
    missing = [v for v in wanted_columns if v not in have]
    for vector in missing:
        conn.exec_driver_sql(
            f"ALTER TABLE {table} ADD COLUMN {_quote(vector)} tsvector NOT NULL DEFAULT ''"
        )
    # the old trigger may still write columns that are gone: the fill runs without it
    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
    if missing:
        sets = ", ".join(
            f"{_quote(v)} = {_vector_sql(index, wanted_columns[v], _quote(wanted_columns[v]) + '::text')}"
            for v in missing
        )
        conn.exec_driver_sql(f"UPDATE {table} SET {sets}")
    conn.exec_driver_sql(_function_sql(index))
    conn.exec_driver_sql(
        f"CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {_quote(_function_name(index.table))}()"
    )
    if not indexed:
        columns = " || ".join(_quote(vector_column(index, c)) for c, _ in index.columns)
        conn.exec_driver_sql(
            f"CREATE INDEX {_quote(index_name(index))} ON {table} USING gin (({columns}))"
        )
