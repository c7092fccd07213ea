"""Executing a migration plan: each `SchemaOp` kind as Alembic operations, in a safe order.

Tables are created first, renames run before anything reads the new names, columns are added
before constraints tighten, and every in-place change of a table is one batch (a table rebuild
on SQLite, plain ALTERs on PostgreSQL). `migrations.apply` decides whether a plan may run; this
module only runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from ..data.db import is_sqlite
from ..data.tables import TableSet
from ..problems import PortalisError
from .index_diff import target_indexes
from .schema_diff import default_source, target_foreign_keys
from .schema_ops import (
    ADD_COLUMN,
    ADD_FOREIGN_KEY,
    ALTER_TYPE,
    CREATE_INDEX,
    CREATE_TABLE,
    DROP_COLUMN,
    DROP_FOREIGN_KEY,
    DROP_INDEX,
    DROP_NOT_NULL,
    DROP_TABLE,
    DROP_UNIQUE,
    RENAME_COLUMN,
    RENAME_INDEX,
    RENAME_VALUE,
    SET_NOT_NULL,
    Plan,
    SchemaOp,
)
from .schema_types import (
    canonical_type,
    compile_type,
    loss_condition,
    unit_conversions,
    zero_value,
)
from .value_renames import fits, move

#: Steps that change an existing table in place (one batch per table, a rebuild on SQLite).
_ALTER_KINDS = (
    DROP_FOREIGN_KEY,
    DROP_UNIQUE,
    ALTER_TYPE,
    DROP_NOT_NULL,
    SET_NOT_NULL,
    DROP_COLUMN,
    ADD_FOREIGN_KEY,
)


class MigrationFailed(PortalisError):
    """Applying a plan failed and was rolled back. Codes: `migration-failed` (the database
    refused a step), `lossy-conversion`, `no-fill-value`, `foreign-key-violation`."""

    code = "migration-failed"


class Executor:
    """Runs the steps of a plan on one connection, inside the caller's transaction (the
    caller — `migrations.apply` — has checked the plan is current and safe)."""

    def __init__(self, conn: sa.Connection, target: TableSet) -> None:
        self.conn = conn
        self.target = target
        self.tables = {table.name: table for table in target.tables.values()}
        self.op = Operations(MigrationContext.configure(conn))

    def run(self, plan: Plan) -> None:
        ops = plan.ops
        created = [self.tables[op.table] for op in ops if op.kind == CREATE_TABLE]
        if created:
            # create_all orders tables and breaks FK cycles (ALTER on PostgreSQL, inline on SQLite).
            self.target.metadata.create_all(self.conn, tables=created, checkfirst=False)
        for op in _of(ops, DROP_INDEX):
            self.op.drop_index(_named(op), table_name=op.table)
        for op in _of(ops, RENAME_COLUMN):
            # A plain ALTER on both databases (SQLite >= 3.25 renames in place, with indexes
            # and foreign keys), so later steps already see the new name.
            self.op.alter_column(op.table, str(op.previous), new_column_name=_column(op))
        tighten = self._add_columns(_of(ops, ADD_COLUMN))
        # A renamed value moves before its column changes type when it fits already (so a
        # narrowing sees only new values), after a widening otherwise.
        specs = {(v.table, v.column, v.old): v for v in plan.values}
        moves = [specs[(op.table, _column(op), str(op.previous))] for op in _of(ops, RENAME_VALUE)]
        early = [spec for spec in moves if fits(self.conn, spec)]
        for spec in early:
            move(self.conn, spec)
        for name in dict.fromkeys([*(op.table for op in ops if op.kind in _ALTER_KINDS), *tighten]):
            self._alter(
                self.tables[name], [op for op in ops if op.table == name], tighten.get(name, [])
            )
        for spec in moves:
            if spec not in early:
                move(self.conn, spec)
        self._drop_tables(_of(ops, DROP_TABLE))
        for op in _of(ops, CREATE_INDEX):
            self._create_index(op.table, _named(op))
        for op in _of(ops, RENAME_INDEX):
            if is_sqlite(self.conn):  # SQLite cannot rename an index
                self.op.drop_index(str(op.previous), table_name=op.table)
                self._create_index(op.table, _named(op))
            else:
                quote = self.conn.dialect.identifier_preparer.quote
                self.conn.exec_driver_sql(
                    f"ALTER INDEX {quote(str(op.previous))} RENAME TO {quote(_named(op))}"
                )

    def _create_index(self, table_name: str, name: str) -> None:
        """Create a target index or unique constraint (as a unique index) on a live table."""
        table = self.tables[table_name]
        index = next((i for i in table.indexes if i.name == name), None)
        if index is not None:
            index.create(self.conn)  # keeps each column's direction
            return
        spec = {s.name: s for s in target_indexes(table)}[name]
        self.op.create_index(spec.name, table_name, list(spec.columns), unique=spec.unique)

    def _add_columns(self, ops: list[SchemaOp]) -> dict[str, list[str]]:
        """Add columns; returns the NOT NULL ones that were added nullable, per table."""
        tighten: dict[str, list[str]] = {}
        for name in dict.fromkeys(op.table for op in ops):
            table = self.tables[name]
            later = []
            with self.op.batch_alter_table(name, recreate="auto") as batch:
                for op in (o for o in ops if o.table == name):
                    column = table.c[_column(op)]
                    # With a server default the database fills existing rows itself; otherwise
                    # add nullable, fill, then tighten (SQLite refuses NOT NULL without default).
                    direct = column.nullable or isinstance(column.server_default, sa.DefaultClause)
                    batch.add_column(
                        _bare_column(column, nullable=bool(column.nullable) or not direct)
                    )
                    if not direct:
                        later.append(column.name)
            for column_name in later:
                self._fill(table, column_name)
            if later:
                tighten[name] = later
        return tighten

    def _alter(self, table: sa.Table, ops: list[SchemaOp], tighten: list[str]) -> None:
        """One batch per table: plain ALTERs on PostgreSQL, a single rebuild on SQLite."""
        live_types = {c["name"]: c["type"] for c in sa.inspect(self.conn).get_columns(table.name)}
        for op in _of(ops, ALTER_TYPE):
            self._check_loss(table, _column(op), live_types[_column(op)])
        conversions = {
            _column(op): unit_conversions(
                canonical_type(live_types[_column(op)], self.conn.dialect),
                canonical_type(table.c[_column(op)].type, self.conn.dialect),
            )
            for op in _of(ops, ALTER_TYPE)
        }
        self._convert(table.name, {name: sql[0] for name, sql in conversions.items()})
        for op in _of(ops, SET_NOT_NULL):
            self._fill(table, _column(op))
        foreign_keys = {spec.name: spec for spec in target_foreign_keys(table)}
        quote = self.conn.dialect.identifier_preparer.quote
        # Names for SQLite's unnamed constraints, matching what schema_diff reports.
        convention = {
            "fk": "fk_%(table_name)s__%(column_0_N_name)s",
            "uq": "uq_%(table_name)s__%(column_0_N_name)s",
        }
        kept = _sqlite_index_sql(self.conn, table.name) if is_sqlite(self.conn) else {}
        # A SQLite rebuild also gives older tables AUTOINCREMENT (ids never reused), which
        # SQLite cannot add in place; the diff does not see it, so plans stay quiet about it.
        with self.op.batch_alter_table(
            table.name,
            recreate="auto",
            naming_convention=convention,
            table_kwargs={"sqlite_autoincrement": True},
        ) as batch:
            for op in (o for o in ops if o.kind in _ALTER_KINDS):
                if op.kind == DROP_FOREIGN_KEY:
                    batch.drop_constraint(_named(op), type_="foreignkey")
                elif op.kind == DROP_UNIQUE:
                    batch.drop_constraint(_named(op), type_="unique")
                elif op.kind == ALTER_TYPE:
                    column = table.c[_column(op)]
                    # PostgreSQL converts only implicitly castable types without USING.
                    sql_type = compile_type(column.type, self.conn.dialect)
                    using = f"CAST({quote(column.name)} AS {sql_type})"
                    batch.alter_column(
                        column.name, type_=column.type.copy(), postgresql_using=using
                    )
                elif op.kind in (SET_NOT_NULL, DROP_NOT_NULL):
                    batch.alter_column(_column(op), nullable=op.kind == DROP_NOT_NULL)
                elif op.kind == DROP_COLUMN:
                    batch.drop_column(_column(op))
                elif op.kind == ADD_FOREIGN_KEY:
                    spec = foreign_keys[_named(op)]
                    batch.create_foreign_key(
                        spec.name,
                        spec.referred_table,
                        list(spec.columns),
                        list(spec.referred_columns),
                        ondelete=spec.ondelete,
                        onupdate=spec.onupdate,
                    )
            for column_name in tighten:
                batch.alter_column(column_name, nullable=False)
        self._convert(table.name, {name: sql[1] for name, sql in conversions.items()})
        if kept:
            self._restore_sqlite_indexes(table.name, kept)

    def _convert(self, table: str, expressions: dict[str, str | None]) -> None:
        """Rewrite columns' values with SQL expressions of `{col}` (scaled decimal units)."""
        quote = self.conn.dialect.identifier_preparer.quote
        for name, expression in expressions.items():
            if expression is not None:
                value = expression.format(col=quote(name))
                self.conn.exec_driver_sql(
                    f"UPDATE {quote(table)} SET {quote(name)} = {value} "
                    f"WHERE {quote(name)} IS NOT NULL"
                )

    def _restore_sqlite_indexes(self, table: str, kept: dict[str, str]) -> None:
        """Recreate indexes a SQLite rebuild changed from their stored DDL.

        Batch mode recreates a rebuilt table's indexes from reflection, which loses column
        directions (`updated_at DESC`): whoever made an index, it comes back as it was.
        """
        quote = self.conn.dialect.identifier_preparer.quote
        for name, sql in _sqlite_index_sql(self.conn, table).items():
            if name in kept and kept[name] != sql:
                self.conn.exec_driver_sql(f"DROP INDEX {quote(name)}")
                self.conn.exec_driver_sql(kept[name])

    def _check_loss(self, table: sa.Table, name: str, live_type: sa.types.TypeEngine[Any]) -> None:
        column = table.c[name]
        condition = loss_condition(sa.column(name), live_type, column.type, self.conn.dialect)
        if condition is None:
            return
        query = sa.select(sa.func.count()).select_from(sa.table(table.name)).where(condition)
        lost = int(self.conn.execute(query).scalar_one())
        if lost:
            dialect = self.conn.dialect
            raise MigrationFailed(
                f"{lost} value(s) of {table.name}.{name} would not survive "
                f"{compile_type(live_type, dialect)} -> {compile_type(column.type, dialect)}; "
                "fix or clear them first",
                code="lossy-conversion",
            )

    def _fill(self, table: sa.Table, name: str) -> None:
        """Give rows where `name` is NULL the column's default, or its type's neutral value."""
        column = table.c[name]
        handle = sa.table(table.name, sa.column(name, column.type))
        empty = handle.c[name].is_(None)
        missing = int(
            self.conn.execute(
                sa.select(sa.func.count()).select_from(handle).where(empty)
            ).scalar_one()
        )
        if not missing:
            return
        source = default_source(column)
        if source is not None:
            value = source()
        else:
            found, value = zero_value(column.type, self.conn.dialect)
            if not found:
                raise MigrationFailed(
                    f"{missing} row(s) of {table.name} need a value for {name} "
                    f"({compile_type(column.type, self.conn.dialect)}), which has no default; "
                    "give the field a default",
                    code="no-fill-value",
                )
        self.conn.execute(sa.update(handle).where(empty).values({name: value}))

    def _drop_tables(self, ops: list[SchemaOp]) -> None:
        if not ops:
            return
        if not is_sqlite(self.conn):
            # Foreign keys between dropped tables may form cycles: drop the keys first. (SQLite
            # runs with foreign keys off here, and its keys are unnamed anyway.)
            inspector = sa.inspect(self.conn)
            for op in ops:
                for fk in inspector.get_foreign_keys(op.table):
                    if fk["name"]:
                        self.op.drop_constraint(fk["name"], op.table, type_="foreignkey")
        for op in ops:
            self.op.drop_table(op.table)


def _sqlite_index_sql(conn: sa.Connection, table: str) -> dict[str, str]:
    """Index name → its CREATE INDEX statement, for the explicit indexes of a SQLite table."""
    query = sa.text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"
        " AND sql IS NOT NULL"
    )
    return {str(r.name): str(r.sql) for r in conn.execute(query, {"table": table})}


def _of(ops: Sequence[SchemaOp], kind: str) -> list[SchemaOp]:
    return [op for op in ops if op.kind == kind]


def _column(op: SchemaOp) -> str:
    if op.column is None:
        raise ValueError(f"{op.kind} step without a column: {op}")
    return op.column


def _named(op: SchemaOp) -> str:
    if op.name is None:
        raise ValueError(f"{op.kind} step without a name: {op}")
    return op.name


def _bare_column(column: sa.Column[Any], *, nullable: bool) -> sa.Column[Any]:
    """A copy of `column` for ADD COLUMN: type, nullability and server default only.

    Foreign keys and unique constraints are separate steps (SQLite cannot add them with a
    column; PostgreSQL would otherwise get them twice).
    """
    server = column.server_default
    default = sa.DefaultClause(server.arg) if isinstance(server, sa.DefaultClause) else None
    return sa.Column(column.name, column.type.copy(), nullable=nullable, server_default=default)
