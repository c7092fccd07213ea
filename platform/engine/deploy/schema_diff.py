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
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from ..data.tables import TableSet
from ..definition.naming import constraint_name, is_portalis_index
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
    PHASES,
    RENAME_COLUMN,
    RENAME_INDEX,
    SET_NOT_NULL,
    Plan,
    SchemaOp,
)
from .schema_types import canonical_type, compile_type, is_widening


def derived_name(kind: str, table: str, columns: Sequence[str]) -> str:
    """A deterministic constraint/index name that fits PostgreSQL's identifier limit."""
    return constraint_name(kind, table, columns)


def _name(value: object) -> str | None:
    # Unnamed constraints carry a sentinel (not a str) as their name.
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
    for index in sorted(table.indexes, key=lambda i: _name(i.name) or ""):
        keys = _key_columns(index)
        if keys is not None:
            columns = tuple(c for c, _ in keys)
            name = _name(index.name) or derived_name("ix", table.name, columns)
            specs.append(IndexSpec(name, columns, bool(index.unique), tuple(d for _, d in keys)))
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            columns = tuple(c.name for c in constraint.columns)
            name = _name(constraint.name) or derived_name("uq", table.name, columns)
            specs.append(IndexSpec(name, columns, True))
    return specs


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
                _name(fk.name) or derived_name("fk", table.name, columns),
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
    conn: sa.Connection, target: TableSet, renames: Mapping[str, Mapping[str, str]] | None = None
) -> Plan:
    """The plan that turns the live schema seen by `conn` into `target` (read-only)."""
    foreign = sorted(t.name for t in target.tables.values() if not t.name.startswith(target.prefix))
    if foreign:
        raise ValueError(f"tables outside the portal prefix {target.prefix!r}: {foreign}")
    inspector = sa.inspect(conn)
    live = {name for name in inspector.get_table_names() if name.startswith(target.prefix)}
    wanted = {table.name: table for table in target.tables.values()}
    rows = RowCounter(conn)
    ops: list[SchemaOp] = []
    for table in _creation_order([t for name, t in wanted.items() if name not in live]):
        ops.append(SchemaOp(CREATE_TABLE, table.name, detail=f"({len(table.columns)} columns)"))
    for name in sorted(wanted.keys() & live):
        table_renames = (renames or {}).get(name, {})
        ops.extend(_TableDiff(conn, inspector, rows, wanted[name], table_renames).ops())
    for name in sorted(live - wanted.keys()):
        ops.append(SchemaOp(DROP_TABLE, name, destructive=True, rows=rows.total(name)))
    return Plan(tuple(sorted(ops, key=lambda op: PHASES[op.kind])))


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
        inspector: sa.Inspector,
        rows: RowCounter,
        table: sa.Table,
        renames: Mapping[str, str],
    ) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.inspector = inspector
        self.rows = rows
        self.table = table
        self.name = table.name
        self.live = {c["name"]: c for c in inspector.get_columns(table.name)}
        # Only renames that still have to happen: the new name is missing, the old one is live.
        self.renamed = {
            new: old
            for new, old in renames.items()
            if new in table.c and new not in self.live and old in self.live and old not in table.c
        }
        self.back = {old: new for new, old in self.renamed.items()}
        self.dropped = set(self.live) - set(self.back) - {c.name for c in table.columns}

    def ops(self) -> list[SchemaOp]:
        return [*self._column_ops(), *self._index_ops(), *self._foreign_key_ops()]

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

    def _index_ops(self) -> Iterable[SchemaOp]:
        """Create what the target lacks; drop or rename only indexes Portalis made.

        An index is Portalis-made when its name carries Portalis's prefix (`is_portalis_index`);
        any other index is left alone and not listed, unless it covers a column the plan drops.
        A live index that matches a wanted one column for column serves it, whoever made it.
        """
        live = self._live_indexes()
        used: set[int] = set()
        creates: list[SchemaOp] = []
        renames: list[SchemaOp] = []
        for spec in target_indexes(self.table):
            found = [i for i, e in enumerate(live) if i not in used and e.spec.same_keys(spec)]
            if not found:
                creates.append(
                    SchemaOp(CREATE_INDEX, self.name, detail=spec.text(), name=spec.name)
                )
                continue
            same_name = [i for i in found if live[i].spec.name == spec.name]
            mine = [i for i in found if live[i].mine]
            pick = (same_name or mine or found)[0]
            used.add(pick)
            entry = live[pick]
            if entry.mine and not entry.constraint and entry.spec.name != spec.name:
                renames.append(
                    SchemaOp(
                        RENAME_INDEX,
                        self.name,
                        detail=spec.text(),
                        name=spec.name,
                        previous=entry.spec.name,
                    )
                )
        for i, entry in enumerate(live):
            if i in used:
                continue
            if entry.constraint:
                detail = f"({', '.join(entry.spec.columns)})"
                yield SchemaOp(DROP_UNIQUE, self.name, detail=detail, name=entry.spec.name)
            elif entry.mine:
                yield SchemaOp(
                    DROP_INDEX, self.name, detail=entry.spec.text(), name=entry.spec.name
                )
            elif set(entry.live_columns) & self.dropped:
                gone = ", ".join(sorted(set(entry.live_columns) & self.dropped))
                yield SchemaOp(
                    DROP_INDEX,
                    self.name,
                    detail=f"{entry.spec.text()}, not made by Portalis, on dropped {gone}",
                    name=entry.spec.name,
                )
        yield from creates
        yield from renames

    def _live_indexes(self) -> list[_LiveIndex]:
        """The table's live indexes and unique constraints, columns under their new names."""
        out = []
        for index in self.inspector.get_indexes(self.name):
            name = index["name"]
            if index.get("duplicates_constraint") or name is None:
                continue  # PostgreSQL's index behind a unique constraint, listed below
            raw = tuple(c or "" for c in index["column_names"])
            sorting = index.get("column_sorting")
            if sorting is not None or self.dialect.name != "sqlite":
                descending = tuple("desc" in (sorting or {}).get(c, ()) for c in raw)
            else:
                descending = _sqlite_descending(self.conn, name)
            columns = tuple(self.back.get(c, c) for c in raw)
            spec = IndexSpec(name, columns, bool(index["unique"]), descending)
            out.append(_LiveIndex(spec, raw, False, is_portalis_index(name, self.name)))
        for unique in self.inspector.get_unique_constraints(self.name):
            raw = tuple(unique["column_names"])
            columns = tuple(self.back.get(c, c) for c in raw)
            # SQLite's unique constraints are unnamed; batch mode names them by convention.
            label = unique["name"] or f"uq_{self.name}__{'_'.join(columns)}"
            out.append(_LiveIndex(IndexSpec(label, columns, True), raw, True, True))
        return out

    def _foreign_key_ops(self) -> Iterable[SchemaOp]:
        live = []
        for fk in self.inspector.get_foreign_keys(self.name):
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


@dataclass(frozen=True, slots=True)
class _LiveIndex:
    """A live index: as the target would spell it, its live column names, whether it is a
    unique constraint and whether Portalis made it."""

    spec: IndexSpec
    live_columns: tuple[str, ...]
    constraint: bool
    mine: bool


def _sqlite_descending(conn: sa.Connection, index: str) -> tuple[bool, ...]:
    """Per key column of a SQLite index, whether it descends (SQLAlchemy does not reflect it)."""
    quoted = conn.dialect.identifier_preparer.quote(index)
    rows = conn.exec_driver_sql(f"PRAGMA index_xinfo({quoted})").mappings().all()
    return tuple(bool(row["desc"]) for row in rows if row["key"])


def _fk_text(spec: ForeignKeySpec) -> str:
    target = f"{spec.referred_table}({', '.join(spec.referred_columns)})"
    text = f"({', '.join(spec.columns)}) -> {target}"
    return text + (f" ON DELETE {spec.ondelete}" if spec.ondelete else "")
