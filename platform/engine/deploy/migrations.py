"""Migrations: turn the live schema of a portal into its compiled tables, safely.

`plan()` compares the target `TableSet` with the live database (see `schema_diff`) and returns a
`Plan`. `apply()` runs a plan in ONE transaction, together with the caller's `extra` work (the
new version record), so a failure anywhere leaves schema and data as they were.

Consent: additive steps apply freely; destructive steps (dropping tables or columns, narrowing
types, NOT NULL over NULLs, a NOT NULL column without default on a table with rows) raise
`DestructiveChangeRefused` unless `allow_destructive=True`. Even with consent no value is
changed silently:

- a narrowing type change (or a change of kind) first counts the values that would not survive
  it (too long, out of range, rounded, not convertible) and fails with `lossy-conversion` if
  there are any;
- a NOT NULL column without default is added nullable, existing rows are filled with the type's
  neutral value ("", 0, false) and the column is then made NOT NULL; types without a neutral
  value (dates, JSON, ...) fail with `no-fill-value`. NOT NULL over existing NULLs works alike;
- only dropping a table or column deletes data, which is exactly what consent was given for.

PostgreSQL runs alembic operations as transactional DDL. SQLite cannot alter or drop
constrained columns, so tables are rebuilt with alembic's batch mode (every row is copied)
following SQLite's documented procedure: foreign keys are switched off on the connection
before the transaction starts, `PRAGMA foreign_key_check` runs before commit and foreign keys
are switched back on afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ..data.db import is_sqlite
from ..data.fulltext.upkeep import sync as sync_search
from ..data.tables import TableSet
from ..problems import PortalisError
from .live_schema import LiveSchema
from .migration_steps import Executor, MigrationFailed
from .schema_diff import diff
from .schema_ops import (
    Plan,
    SchemaOp,
    ValueRename,
)

__all__ = [
    "DestructiveChangeRefused",
    "MigrationFailed",
    "Plan",
    "PlanChanged",
    "PlanOutdated",
    "SchemaOp",
    "apply",
    "plan",
    "plan_and_apply",
]


class DestructiveChangeRefused(PortalisError):
    """A plan has destructive steps and consent (`allow_destructive`) was not given.

    Raised before anything is touched; `ops` are the steps that need consent.
    """

    code = "destructive-change"

    def __init__(self, ops: Sequence[SchemaOp]) -> None:
        self.ops = tuple(ops)
        lines = "; ".join(op.describe() for op in self.ops)
        super().__init__(
            f"{len(self.ops)} destructive change(s) need consent (--allow-destructive): {lines}"
        )


class PlanOutdated(PortalisError):
    """The live schema changed between planning and applying; plan again."""

    code = "plan-outdated"


class PlanChanged(PlanOutdated):
    """Planned again inside the deploy's transaction, the plan is not the one consent was
    given for (`Plan.fingerprint`): another version was published meanwhile, or rows changed
    the data a destructive step removes. Nothing was applied; `plan` is the plan now."""

    code = "plan-changed"

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        super().__init__("the plan changed since it was shown; check it and consent again")


def plan(
    bind: sa.Engine | sa.Connection,
    target: TableSet,
    *,
    renames: Mapping[str, Mapping[str, str]] | None = None,
    values: Sequence[ValueRename] = (),
    schema: LiveSchema | None = None,
) -> Plan:
    """The steps that turn the live schema into `target` (read-only).

    `renames` maps a table name to `{new column: old column}` (from fields' `renamed_from:`); a
    rename whose old column is live and new column is not becomes a `rename_column` step.
    `values` are renamed choice options (workflow states): a `rename_value` step for each whose
    old value some record still holds. `schema` is the live schema reflected already (a
    review's cached one, never a deploy's); rows are counted on `bind` either way.
    """
    if isinstance(bind, sa.Engine):
        with bind.connect() as conn:
            return diff(conn, target, renames, values, schema)
    return diff(bind, target, renames, values, schema)


def apply(
    engine: sa.Engine,
    target: TableSet,
    plan: Plan,
    *,
    allow_destructive: bool = False,
    extra: Callable[[sa.Connection], None] | None = None,
    expected: str | None = None,
) -> None:
    """Apply `plan` and then `extra(conn)` in one transaction.

    The plan is checked against the live schema inside the transaction (`PlanOutdated` when
    it no longer matches, row counts aside). With `expected` — the fingerprint of the plan a
    person consented to — the plan made inside the transaction must have that fingerprint,
    row counts of destructive steps included (`PlanChanged` otherwise). Errors from the database are raised as
    `MigrationFailed`; errors from `extra` propagate unchanged. Either way nothing is kept.

    On SQLite `extra` runs while foreign keys are off (they cannot be switched inside the
    transaction): references it writes are checked before commit, but ON DELETE actions do
    not fire, so `extra` should not delete referenced rows.
    """
    refused = plan.destructive
    if refused and not allow_destructive:
        raise DestructiveChangeRefused(refused)
    with engine.connect() as conn, _foreign_keys_off(conn):
        conn.info["write"] = True  # BEGIN IMMEDIATE on SQLite: take the write lock up front
        try:
            with conn.begin():
                if not is_sqlite(conn):
                    # Serialise migrations of one portal; SQLite's BEGIN IMMEDIATE already does.
                    key = sa.func.hashtext(target.prefix)
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
                current = diff(conn, target, plan.renames(), plan.values)
                if expected is not None and current.fingerprint() != expected:
                    raise PlanChanged(current)
                if [op.key() for op in current.ops] != [op.key() for op in plan.ops]:
                    raise PlanOutdated("the database changed since the plan was made; plan again")
                try:
                    Executor(conn, target).run(current)
                    sync_search(conn, target.tables, target.search, target.prefix)
                except sa.exc.SQLAlchemyError as exc:
                    reason = getattr(exc, "orig", None) or exc
                    raise MigrationFailed(
                        f"migration failed and was rolled back: {reason}"
                    ) from exc
                if extra is not None:
                    extra(conn)
                if is_sqlite(conn):
                    # After `extra`: its writes ran without enforcement as well.
                    _check_foreign_keys(conn, target)
        finally:
            conn.info.pop("write", None)


def plan_and_apply(
    engine: sa.Engine,
    target: TableSet,
    *,
    renames: Mapping[str, Mapping[str, str]] | None = None,
    values: Sequence[ValueRename] = (),
    allow_destructive: bool = False,
    extra: Callable[[sa.Connection], None] | None = None,
) -> Plan:
    """Plan and apply in one call; returns the plan that was applied."""
    result = plan(engine, target, renames=renames, values=values)
    apply(engine, target, result, allow_destructive=allow_destructive, extra=extra)
    return result


def _raw_pragma(conn: sa.Connection, sql: str) -> Any:
    # Straight to the driver: through SQLAlchemy the statement would autobegin, and the BEGIN
    # emitted by db.create_engine makes `PRAGMA foreign_keys` a silent no-op.
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        row = cursor.fetchone()
        return row[0] if row else None
    finally:
        cursor.close()


@contextmanager
def _foreign_keys_off(conn: sa.Connection) -> Iterator[None]:
    """SQLite: foreign keys off for the duration (table rebuilds drop referenced tables)."""
    if not is_sqlite(conn):
        yield
        return
    if conn.in_transaction():
        raise RuntimeError("foreign keys can only be switched outside a transaction")
    was_on = _raw_pragma(conn, "PRAGMA foreign_keys") == 1
    _raw_pragma(conn, "PRAGMA foreign_keys=OFF")
    if _raw_pragma(conn, "PRAGMA foreign_keys") != 0:
        raise MigrationFailed("could not switch off SQLite foreign keys for the migration")
    try:
        yield
    finally:
        if was_on:
            try:
                _raw_pragma(conn, "PRAGMA foreign_keys=ON")
            except Exception:
                # A connection without foreign keys must never go back to the pool.
                conn.invalidate()


def _check_foreign_keys(conn: sa.Connection, target: TableSet) -> None:
    quote = conn.dialect.identifier_preparer.quote
    for table in target.tables.values():
        bad = conn.exec_driver_sql(f"PRAGMA foreign_key_check({quote(table.name)})").fetchall()
        if bad:
            raise MigrationFailed(
                f"{len(bad)} row(s) of {table.name} reference missing rows of {bad[0][2]}",
                code="foreign-key-violation",
            )
