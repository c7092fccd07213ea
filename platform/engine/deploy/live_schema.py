"""The live schema of a portal's tables as planning reads it, and a cache of it for reviews.

`reflect(conn, prefix)` reads, in a few catalog queries (SQLAlchemy's multi-table reflection:
one query per kind on PostgreSQL), the columns, indexes, unique constraints and foreign keys
of every live table whose name starts with the portal's prefix — everything `schema_diff`
compares — into a `LiveSchema`. Planning counts rows separately, always against the database.

`LiveSchemas` keeps one reflected schema per portal for a process that reviews drafts again
and again (the builder): the schema only changes when a version is published or rolled back,
so it is keyed by the portal's live version and the time it went live (a rollback to the
same number moves that time), read from the portals table with every look-up. The deploy
never uses it: it plans against the database, inside its transaction too. A schema changed
by hand (outside a deploy) shows in a review once the portal is published again or `forget`
drops it; the deploy's own plan notices it either way (`PlanChanged`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..data.platform_tables import portals

#: What the reflection of one kind of item gives per table (SQLAlchemy's reflected dicts).
Reflected = Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class LiveTable:
    """One live table as reflected; `descending` gives, for SQLite's indexes (whose
    directions SQLAlchemy does not reflect), each key column's direction by index name.
    Read-only: a cached `LiveSchema` is shared by the reviews of a process."""

    columns: Reflected
    indexes: Reflected
    unique_constraints: Reflected
    foreign_keys: Reflected
    descending: Mapping[str, tuple[bool, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LiveSchema:
    """The live tables under `prefix` (name → `LiveTable`)."""

    prefix: str
    tables: Mapping[str, LiveTable]


def reflect(conn: sa.Connection, prefix: str) -> LiveSchema:
    """The live tables whose names start with `prefix`, as `schema_diff` compares them."""
    inspector = sa.inspect(conn)
    names = sorted(n for n in inspector.get_table_names() if n.startswith(prefix))
    if not names:
        return LiveSchema(prefix, {})
    columns = _by_name(inspector.get_multi_columns(filter_names=names))
    indexes = _by_name(inspector.get_multi_indexes(filter_names=names))
    uniques = _by_name(inspector.get_multi_unique_constraints(filter_names=names))
    keys = _by_name(inspector.get_multi_foreign_keys(filter_names=names))
    sqlite = conn.dialect.name == "sqlite"
    tables = {}
    for name in names:
        found = indexes.get(name, [])
        descending = {
            str(index["name"]): _sqlite_descending(conn, str(index["name"]))
            for index in found
            if sqlite and index["name"] is not None and index.get("column_sorting") is None
        }
        tables[name] = LiveTable(
            columns.get(name, []), found, uniques.get(name, []), keys.get(name, []), descending
        )
    return LiveSchema(prefix, tables)


def _by_name(reflected: Mapping[tuple[str | None, str], list[Any]]) -> dict[str, list[Any]]:
    return {name: items for (_schema, name), items in reflected.items()}


def _sqlite_descending(conn: sa.Connection, index: str) -> tuple[bool, ...]:
    """Per key column of a SQLite index, whether it descends."""
    quoted = conn.dialect.identifier_preparer.quote(index)
    rows = conn.exec_driver_sql(f"PRAGMA index_xinfo({quoted})").mappings().all()
    return tuple(bool(row["desc"]) for row in rows if row["key"])


#: What a portal's live schema is keyed by: (live version, when it went live), or None for
#: a portal that was never published.
LiveKey = tuple[int, datetime] | None


def live_key(conn: sa.Connection, slug: str) -> LiveKey:
    """The portal's live version and the time it went live (None before its first publish)."""
    row = conn.execute(
        sa.select(portals.c.live_version, portals.c.updated_at).where(portals.c.slug == slug)
    ).first()
    if row is None or row.live_version is None:
        return None
    return int(row.live_version), row.updated_at


class LiveSchemas:
    """Reflected live schemas per portal, reused while its live version stays the same (for
    reviews only; see the module's docstring). Safe to share between threads."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[LiveKey, str], LiveSchema]] = {}
        self._lock = threading.Lock()

    def get(self, engine: sa.Engine, slug: str, prefix: str) -> LiveSchema:
        """The live schema of portal `slug` (tables under `prefix`), reflected when its live
        version moved since the last call (or never was)."""
        with engine.connect() as conn:
            # the key is read before reflecting: a publish in between leaves a newer schema
            # under the older key, which the next look-up (seeing the new key) replaces
            key = (live_key(conn, slug), prefix)
            with self._lock:
                cached = self._entries.get(slug)
            if cached is not None and cached[0] == key:
                return cached[1]
            schema = reflect(conn, prefix)
        with self._lock:
            self._entries[slug] = (key, schema)
        return schema

    def forget(self, slug: str) -> None:
        """Drop the portal's schema: the next look-up reflects it again."""
        with self._lock:
            self._entries.pop(slug, None)
