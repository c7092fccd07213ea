"""The SQL side of rollups: which rollups read an entity, and one parent's aggregate.

`aggregate` computes a rollup for one parent with ONE SELECT over the children (exact: never
an increment). Decimal and money columns are exact on both databases (SQLite stores them as
whole smallest units, see `fieldtypes.exact`), so `SUM` adds them exactly there too. Money is
added per currency: children in another currency than the parent field's raise
`ForeignCurrency` instead of being added up.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..definition.fieldtypes.money import Money, MoneyConfig
from ..definition.model import Entity, Field, PortalModel, Rollup
from .tables import TableSet


class ForeignCurrency(Exception):
    """Children of a money rollup hold amounts in other currencies than the parent field's."""

    def __init__(self, currencies: Iterable[str]) -> None:
        self.currencies = tuple(sorted(currencies))
        super().__init__(", ".join(self.currencies))


def rollups_over(model: PortalModel, child: str) -> list[tuple[Entity, Field, Rollup]]:
    """Every rollup field of the model that aggregates records of entity `child`."""
    return [
        (entity, field, field.rollup)
        for entity in model.entities.values()
        for field in entity.fields.values()
        if field.rollup is not None and field.rollup.entity == child
    ]


def empty_value(field: Field) -> Any:
    """What a rollup field holds while there are no children: 0, Money 0 or None."""
    rollup = field.rollup
    if rollup is None or rollup.aggregate in ("min", "max"):
        return None
    if field.type == "money":
        return Money(Decimal(0), currency_of(field))
    return field.kind.clean(field, 0)


def reads(rollup: Rollup) -> frozenset[str]:
    """The child fields whose change can change the rollup: via, aggregated, where."""
    names = {rollup.via, *(name for name, _ in rollup.where)}
    if rollup.field is not None:
        names.add(rollup.field)
    return frozenset(names)


def aggregate(
    conn: sa.Connection,
    model: PortalModel,
    tables: TableSet,
    field: Field,
    rollup: Rollup,
    parent_id: int,
) -> Any:
    """The rollup's value for one parent, from one aggregate SELECT, cleaned by the field.

    Raises ForeignCurrency (money children in other currencies) or FieldValueError (the
    value does not fit the parent field, e.g. past its `max`).
    """
    child = model.entities[rollup.entity]
    table = tables[child.name]
    via = table.c[child.fields[rollup.via].columns[0]]
    where = [via == parent_id, *_where(child, table, rollup)]
    if rollup.field is None:
        count = conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))
        return field.kind.clean(field, int(count.scalar_one()))
    source = child.fields[rollup.field]
    column = table.c[source.columns[0]]
    if rollup.aggregate == "count":  # children that have a value
        count = conn.execute(sa.select(sa.func.count(column)).where(*where))
        return field.kind.clean(field, int(count.scalar_one()))
    value_sql = _aggregate_sql(rollup.aggregate, column)
    if source.type != "money":
        value = conn.execute(sa.select(value_sql).where(*where)).scalar_one()
        return _result(field, value)
    currency = table.c[source.columns[1]]
    rows = conn.execute(
        sa.select(currency, value_sql).where(*where, column.is_not(None)).group_by(currency)
    ).all()
    target = currency_of(field) if field.type == "money" else None
    if isinstance(field.config, MoneyConfig) and field.config.currency_from:
        # the parent's currency comes from its context: its children share one currency
        codes = {str(code) for code, _ in rows if code is not None}
        if len(codes) > 1:
            raise ForeignCurrency(codes)
        target = codes.pop() if codes else None
    foreign = {str(code) for code, _ in rows if code is not None and code != target}
    if target is not None and foreign:
        raise ForeignCurrency(foreign)
    value = next((v for code, v in rows if code == target or target is None), None)
    if value is not None and target is not None and field.type == "money":
        value = Money(_decimal(value), target)
    return _result(field, value)


def _aggregate_sql(kind: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    # sum, min and max take the column's type, whose result processing reads exact values
    if kind == "min":
        return sa.func.min(column)
    if kind == "max":
        return sa.func.max(column)
    return sa.func.sum(column)


def _result(field: Field, value: Any) -> Any:
    if value is None:
        return empty_value(field)
    if field.type == "money" and not isinstance(value, Money):
        value = Money(_decimal(value), currency_of(field))
    elif field.type != "money" and isinstance(value, Money):
        value = value.amount
    return field.kind.clean(field, value)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _where(child: Entity, table: sa.Table, rollup: Rollup) -> list[sa.ColumnElement[bool]]:
    """SQL for `where: {field: value}` (values cleaned like list filters)."""
    clauses: list[sa.ColumnElement[bool]] = []
    for name, raw in rollup.where:
        field = child.fields[name]
        value = field.kind.clean(field, raw)
        if value is None:
            clauses.append(sa.and_(*(table.c[c].is_(None) for c in field.columns)))
            continue
        clause = field.kind.filter_clause(field, table, value)
        if clause is None:
            stored = field.kind.to_storage(field, value)
            clause = sa.and_(*(table.c[c] == v for c, v in stored.items()))
        clauses.append(clause)
    return clauses


def currency_of(field: Field) -> str:
    """The currency a money field adds up in (its own or the portal's)."""
    return str(getattr(field.config, "currency", "") or "")
