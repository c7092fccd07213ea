"""What an edit of a draft would take from the live database, counted before it is saved.

The plan (`review`) reports the rows a destructive step puts at risk, but it needs a draft
without errors; removing a field that pages still use leaves errors until they are fixed.
The builder asks here first, with the planner's own row counter, so its confirmation can
say what publishing the removal would drop.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from ..definition.naming import table_name
from ..deploy.schema_diff import RowCounter


def live_rows(engine: sa.Engine, portal: str, entity: str) -> int:
    """The records of `entity` in the live table of `portal` (0 when it has no table)."""
    if not sa.inspect(engine).has_table(table_name(portal, entity)):
        return 0
    with engine.connect() as conn:
        return RowCounter(conn).total(table_name(portal, entity))


def live_values(engine: sa.Engine, portal: str, entity: str, columns: Sequence[str]) -> int:
    """How many records of `entity` have a value in any of `columns` (a field's columns)."""
    table = table_name(portal, entity)
    inspector = sa.inspect(engine)
    if not inspector.has_table(table):
        return 0
    live = {c["name"] for c in inspector.get_columns(table)}
    wanted = [c for c in columns if c in live]
    if not wanted:
        return 0
    query = sa.select(sa.func.count()).select_from(sa.table(table))
    query = query.where(sa.or_(*(sa.column(c).is_not(None) for c in wanted)))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
