"""Rollups over whole tables: `recompute_all` brings a rollup field up to date on every parent
(deploys call it for rollups new in a version and after seeding), and `dependency_order` says
in which order several such fields are repaired (children before parents).

The per-write path is `rollups.after_write`; this module shares its aggregate and its
recomputation of stored computed fields, so a repaired value is the value a write would give.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..definition.fields import FieldValueError
from ..definition.model import PortalModel
from .permissions import Actor
from .rollup_sql import ForeignCurrency, reads, rollups_over
from .rollups import aggregate_field, recompute_stored
from .tables import utcnow

if TYPE_CHECKING:
    from .store import RecordStore

log = logging.getLogger(__name__)

#: Parents refreshed per statement batch by `recompute_all`.
BATCH = 500


def recompute_all(
    store: RecordStore, conn: sa.Connection, entity_name: str, field_name: str
) -> int:
    """Bring `entity.field` (a rollup) up to date on every parent; the number changed.

    For deploys (a rollup new in this version) and seeding. Parents whose children hold
    amounts in foreign currencies get no value (None) and a warning in the log; rules are
    not checked (the data is what it is). Stored computed fields follow the new values.
    """
    entity = store.model.entities[entity_name]
    field = entity.fields[field_name]
    if field.rollup is None:
        raise ValueError(f"{entity_name}.{field_name} is not a rollup")
    table = store.tables[entity.name]
    ids = [int(i) for i in conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars()]
    system = Actor.system()
    changed = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        query = sa.select(*store.columns(entity)).where(table.c.id.in_(chunk))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=table, key_share=True)
        for row in conn.execute(query).mappings().all():
            before = store.raw_values(entity, row)
            after = dict(before)
            try:
                after[field_name] = aggregate_field(
                    store, conn, field, field.rollup, int(before["id"]), before[field_name]
                )
            except (ForeignCurrency, FieldValueError) as exc:
                log.warning("%s #%s: %s left empty: %s", entity_name, row["id"], field_name, exc)
                after[field_name] = None
            names = {field_name} if after[field_name] != before[field_name] else set()
            if not names:
                continue
            names |= recompute_stored(entity, after, system, {}, int(before["id"]))
            columns: dict[str, Any] = {}
            for name in names:
                columns.update(
                    entity.fields[name].kind.to_storage(entity.fields[name], after[name])
                )
            conn.execute(
                table.update()
                .where(table.c.id == before["id"])
                .values(**columns, updated_at=utcnow())
            )
            changed += 1
    return changed


def dependency_order(
    model: PortalModel, fields: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """`fields` plus every rollup that reads them (transitively), children before parents."""
    wanted = set(fields)
    frontier = set(wanted)
    while frontier:
        found = set()
        for entity_name, name in frontier:
            for parent, field, rollup in rollups_over(model, entity_name):
                key = (parent.name, field.name)
                if name in reads(rollup) and key not in wanted:
                    found.add(key)
        wanted |= found
        frontier = found

    def depth(key: tuple[str, str], seen: frozenset[tuple[str, str]] = frozenset()) -> int:
        rollup = model.entities[key[0]].fields[key[1]].rollup
        if rollup is None or key in seen:
            return 0
        below = [
            depth((rollup.entity, n), seen | {key})
            for n in reads(rollup)
            if (rollup.entity, n) in wanted
        ]
        return 1 + max(below, default=0)

    rollups = [k for k in wanted if model.entities[k[0]].fields[k[1]].rollup is not None]
    return sorted(rollups, key=lambda k: (depth(k), k))
