"""Deploy-time repair of derived values: rollups and stored computed fields, in an order where
every field is recomputed after the fields it reads.

A rollup can read a stored computed field of its children that itself reads a rollup
(`account.balance = sum of invoice.open_amount`, `invoice.open_amount = total - paid`,
`invoice.total = sum of invoice_line.amount`): the order follows those links through computed
fields as well as through rollups, so after a deploy (or a `deploy --seed`, which repairs
every derived value) each one holds what its inputs say.

A repair raises no write event, so it runs no automation and writes no audit entry, unlike a
rollup refreshed by a child write (`data.rollup_events`): it brings derived data in line with
records that are already there, and nobody changed anything an automation should answer —
a seeded invoice whose payments cover it is not "paid just now".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.permissions import Actor
from ..data.rollup_recompute import BATCH, recompute_all
from ..data.rollup_sql import reads
from ..data.tables import utcnow
from ..definition.fields import FieldValueError
from ..definition.model import Field, PortalModel
from ..expr.expressions import EvaluationError

if TYPE_CHECKING:
    from ..data.store import RecordStore

log = logging.getLogger(__name__)

#: (entity, field)
FieldKey = tuple[str, str]


def derived_reads(entity: str, field: Field) -> frozenset[FieldKey]:
    """The fields a derived field is computed from: a rollup's child fields, a stored
    computed field's record keys; empty for other fields."""
    if field.rollup is not None:
        return frozenset((field.rollup.entity, name) for name in reads(field.rollup))
    if field.compute is not None and field.stored:
        return frozenset((entity, name) for name in field.compute.record_keys)
    return frozenset()


def derived_order(model: PortalModel, fields: Iterable[FieldKey] | None = None) -> list[FieldKey]:
    """`fields` (None: every rollup and stored computed field) plus every derived field that
    reads them, transitively; each after the derived fields it reads."""
    graph: dict[FieldKey, frozenset[FieldKey]] = {}
    for entity in model.entities.values():
        for field in entity.fields.values():
            inputs = derived_reads(entity.name, field)
            if inputs or field.compute is not None and field.stored:
                graph[(entity.name, field.name)] = inputs
    wanted = set(graph) if fields is None else {k for k in fields if k in graph}
    frontier = set(wanted)
    while frontier:
        found = {k for k, inputs in graph.items() if inputs & frontier and k not in wanted}
        wanted |= found
        frontier = found
    depths: dict[FieldKey, int] = {}

    def depth(key: FieldKey, seen: frozenset[FieldKey]) -> int:
        if key in depths:
            return depths[key]
        below = [depth(k, seen | {key}) for k in graph.get(key, ()) if k in graph and k not in seen]
        depths[key] = 1 + max(below, default=0)
        return depths[key]

    return sorted(wanted, key=lambda k: (depth(k, frozenset()), k))


def recompute_stored_all(store: RecordStore, conn: sa.Connection, entity_name: str) -> int:
    """Recompute every stored computed field of every row of an entity; the rows changed.

    A value that cannot be computed is left as it is, with a warning in the log (the data is
    what it is: a deploy does not fail on it).
    """
    entity = store.model.entities[entity_name]
    names = [n for n, f in entity.fields.items() if f.compute is not None and f.stored]
    if not names:
        return 0
    table = store.tables[entity.name]
    ids = [int(i) for i in conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars()]
    system = Actor.system()
    changed = 0
    for start in range(0, len(ids), BATCH):
        query = sa.select(*store.columns(entity)).where(table.c.id.in_(ids[start : start + BATCH]))
        for row in conn.execute(query).mappings().all():
            values = store.raw_values(entity, row)
            columns: dict[str, Any] = {}
            for name in names:
                field = entity.fields[name]
                assert field.compute is not None
                try:
                    value = field.kind.clean(
                        field, field.compute.evaluate(record=values, actor=system)
                    )
                except (EvaluationError, FieldValueError) as exc:
                    log.warning("%s #%s: %s not recomputed: %s", entity_name, row["id"], name, exc)
                    continue
                if value != values.get(name):
                    values[name] = value
                    columns.update(field.kind.to_storage(field, value))
            if columns:
                conn.execute(
                    table.update()
                    .where(table.c.id == row["id"])
                    .values(**columns, updated_at=utcnow())
                )
                changed += 1
    return changed


def repair(store: RecordStore, conn: sa.Connection, order: Iterable[FieldKey]) -> int:
    """Recompute the derived fields of `order` (from `derived_order`) on every row; the
    number of row updates."""
    changed = 0
    done_stored: set[str] = set()
    for entity_name, name in order:
        field = store.model.entities[entity_name].fields[name]
        if field.rollup is not None:
            changed += recompute_all(store, conn, entity_name, name)
            done_stored.discard(entity_name)  # its stored fields may read the new value
        elif entity_name not in done_stored:
            # one pass computes every stored field of the entity, in definition order
            changed += recompute_stored_all(store, conn, entity_name)
            done_stored.add(entity_name)
    return changed
