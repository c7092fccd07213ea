"""Records from the rows of a list read.

A page of a list whose grants let the same fields through on every row (the common case: no
field restriction differs by row) yields the same fields from each row, and gets the same
computed fields; what to read is decided once for the page, then each row is read into its
record without a decision of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..definition.fields import FieldType
from ..definition.model import SYSTEM_COLUMNS, Entity
from .computed import compute_virtual, virtual_fields
from .permissions import Actor
from .rows import Record

#: The referenced records' fields (`product.unit_price`) a record's computed fields read.
Related = Callable[[Mapping[str, Any]], dict[str, Any]]


def wanted_virtual(entity: Entity, mask: frozenset[str], fields: Sequence[str] | None) -> list[str]:
    """The computed fields a record shows: readable under `mask` and asked for in `fields`."""
    return [n for n in virtual_fields(entity) if n in mask and (fields is None or n in fields)]


def masked_records(
    actor: Actor,
    entity: Entity,
    rows: Sequence[Mapping[Any, Any]],
    mask: frozenset[str],
    fields: Sequence[str] | None,
    loaders: Sequence[tuple[str, Any, Any]],
    related: Related | None = None,
) -> tuple[Record, ...]:
    """The records of `rows`, each yielding the fields `loaders` read (name, field, loader:
    the masked fields whose columns the rows have) and the computed fields it may show;
    `related` gives the referenced records' fields those read, per record."""
    wanted = wanted_virtual(entity, mask, fields)
    # a type that keeps its value in a column of the field's name as it is (most types) is
    # read by key; the others convert through their loader
    direct = (*SYSTEM_COLUMNS, *(name for name, _, load in loaders if _stored_as_is(load)))
    loading = tuple(item for item in loaders if not _stored_as_is(item[2]))
    records = []
    for row in rows:
        values = {name: row[name] for name in direct}
        for name, field, load in loading:
            values[name] = load(field, row)
        if wanted:
            # computed from the fields this actor may read on this row, never hidden ones
            extra = related(values) if related is not None else None
            computed = compute_virtual(entity, values, actor, extra)
            values.update({n: computed[n] for n in wanted if n in computed})
        records.append(Record(entity.name, values))
    return tuple(records)


def _stored_as_is(load: Any) -> bool:
    """True for the base type's loader: the value is the column of the field's name."""
    return getattr(load, "__func__", None) is FieldType.from_storage
