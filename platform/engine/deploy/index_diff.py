"""The index steps of a migration plan: what the target wants, what is live, who made it.

Indexes are compared by their key columns, each column's direction and uniqueness; a live
index that matches a wanted one serves it, whatever its name. Only indexes Portalis made —
named `ix_<table>__…`/`uq_<table>__…` (`naming.is_portalis_index`) — are dropped or renamed:
an index someone else added survives deploys and stays out of the plan, unless the plan drops
a column it covers (the database would drop it with the column; the plan says so first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from ..definition.naming import constraint_name, is_portalis_index
from .live_schema import LiveTable
from .schema_ops import CREATE_INDEX, DROP_INDEX, DROP_UNIQUE, RENAME_INDEX, SchemaOp


def given_name(value: object) -> str | None:
    """A constraint's or index's own name; None when unnamed (SQLAlchemy's sentinel)."""
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """An index or unique constraint the target wants; `descending` per column."""

    name: str
    columns: tuple[str, ...]
    unique: bool
    descending: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if not self.descending:
            object.__setattr__(self, "descending", (False,) * len(self.columns))

    def same_keys(self, other: IndexSpec) -> bool:
        """True when both index the same columns in the same directions, alike in uniqueness."""
        return (self.columns, self.descending, self.unique) == (
            other.columns,
            other.descending,
            other.unique,
        )

    def text(self) -> str:
        """`(account, updated_at DESC, id)`, with `UNIQUE ` in front for a unique index."""
        parts = (c + (" DESC" if d else "") for c, d in zip(self.columns, self.descending))
        return ("UNIQUE " if self.unique else "") + f"({', '.join(parts)})"


def _key_columns(index: sa.Index) -> list[tuple[str, bool]] | None:
    """`(column, descending)` per key of `index`; None for an expression index."""
    out = []
    for expr in index.expressions:
        descending = False
        if isinstance(expr, UnaryExpression) and expr.modifier is operators.desc_op:
            expr, descending = expr.element, True
        if not isinstance(expr, sa.Column):
            return None  # expression indexes are not managed
        out.append((expr.name, descending))
    return out


def target_indexes(table: sa.Table) -> list[IndexSpec]:
    """The target table's indexes and unique constraints (a unique constraint is kept as a
    unique index when it is added to an existing table)."""
    specs: list[IndexSpec] = []
    for index in sorted(table.indexes, key=lambda i: given_name(i.name) or ""):
        keys = _key_columns(index)
        if keys is not None:
            columns = tuple(c for c, _ in keys)
            name = given_name(index.name) or constraint_name("ix", table.name, columns)
            specs.append(IndexSpec(name, columns, bool(index.unique), tuple(d for _, d in keys)))
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            columns = tuple(c.name for c in constraint.columns)
            name = given_name(constraint.name) or constraint_name("uq", table.name, columns)
            specs.append(IndexSpec(name, columns, True))
    return specs


@dataclass(frozen=True, slots=True)
class _LiveIndex:
    """A live index: as the target would spell it (renamed columns under their new names),
    its live column names, whether it is a unique constraint and whether Portalis made it."""

    spec: IndexSpec
    live_columns: tuple[str, ...]
    constraint: bool
    mine: bool


def index_ops(
    reflected: LiveTable,
    table: sa.Table,
    back: Mapping[str, str],
    dropped: set[str],
) -> Iterable[SchemaOp]:
    """The index steps for a live `table`: drops (Portalis's own, and others' on `dropped`
    columns), then creates, then renames. `back` maps renamed live columns to new names."""
    live = _live_indexes(reflected, table.name, back)
    used: set[int] = set()
    creates: list[SchemaOp] = []
    renames: list[SchemaOp] = []
    for spec in target_indexes(table):
        found = [i for i, e in enumerate(live) if i not in used and e.spec.same_keys(spec)]
        if not found:
            creates.append(SchemaOp(CREATE_INDEX, table.name, detail=spec.text(), name=spec.name))
            continue
        same_name = [i for i in found if live[i].spec.name == spec.name]
        mine = [i for i in found if live[i].mine]
        entry = live[(same_name or mine or found)[0]]
        used.add(live.index(entry))
        if entry.mine and not entry.constraint and entry.spec.name != spec.name:
            renames.append(
                SchemaOp(
                    RENAME_INDEX,
                    table.name,
                    detail=spec.text(),
                    name=spec.name,
                    previous=entry.spec.name,
                )
            )
    for i, entry in enumerate(live):
        if i in used:
            continue
        label = entry.spec.name
        if entry.constraint:
            detail = f"({', '.join(entry.spec.columns)})"
            yield SchemaOp(DROP_UNIQUE, table.name, detail=detail, name=label)
        elif entry.mine:
            yield SchemaOp(DROP_INDEX, table.name, detail=entry.spec.text(), name=label)
        elif set(entry.live_columns) & dropped:
            gone = ", ".join(sorted(set(entry.live_columns) & dropped))
            detail = f"{entry.spec.text()}, not made by Portalis, on dropped {gone}"
            yield SchemaOp(DROP_INDEX, table.name, detail=detail, name=label)
    yield from creates
    yield from renames


def _live_indexes(reflected: LiveTable, table: str, back: Mapping[str, str]) -> list[_LiveIndex]:
    """The table's live indexes and unique constraints."""
    out = []
    for index in reflected.indexes:
        name = index["name"]
        if index.get("duplicates_constraint") or name is None:
            continue  # PostgreSQL's index behind a unique constraint, listed below
        raw = tuple(c or "" for c in index["column_names"])
        sorting = index.get("column_sorting")
        found = reflected.descending.get(name)
        if found is not None:
            descending = found
        else:
            descending = tuple("desc" in (sorting or {}).get(c, ()) for c in raw)
        columns = tuple(back.get(c, c) for c in raw)
        spec = IndexSpec(name, columns, bool(index["unique"]), descending)
        out.append(_LiveIndex(spec, raw, False, is_portalis_index(name, table)))
    for unique in reflected.unique_constraints:
        raw = tuple(unique["column_names"])
        columns = tuple(back.get(c, c) for c in raw)
        # SQLite's unique constraints are unnamed; batch mode names them by convention.
        label = unique["name"] or f"uq_{table}__{'_'.join(columns)}"
        out.append(_LiveIndex(IndexSpec(label, columns, True), raw, True, True))
    return out
