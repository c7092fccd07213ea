"""Aggregates over the records an actor may read: count, sum, avg, min and max of a field,
narrowed by `where` filters, grouped by a field or by time buckets of a date field.

One SELECT per aggregate, whatever the number of rows or groups. The WHERE is the list
query's (`RecordQuery.where`: the actor's row filter AND the filters), and a field hidden on a
row counts as empty there, as everywhere else. Money is never added across currencies: its
aggregates group by the field's currency column as well and come back as one `Money` per
currency and group. Sums are built on the column objects, so the column's type (and how it
stores amounts) decides the result type; averages are sum / count in Decimal, exact and
combinable across currencies (`exchange.convert`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Final

import sqlalchemy as sa

from ..definition.fieldtypes.money import Money, currency_places
from ..definition.model import Entity
from .errors import BadQuery
from .permissions import Actor
from .query import RecordQuery
from .time_buckets import BUCKETS, bucket_day, bucket_sql

#: What an aggregate computes.
FUNCTIONS: Final = ("count", "sum", "avg", "min", "max")
#: Field types each function takes (count takes none).
NUMERIC: Final = ("int", "decimal", "money")
ORDERED: Final = (*NUMERIC, "date", "datetime")
#: Room for exact sums and quotients of NUMERIC(18, 4) amounts.
EXACT: Final = Context(prec=60)


@dataclass(frozen=True, slots=True)
class AggregateSpec:
    """What to aggregate: `function` of `field` over records matching `where` (field → value,
    AND-ed), grouped by the values of `group_by` or, with `bucket`, by its time buckets."""

    function: str = "count"
    field: str | None = None
    group_by: str | None = None
    bucket: str | None = None
    where: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """One row of the SELECT: a group (a value, a bucket's first day or None), the currency
    (money only), the aggregate (for avg: the sum) and the number of values aggregated."""

    group: Any
    currency: str | None
    value: Any
    count: int


def aggregate_select(
    query: RecordQuery, actor: Actor, entity: Entity, dialect: str, spec: AggregateSpec
) -> sa.Select[Any]:
    """The SELECT of (group, currency, value, count) rows; BadQuery for what the actor may
    not aggregate, filter or group by."""
    if spec.function not in FUNCTIONS:
        raise BadQuery(f"unknown aggregate {spec.function!r}")
    table = query.tables[entity.name]
    where = query.where(actor, entity, spec.where, None, None, None)
    if where is None:  # the actor reads none of these records
        where = sa.false()
    group = _group(query, actor, entity, dialect, spec)
    money = None
    if spec.function == "count":
        value: sa.ColumnElement[Any] = sa.func.count()
        count: sa.ColumnElement[Any] = sa.func.count()
    else:
        column, money = _value_column(query, actor, entity, spec)
        if spec.function in ("sum", "avg"):
            value = sa.func.sum(column)
        else:
            value = getattr(sa.func, spec.function)(column)
        count = sa.func.count(column)
    keys = [group if group is not None else sa.null(), money if money is not None else sa.null()]
    select = sa.select(*keys, value, count).select_from(table).where(where)
    grouped = [k for k in (group, money) if k is not None]
    if not grouped:
        return select
    return select.group_by(*grouped).order_by(*grouped)


def _value_column(
    query: RecordQuery, actor: Actor, entity: Entity, spec: AggregateSpec
) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any] | None]:
    """The aggregated column (NULL where hidden) and, for money, its currency column."""
    name = spec.field
    mask = query.policy.field_mask(actor, entity.name, "read")
    field = entity.fields.get(name or "")
    allowed = NUMERIC if spec.function in ("sum", "avg") else ORDERED
    value = query.value_sql(entity, field.name) if field is not None else None
    if field is None or name not in mask or value is None:
        raise BadQuery(f"cannot {spec.function} {name!r}")
    if field.type not in allowed:
        raise BadQuery(f"cannot {spec.function} {name!r} ({field.type})")
    table = query.tables[entity.name]
    column = query._where_readable(actor, entity, field.name, value)
    if field.type != "money":
        return column, None
    return column, query._where_readable(actor, entity, field.name, table.c[field.columns[1]])


def _group(
    query: RecordQuery, actor: Actor, entity: Entity, dialect: str, spec: AggregateSpec
) -> sa.ColumnElement[Any] | None:
    name = spec.group_by
    if name is None:
        return None
    mask = query.policy.field_mask(actor, entity.name, "read")
    field = entity.fields.get(name)
    column: Any = query.value_sql(entity, name) if field is not None else None
    if field is None or name not in mask or column is None:
        raise BadQuery(f"cannot group by {name!r}")
    if spec.bucket is not None:
        if spec.bucket not in BUCKETS or field.type not in ("date", "datetime"):
            raise BadQuery(f"cannot group {name!r} by {spec.bucket!r}")
        column = bucket_sql(dialect, spec.bucket, column, field.type)
    return query._where_readable(actor, entity, name, column)


def read_parts(rows: Any, spec: AggregateSpec) -> list[Part]:
    """The SELECT's rows as parts (bucket keys as dates, values as given)."""
    parts = []
    for group, currency, value, count in rows:
        if spec.bucket is not None:
            group = bucket_day(group)
        parts.append(Part(group, currency, value, int(count or 0)))
    return parts


def decimal(value: Any) -> Decimal:
    """An exact Decimal of a number from either database (a float's shortest repr: the
    NUMERIC column's own digits, never float arithmetic)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-even to the currency's minor units."""
    return amount.quantize(Decimal(1).scaleb(-currency_places(currency)), ROUND_HALF_EVEN)


def finish(
    parts: list[Part], spec: AggregateSpec, entity: Entity, default_currency: str
) -> list[tuple[Any, Any]]:
    """(group, value) rows: counts as int, sums of int fields as int, other numbers as
    Decimal, money as one `Money` per currency, min/max of dates as dates."""
    field = entity.fields.get(spec.field or "") if spec.function != "count" else None
    money = field is not None and field.type == "money"
    out: list[tuple[Any, Any]] = []
    for part in parts:
        if money and part.currency is None:
            continue  # no amount in this group (or none the actor may read)
        out.append((part.group, _value(part, spec.function, field, money)))
    if spec.group_by is None and not out:
        # one figure even without records: a sum is 0, an average or extreme unknown
        empty = Money(Decimal(0), default_currency) if money else 0
        out.append((None, empty if spec.function in ("count", "sum") else None))
    return out


def _value(part: Part, function: str, field: Any, money: bool) -> Any:
    if function == "count":
        return part.count
    if part.value is None:
        return 0 if function == "sum" else None
    if function in ("min", "max") and field.type in ("date", "datetime"):
        return part.value
    amount = decimal(part.value)
    if function == "avg":
        amount = EXACT.divide(amount, Decimal(part.count))
    if money:
        currency = str(part.currency)
        return Money(rounded(amount, currency) if function == "avg" else amount, currency)
    if field.type == "int" and function != "avg":
        return int(amount)
    return amount
