"""Evaluating declared lookups (`definition.lookups`) for records being written.

`load_lookups` sets `record[name]` for each lookup an entity's expressions read: the `value`
of the first record of the looked-up entity whose `match` fields equal the record's (its
own fields, or related paths already loaded by `related.load_related`), that passes `where`
and whose `valid` dates hold `today`, in `order_by` order — None when nothing matches. One
SELECT per lookup serves a whole batch of records (their match keys in one `IN` list).
`pick` is the same choice over candidates in memory (a seed check has no database).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, Final

import sqlalchemy as sa

from ..definition.lookups import Lookup
from ..definition.model import SYSTEM_COLUMNS, Entity, PortalModel
from .related import ref_id
from .tables import TableSet

#: Match keys per `IN` list (each key holds one value per matched field).
CHUNK: Final = 200


def load_lookups(
    conn: sa.Connection,
    model: PortalModel,
    tables: TableSet,
    entity: Entity,
    records: Sequence[MutableMapping[str, Any]],
    names: Iterable[str],
    today: dt.date,
) -> None:
    """Set `record[name]` for each lookup `name` of `entity` and each record."""
    for name in names:
        lookup = entity.lookups[name]
        target = model.entities[lookup.entity]
        keys = {_key(lookup, record) for record in records}
        keys.discard(None)
        candidates = _candidates(conn, tables, target, lookup, keys, today)
        for record in records:
            key = _key(lookup, record)
            found = pick(lookup, candidates.get(key, ()) if key is not None else (), today)
            record[name] = found


def pick(lookup: Lookup, candidates: Iterable[Mapping[str, Any]], today: dt.date) -> Any:
    """The lookup's value from the first candidate that passes `where` and `valid`."""
    fitting = [c for c in candidates if _where_holds(lookup, c) and _valid(lookup, c, today)]
    if not fitting:
        return None
    name, descending = lookup.order_by.lstrip("-"), lookup.order_by.startswith("-")
    present = [c for c in fitting if c.get(name) is not None]
    absent = [c for c in fitting if c.get(name) is None]
    present.sort(key=lambda c: (c[name], ref_id(c.get("id")) or 0), reverse=descending)
    return (present + absent)[0].get(lookup.value)


def _key(lookup: Lookup, record: Mapping[str, Any]) -> tuple[Any, ...] | None:
    values = tuple(ref_id(record.get(path)) for _, path in lookup.match)
    return None if any(v is None for v in values) else values


def _where_holds(lookup: Lookup, candidate: Mapping[str, Any]) -> bool:
    return all(_plain(candidate.get(name)) == value for name, value in lookup.where)


def _valid(lookup: Lookup, candidate: Mapping[str, Any], today: dt.date) -> bool:
    if not lookup.valid:
        return True
    start = candidate.get(lookup.valid[0])
    end = candidate.get(lookup.valid[1]) if len(lookup.valid) > 1 else None
    return (start is None or start <= today) and (end is None or today <= end)


def _plain(value: Any) -> Any:
    """A choice or ref value compared with a literal of the definition."""
    return ref_id(value)


def _candidates(
    conn: sa.Connection,
    tables: TableSet,
    target: Entity,
    lookup: Lookup,
    keys: Collection[tuple[Any, ...] | None],
    today: dt.date,
) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """The target's records per match key (`valid` starts narrowed in SQL already)."""
    found: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    if not keys:
        return found
    table = tables[target.name]
    matched = [name for name, _ in lookup.match]
    wanted = {
        *matched,
        lookup.value,
        lookup.order_by.lstrip("-"),
        *lookup.valid,
        *(name for name, _ in lookup.where),
    }
    fields = [target.fields[n] for n in sorted(wanted) if n in target.fields]
    columns = {table.c.id, *(table.c[n] for n in wanted if n in SYSTEM_COLUMNS)}
    for field in fields:
        columns.update(table.c[c] for c in field.columns)
    match_columns = [table.c[target.fields[name].columns[0]] for name in matched]
    ordered = sorted(k for k in keys if k is not None)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        condition = (
            sa.tuple_(*match_columns).in_(chunk)
            if len(match_columns) > 1
            else match_columns[0].in_([k[0] for k in chunk])
        )
        query = sa.select(*sorted(columns, key=lambda c: c.name)).where(condition)
        if lookup.valid:
            query = query.where(
                sa.or_(table.c[lookup.valid[0]].is_(None), table.c[lookup.valid[0]] <= today)
            )
        for row in conn.execute(query).mappings():
            stored = dict(row)
            values: dict[str, Any] = {n: stored[n] for n in wanted if n in SYSTEM_COLUMNS}
            values["id"] = stored["id"]
            for field in fields:
                values[field.name] = field.kind.from_storage(field, stored)
            found[tuple(ref_id(values.get(name)) for name in matched)].append(values)
    return found
