"""Computed fields the database evaluates (`stored: sql`): an expression compiled to SQL.

A `stored: sql` field has no column. Its expression — the same Python expression a virtual
field has — is compiled to a SQLAlchemy column expression over the entity's table and selected
with every row, so lists, filters, sorts and metrics read it like a column and it is never stale
(`today()` is the database's today, in UTC).

Only a subset of expressions has an exact SQL meaning; anything else is refused when the
definition is validated (`compute-not-sql`, located in the expression):

- fields of the record (`record['x']`, `record.x`, `record.get('x')`) of type bool, int,
  decimal, string, text, choice, email, date, datetime and ref (refs: `is None`, `==` an id),
  the system columns, and earlier `stored: sql` fields; stored fields of referenced records
  (`record.customer.tier`, a correlated subquery per step, read with the engine's rights
  like every related read); no money (an amount is two columns whose currencies SQL would
  have to match);
- literals; `== != < <= > >=` (chains too), `is None`, `is not None`, `in (literals)`;
  `and`, `or`, `not` on truth values; `x or default` (as Python: a 0 or '' is replaced too);
  `+ - *` on numbers; `a if c else b`;
- `today()`, `now()`, `days_since(date or datetime)`.

Decimals stay exact: on SQLite a decimal column holds whole units of 10**-scale (see
`fieldtypes.exact`), so arithmetic runs on those integers, each operand scaled to a common
scale; PostgreSQL's NUMERIC is exact as it is. Comparisons follow SQL: an empty operand makes
the result empty (as a virtual field whose expression fails is empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..definition.model import SYSTEM_COLUMNS, Entity
from ..expr.checks import ExpressionError
from .sql_operations import SqlCompiler
from .sql_reads import CODE, Sql, Tables

__all__ = ["CODE", "Sql", "Tables", "sql_columns", "sql_fields", "sql_problems"]


def sql_fields(entity: Entity) -> tuple[str, ...]:
    """Names of the entity's `stored: sql` fields, in definition order."""
    return tuple(name for name, field in entity.fields.items() if field.sql)


def sql_columns(
    entities: Mapping[str, Entity], entity: Entity, tables: Tables, dialect: str
) -> dict[str, sa.ColumnElement[Any]]:
    """The SQL of each `stored: sql` field of `entity` over its table, typed as the field's
    column so its value is read (and bound in filters) as the field's type. A referenced
    record's field is a correlated scalar subquery. Raise `ExpressionError` (code
    `compute-not-sql`) for an expression with no exact SQL form; `sql_problems` reports them
    all at validation."""
    done: dict[str, sa.ColumnElement[Any]] = {}
    for name in sql_fields(entity):
        compiler = SqlCompiler(entities, entity, tables, dialect, done)
        done[name] = compiler.field(entity.fields[name])
    return done


def sql_problems(entities: Mapping[str, Entity], entity: Entity) -> dict[str, ExpressionError]:
    """Why each `stored: sql` field of `entity` cannot be compiled (field name → error).

    Compiled for SQLite, whose unit-scaled decimals are the stricter case; the structure of
    the SQL is the same on PostgreSQL."""
    stand_ins = {
        e.name: sa.table(
            e.name,
            *(sa.column(n) for n in SYSTEM_COLUMNS),
            *(sa.column(n) for n, f in e.fields.items() if f.stored),
        )
        for e in entities.values()
    }
    done: dict[str, sa.ColumnElement[Any]] = {}
    problems: dict[str, ExpressionError] = {}
    for name in sql_fields(entity):
        try:
            compiler = SqlCompiler(entities, entity, stand_ins.__getitem__, "sqlite", done)
            done[name] = compiler.field(entity.fields[name])
        except ExpressionError as exc:
            problems[name] = exc
    return problems
