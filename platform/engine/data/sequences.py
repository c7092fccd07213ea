"""Gap-free numbers of sequence fields, taken inside the transaction that creates the record.

Each (portal, entity, field, period) has one counter row in `portalis_sequence` holding the
last number handed out. Taking a number is one `INSERT … ON CONFLICT DO UPDATE SET value =
value + 1 … RETURNING value`: the first record of a period creates the row with `start`,
later ones increment it. The statement locks the row until the transaction ends, so

- two concurrent creates never read the same value: on PostgreSQL the second waits for the
  first to commit (or roll back) and then increments what it left; on SQLite every write
  transaction begins with BEGIN IMMEDIATE (`db.begin_write`), so writers run one at a time;
- a create that fails after taking its number (a rule, a listener, a unique value, a crash)
  rolls the increment back with everything else: the next create gets the same number.

The price of gap-free numbers: creates of one numbered entity wait for each other's
transactions per period. The period is the record's creation date in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..definition.fieldtypes.sequence import SequenceConfig
from ..definition.model import Entity, PortalModel
from .system_tables import sequence_counters
from .tables import TableSet

_KEY = ("portal", "entity", "field", "period")


def next_number(
    conn: sa.Connection, portal: str, entity: str, field: str, period: str, start: int
) -> int:
    """Take the next number of one counter in `conn`'s transaction: `start` for the first
    record of the period, else one more than the last (at least `start`, so a raised
    `start` jumps ahead)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        insert: Any = postgresql.insert(sequence_counters)
    elif dialect == "sqlite":
        insert = sqlite.insert(sequence_counters)
    else:  # pragma: no cover - Portalis runs on these two
        raise NotImplementedError(f"sequence fields need PostgreSQL or SQLite, not {dialect}")
    following = sequence_counters.c.value + 1
    statement = (
        insert.values(portal=portal, entity=entity, field=field, period=period, value=start)
        .on_conflict_do_update(
            index_elements=list(_KEY),
            set_={"value": sa.case((following < start, start), else_=following)},
        )
        .returning(sequence_counters.c.value)
    )
    return int(conn.execute(statement).scalar_one())


def _sequences(entity: Entity) -> Iterator[tuple[str, SequenceConfig]]:
    for name, field in entity.fields.items():
        if field.kind.assigned and isinstance(field.config, SequenceConfig):
            yield name, field.config


def _take(
    conn: sa.Connection, portal: str, entity: str, field: str, config: SequenceConfig, at: datetime
) -> str:
    """The next number of `field` for a record created at `at` (SQLite's times are naive
    UTC), as text."""
    day = (at.astimezone(UTC) if at.tzinfo else at).date()
    number = next_number(conn, portal, entity, field, config.period(day), config.start)
    return config.format.render(number, day)


def assign_numbers(
    conn: sa.Connection, portal: str, entity: Entity, created_at: datetime
) -> dict[str, Any]:
    """The column values of every sequence field of a record created at `created_at`:
    each field's next number of the creation date's period, rendered by its format."""
    return {
        name: _take(conn, portal, entity.name, name, config, created_at)
        for name, config in _sequences(entity)
    }


def number_existing(conn: sa.Connection, model: PortalModel, tables: TableSet) -> int:
    """Number the records that have no number yet — created before their sequence field
    existed (deploy runs this) — oldest first, each in the period of its own creation date.
    Returns how many were numbered."""
    done = 0
    for entity in model.entities.values():
        table = tables[entity.name]
        for name, config in _sequences(entity):
            rows = conn.execute(
                sa.select(table.c.id, table.c.created_at)
                .where(table.c[name].is_(None))
                .order_by(table.c.created_at, table.c.id)
            ).all()
            for row in rows:
                number = _take(conn, model.slug, entity.name, name, config, row.created_at)
                conn.execute(table.update().where(table.c.id == row.id).values({name: number}))
            done += len(rows)
    return done


def counters(conn: sa.Connection, portal: str) -> Mapping[tuple[str, str, str], int]:
    """The last number of each (entity, field, period) counter of a portal (for admins and
    tests)."""
    rows = conn.execute(
        sa.select(
            sequence_counters.c.entity,
            sequence_counters.c.field,
            sequence_counters.c.period,
            sequence_counters.c.value,
        ).where(sequence_counters.c.portal == portal)
    )
    return {(r.entity, r.field, r.period): int(r.value) for r in rows}
