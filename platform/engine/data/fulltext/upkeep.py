"""Keeping the live full-text indexes in step with a portal's definition, on either database."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from . import pg_vectors
from .index import SearchIndex, sqlite_sync


def sync(
    conn: sa.Connection,
    tables: Mapping[str, sa.Table],
    indexes: Mapping[str, SearchIndex],
    prefix: str,
) -> None:
    """Make the live full-text indexes those of `indexes` (by entity): create and fill new
    ones, drop the ones no longer wanted (`index` for SQLite, `pg_vectors` for PostgreSQL)."""
    wanted = list(indexes.values())
    if conn.dialect.name == "sqlite":
        sqlite_sync(conn, wanted, prefix)
    else:
        pg_vectors.sync(conn, tables, wanted)
