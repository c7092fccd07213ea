"""Compare a portal's target tables with the live database: the migration plan.

Planning is read-only. It reflects the live schema, counts the rows a risky step would touch
and returns a `Plan` of `SchemaOp`s in the order `migrations.apply` executes them. Only tables
whose names start with the portal's prefix are looked at: other portals and the platform's
own tables are invisible here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..data.fulltext.pg_vectors import is_vector_column
from ..data.tables import TableSet
from ..definition.naming import constraint_name
from .index_diff import given_name, index_ops
from .live_schema import LiveSchema, LiveTable, reflect
from .schema_ops import (
    ADD_COLUMN,
    ADD_FOREIGN_KEY,
    ALTER_TYPE,
    CREATE_TABLE,
    DROP_COLUMN,
    DROP_FOREIGN_KEY,
    DROP_NOT_NULL,
    DROP_TABLE,
    PHASES,
    RENAME_COLUMN,
    SET_NOT_NULL,
    Plan,
    SchemaOp,
    ValueRename,
)
from .schema_types import canonical_type, compile_type, is_widening
from .value_renames import value_ops


@dataclass(frozen=True, slots=True)
class ForeignKeySpec:
    """A foreign key, reduced to what makes two of them equivalent."""

    name: str | None
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    ondelete: str | None
    onupdate: str | None

    def same_as(self, other: ForeignKeySpec) -> bool:
        """True when both constrain the same columns the same way (names may differ)."""
        return (
            self.columns,
            self.referred_table,
            self.referred_columns,
            self.ondelete,
            self.onupdate,
        ) == (
            other.columns,
            other.referred_table,
            other.referred_columns,
            other.ondelete,
            other.onupdate,
        )


def _action(value: object) -> str | None:
    text = str(value).upper() if value else ""
    return None if text in ("", "NO ACTION") else text


def target_foreign_keys(table: sa.Table) -> list[ForeignKeySpec]:
    """The target table's foreign keys, named (a name is derived for unnamed ones)."""
    specs = []
    for fk in sorted(table.foreign_key_constraints, key=lambda f: [c.name for c in f.columns]):
        columns = tuple(c.name for c in fk.columns)
        specs.append(
            ForeignKeySpec(
                given_name(fk.name) or constraint_name("fk", table.name, columns),
                columns,
                fk.referred_table.name,
                tuple(element.column.name for element in fk.elements),
                _action(fk.ondelete),
                _action(fk.onupdate),
            )
        )
    return specs


class RowCounter:
    """Row counts for the plan, each queried once: counting is the only cost of planning."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._cache: dict[tuple[str, str | None, bool], int] = {}

    def total(self, table: str) -> int:
        """Rows of `table`."""
        return self._count(table, None, False)

    def values(self, table: str, column: str) -> int:
        """Rows where `column` is not NULL."""
        return self._count(table, column, False)

    def nulls(self, table: str, column: str) -> int:
        """Rows where `column` is NULL."""
        return self._count(table, column, True)

    def _count(self, table: str, column: str | None, nulls: bool) -> int:
        key = (table, column, nulls)
        if key not in self._cache:
            query = sa.select(sa.func.count()).select_from(sa.table(table))
            if column is not None:
                col: sa.ColumnClause[Any] = sa.column(column)
                query = query.where(col.is_(None) if nulls else col.is_not(None))
            self._cache[key] = int(self._conn.execute(query).scalar_one())
        return self._cache[key]


def default_source(column: sa.Column[Any]) -> Callable[[], Any] | None:
    """How existing rows get a value for `column` without guessing, or None.

    The function returns a Python value or an SQL expression for an UPDATE: the server default,
    a scalar or SQL default, or a callable default that takes no execution context.
    """
    server = column.server_default
    if isinstance(server, sa.DefaultClause):
        arg = server.arg
        if isinstance(arg, str):
            # Rendered the way DDL renders it, so the database coerces it to the column type.
            literal: sa.ColumnClause[Any] = sa.literal_column("'" + arg.replace("'", "''") + "'")
            return lambda: literal
        return lambda: arg
    default = column.default
    if not isinstance(default, sa.ColumnDefault):
        return None
    if default.is_scalar or default.is_clause_element:
        value = default.arg
        return lambda: value
    # SQLAlchemy wraps zero-argument callables (keeping them as __wrapped__); a callable without
    # that marker wants an execution context, which a migration does not have.
    wrapped = getattr(default.arg, "__wrapped__", None)
    if default.is_callable and callable(wrapped):
        return wrapped  # type: ignore[no-any-return]
    return None


def has_default(column: sa.Column[Any]) -> bool:
    """True when existing rows can get a value for `column` without guessing."""
    return default_source(column) is not None


def diff(
    conn: sa.Connection,
    target: TableSet,
    renames: Mapping[str, Mapping[str, str]] | None = None,
    values: Sequence[ValueRename] = (),
    schema: LiveSchema | None = None,
) -> Plan:
    """The plan that turns the live schema seen by `conn` into `target` (read-only);
    `values` are the target's renamed choice options (see `value_renames`). `schema` is the
    live schema when the caller reflected it already (a review's cached one); rows are
    counted on `conn` either way."""
    foreign = sorted(t.name for t in target.tables.values() if not t.name.startswith(target.prefix))
    if foreign:
        raise ValueError(f"tables outside the portal prefix {target.prefix!r}: {foreign}")
    if schema is None or schema.prefix != target.prefix:
        schema = reflect(conn, target.prefix)
    live = set(schema.tables)
    wanted = {table.name: table for table in target.tables.values()}
    rows = RowCounter(conn)
    ops: list[SchemaOp] = []
    for table in _creation_order([t for name, t in wanted.items() if name not in live]):
        ops.append(SchemaOp(CREATE_TABLE, table.name, detail=f"({len(table.columns)} columns)"))
    for name in sorted(wanted.keys() & live):
        table_renames = (renames or {}).get(name, {})
        ops.extend(_TableDiff(conn, schema.tables[name], rows, wanted[name], table_renames).ops())
    for name in sorted(live - wanted.keys()):
        ops.append(SchemaOp(DROP_TABLE, name, destructive=True, rows=rows.total(name)))
    if values:
        columns = {
            name: {str(c["name"]) for c in schema.tables[name].columns}
            for name in {v.table for v in values} & live
        }
        ops.extend(value_ops(conn, live, columns, renames or {}, values))
    return Plan(tuple(sorted(ops, key=lambda op: PHASES[op.kind])), tuple(values))


def _creation_order(tables: Sequence[sa.Table]) -> list[sa.Table]:
    """Referenced tables first, for a plan that reads naturally. (`create_all` decides the real
    order when applying and breaks foreign key cycles; here a cycle is simply cut.)"""
    by_name = {table.name: table for table in tables}
    done: dict[str, sa.Table] = {}

    def visit(table: sa.Table, path: set[str]) -> None:
        if table.name in done or table.name in path:
            return
        path.add(table.name)
        for fk in table.foreign_key_constraints:
            referred = by_name.get(fk.referred_table.name)
            if referred is not None:
                visit(referred, path)
        done[table.name] = table

    for name in sorted(by_name):
        visit(by_name[name], set())
    return list(done.values())


class _TableDiff:
    """The steps for one table that exists both live and in the target."""

    def __init__(
        self,
        conn: sa.Connection,
        live: LiveTable,
        rows: RowCounter,
        table: sa.Table,
        renames: Mapping[str, str],
    ) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.reflected = live
        self.rows = rows
        self.table = table
        self.name = table.name
        self.live = {str(c["name"]): c for c in live.columns}
        # Only renames that still have to happen: the new name is missing, the old one is live.
        self.renamed = {
            new: old
            for new, old in renames.items()
            if new in table.c and new not in self.live and old in self.live and old not in table.c
        }
        self.back = {old: new for new, old in self.renamed.items()}
        # stored search vectors are kept by `fulltext.pg_vectors.sync`, not by the diff
        self.dropped = {
            name
            for name in set(self.live) - set(self.back) - {c.name for c in table.columns}
            if not is_vector_column(name)
        }

    def ops(self) -> list[SchemaOp]:
        indexes = index_ops(self.reflected, self.table, self.back, self.dropped)
        return [*self._column_ops(), *indexes, *self._foreign_key_ops()]

    def _column_ops(self) -> Iterable[SchemaOp]:
        for column in self.table.columns:
            source = self.renamed.get(column.name, column.name)
            live = self.live.get(source)
            if live is None:
                yield self._add(column)
                continue
            if source != column.name:
                yield SchemaOp(
                    RENAME_COLUMN, self.name, column.name, f"renamed from {source}", previous=source
                )
            old, new = (
                canonical_type(live["type"], self.dialect),
                canonical_type(column.type, self.dialect),
            )
            if old != new:
                narrowing = not is_widening(old, new)
                yield SchemaOp(
                    ALTER_TYPE,
                    self.name,
                    column.name,
                    f"{old.sql} -> {new.sql}",
                    destructive=narrowing,
                    rows=self.rows.values(self.name, source) if narrowing else None,
                )
            if column.primary_key or bool(live["nullable"]) == bool(column.nullable):
                continue
            if column.nullable:
                yield SchemaOp(DROP_NOT_NULL, self.name, column.name)
            else:
                nulls = self.rows.nulls(self.name, source)
                yield SchemaOp(
                    SET_NOT_NULL, self.name, column.name, destructive=nulls > 0, rows=nulls or None
                )
        for name in sorted(self.dropped):
            yield SchemaOp(
                DROP_COLUMN,
                self.name,
                name,
                destructive=True,
                rows=self.rows.values(self.name, name),
            )

    def _add(self, column: sa.Column[Any]) -> SchemaOp:
        detail = compile_type(column.type, self.dialect)
        if not column.nullable:
            detail += " NOT NULL"
        if column.nullable or has_default(column):
            return SchemaOp(ADD_COLUMN, self.name, column.name, detail)
        existing = self.rows.total(self.name)
        if existing == 0:
            return SchemaOp(ADD_COLUMN, self.name, column.name, detail)
        detail += " without default"
        return SchemaOp(ADD_COLUMN, self.name, column.name, detail, destructive=True, rows=existing)

    def _foreign_key_ops(self) -> Iterable[SchemaOp]:
        live = []
        for fk in self.reflected.foreign_keys:
            if set(fk["constrained_columns"]) & self.dropped:
                continue  # goes away with its column
            options = fk.get("options") or {}
            # Renames run before foreign keys change, so names are the new column names; SQLite's
            # unnamed keys get the name batch mode's naming convention will give them.
            columns = tuple(self.back.get(c, c) for c in fk["constrained_columns"])
            live.append(
                ForeignKeySpec(
                    fk["name"] or f"fk_{self.name}__{'_'.join(columns)}",
                    columns,
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    _action(options.get("ondelete")),
                    _action(options.get("onupdate")),
                )
            )
        wanted = target_foreign_keys(self.table)
        for spec in live:
            if not any(spec.same_as(w) for w in wanted):
                yield SchemaOp(DROP_FOREIGN_KEY, self.name, detail=_fk_text(spec), name=spec.name)
        for spec in wanted:
            if not any(spec.same_as(existing) for existing in live):
                yield SchemaOp(ADD_FOREIGN_KEY, self.name, detail=_fk_text(spec), name=spec.name)


def _fk_text(spec: ForeignKeySpec) -> str:
    target = f"{spec.referred_table}({', '.join(spec.referred_columns)})"
    text = f"({', '.join(spec.columns)}) -> {target}"
    return text + (f" ON DELETE {spec.ondelete}" if spec.ondelete else "")
