"""Loading the fields of referenced records that expressions read (`record.product.price`).

`load_related` fills, in each given record's values, the key of every path the entity's
expressions read (`Entity.reads`: "product.unit_price", "order.account.currency"), with the
value the referenced record holds — or None where the reference is empty or points nowhere.
It runs one SELECT per ref field and step, whatever the number of records, so a page of a
hundred order lines costs as many statements as a page of ten.

The reads use the engine's rights: no row filter applies. They serve values the engine
computes (compute, defaults, rule checks); what those values show a reader is held to the
field-mask rule when the definition is validated (`semantics.exposure`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, Final

import sqlalchemy as sa

from ..definition.model import SYSTEM_COLUMNS, Entity, PortalModel
from .computed import virtual_reads
from .tables import TableSet

#: Ids per `IN (...)` list: far below every database's limit on bound parameters.
CHUNK: Final = 500

Values = MutableMapping[str, Any]


def related_keys(values: Iterable[str]) -> tuple[str, ...]:
    """The keys among `values` that are related paths (they hold a dot)."""
    return tuple(key for key in values if "." in key)


#: Finds a loaded record by entity name and id (None when there is none).
Finder = Callable[[str, Any], Mapping[str, Any] | None]


def load_related(
    conn: sa.Connection,
    model: PortalModel,
    tables: TableSet,
    entity: Entity,
    records: Sequence[Values],
    paths: Collection[str],
) -> None:
    """Set `record[path]` for every path and record (None where nothing is referenced);
    keys without a dot (lookups) are not paths and are left alone."""
    paths = related_keys(paths)
    if not paths or not records:
        return
    find = prefetch(conn, model, tables, entity, records, paths)
    for record in records:
        fill_related(model, entity, record, paths, find)


def prefetch(
    conn: sa.Connection,
    model: PortalModel,
    tables: TableSet,
    entity: Entity,
    records: Sequence[Mapping[str, Any]],
    paths: Collection[str],
) -> Finder:
    """Load every record the paths reach from `records` (one SELECT per ref and step) and
    return a finder over them, for `fill_related`."""
    found: dict[tuple[str, Any], Values] = {}
    _prefetch(conn, model, tables, entity, records, paths, found)
    return lambda name, record_id: found.get((name, record_id))


def _prefetch(
    conn: sa.Connection,
    model: PortalModel,
    tables: TableSet,
    entity: Entity,
    records: Sequence[Mapping[str, Any]],
    paths: Collection[str],
    found: dict[tuple[str, Any], Values],
) -> None:
    by_ref: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        head, rest = path.split(".", 1)
        by_ref[head].add(rest)
    for ref, rests in by_ref.items():
        target = model.entities[str(getattr(entity.fields[ref].config, "to", ""))]
        ids = {ref_id(record.get(ref)) for record in records} - {None}
        loaded = _load(conn, tables, target, ids, rests)
        found.update(((target.name, key), values) for key, values in loaded.items())
        deeper = {rest for rest in rests if "." in rest}
        if deeper and loaded:
            _prefetch(conn, model, tables, target, list(loaded.values()), deeper, found)


def _load(
    conn: sa.Connection,
    tables: TableSet,
    target: Entity,
    ids: set[Any],
    rests: set[str],
) -> dict[Any, Values]:
    """The referenced rows by id, each with the fields the remaining paths start with."""
    if not ids:
        return {}
    table = tables[target.name]
    names = sorted({rest.split(".", 1)[0] for rest in rests})
    fields = [target.fields[name] for name in names if name in target.fields]
    columns = {table.c.id}
    columns.update(table.c[name] for name in names if name in SYSTEM_COLUMNS)
    for field in fields:
        columns.update(table.c[column] for column in field.columns)
    found: dict[Any, Values] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        query = sa.select(*sorted(columns, key=lambda c: c.name)).where(table.c.id.in_(chunk))
        for row in conn.execute(query).mappings():
            stored = dict(row)
            values: Values = {name: stored[name] for name in names if name in SYSTEM_COLUMNS}
            values["id"] = stored["id"]
            for field in fields:
                values[field.name] = field.kind.from_storage(field, stored)
            found[stored["id"]] = values
    return found


def ref_id(value: Any) -> Any:
    """The referenced id of a ref value (an int, or a record-like mapping with an id)."""
    if isinstance(value, MutableMapping):
        return value.get("id")
    return value


def fill_related(
    model: PortalModel, entity: Entity, record: Values, paths: Collection[str], find: Finder
) -> None:
    """Set `record[path]` from the records `find(entity name, id)` gives: loaded by
    `prefetch`, or planned ones (a seed check has no database)."""
    for path in paths:
        *refs, last = path.split(".")
        current_entity = entity
        current: Mapping[str, Any] | None = record
        for ref in refs:
            if current is None:
                break
            target = str(getattr(current_entity.fields[ref].config, "to", ""))
            current = find(target, ref_id(current.get(ref)))
            current_entity = model.entities[target]
        record[path] = None if current is None else current.get(last)


def page_related(
    conn: sa.Connection,
    model: PortalModel,
    tables: TableSet,
    entity: Entity,
    rows: Sequence[Mapping[str, Any]],
    mask: frozenset[str] | None = None,
    fields: Sequence[str] | None = None,
) -> Callable[[Mapping[str, Any]], dict[str, Any]] | None:
    """For a page of `rows`, the referenced records' fields its virtual fields (those of
    `fields`, all when None) read, loaded at once: one SELECT per reference and step. The
    function it returns gives each record the paths whose reference it shows — a reader who
    may not read `product` gets none of it. None when the page needs none."""
    paths = virtual_reads(entity, mask or None, fields)
    if not paths or not rows:
        return None
    find = prefetch(conn, model, tables, entity, rows, paths)

    def related(values: Mapping[str, Any]) -> dict[str, Any]:
        visible = [p for p in paths if p.split(".", 1)[0] in values]
        scratch = dict(values)
        fill_related(model, entity, scratch, visible, find)
        return {path: scratch[path] for path in visible}

    return related
