"""Decimal and money amounts are exact on both databases: SQLite stores them as whole smallest
units (`SCALED_DECIMAL(p, s)`), so 18 digits survive, sums are exact and sorting is numeric; a
SQLite database of an earlier release (NUMERIC columns holding binary floats) is converted by
the next deploy, and changes of places or type convert the units without losing a value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from portalis.engine.definition.bundle import read_bundle
from portalis.engine.deploy.migration_steps import MigrationFailed
from portalis.engine.deploy.validator import Checker
from portalis.engine.deploy.versions import deploy
from portalis.engine.expr.money import Money
from portalis.testing.portals import actor_for, deploy_text

D = Decimal
PORTAL = """\
format: portalis/v1
portal: ledger
title: Ledger
locales: [en]
currency: EUR
roles:
  clerk: {label: Clerk, staff: true}
entities:
  book:
    fields:
      name: {type: string, required: true}
      total: {type: decimal, places: 4, rollup: sum, of: entry.value, via: book}
      balance: {type: money, rollup: sum, of: entry.amount, via: book}
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
  entry:
    fields:
      book: {type: ref, to: book, required: true}
      value: {type: decimal, places: 4}
      amount: {type: money}
      rate: {type: decimal, places: 2, precision: 16}
    permissions:
      - {roles: [clerk], actions: [read, create, update, delete], scope: all}
seed: [seed.yaml]
"""
SEED = """\
users:
  - {email: clara@ledger.test, name: Clara, roles: [clerk]}
records:
  book:
    - {key: b1, name: Main}
"""
BIG = D("12345678901234.5678")  # 18 digits: 15 survive a binary float


def _setup(engine: sa.Engine, checker: Checker, folder: Path, portal: str = PORTAL):  # type: ignore[no-untyped-def]
    compiled = deploy_text(engine, checker, folder, portal, SEED)
    clara = actor_for(engine, compiled, "clara@ledger.test")
    store = compiled.store(engine)
    return store, clara, store.list(clara, "book").records[0].id


def _raw(engine: sa.Engine, column: str) -> list[tuple[object, str]]:
    with engine.connect() as conn:
        query = f"select {column}, typeof({column}) from p_ledger__entry order by id"
        return [tuple(row) for row in conn.exec_driver_sql(query)]


def test_every_digit_survives_and_sums_are_exact(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    store, clara, book = _setup(db_engine, portalis_checker, tmp_path / "p")
    values = [BIG, D("0.1"), D("0.2"), D("-0.0001")]
    for value in values:
        store.insert(clara, "entry", {"book": book, "value": value, "amount": value / 1000})
    entries = store.list(clara, "entry", sort="value").records
    assert [e.values["value"] for e in entries] == sorted(values)
    assert BIG in [e.values["value"] for e in entries]
    saved = store.get(clara, "book", book).values
    assert saved["total"] == BIG + D("0.2999")
    # money rounds half-even to cents: 12345678901.23456780 → …901.23, 0.0001 → 0.00, 0.0002
    assert saved["balance"] == Money(D("12345678901.23"), "EUR")
    if db_engine.dialect.name == "sqlite":
        assert _raw(db_engine, "value")[0] == (123456789012345678, "integer")
        assert {kind for _, kind in _raw(db_engine, "amount")} == {"integer"}
        with db_engine.connect() as conn:
            ddl = conn.exec_driver_sql(
                "select sql from sqlite_master where name = 'p_ledger__entry'"
            ).scalar_one()
        assert "value SCALED_DECIMAL(18, 4)" in ddl and "amount SCALED_DECIMAL(18, 4)" in ddl


def test_filters_and_bounds_compare_values_not_units(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    store, clara, book = _setup(db_engine, portalis_checker, tmp_path / "p")
    for rate in ("1.25", "1.30", "2.00"):
        store.insert(clara, "entry", {"book": book, "rate": rate})
    table = store.tables["entry"]
    with db_engine.connect() as conn:
        above = conn.execute(sa.select(table.c.rate).where(table.c.rate > D("1.255"))).scalars()
        assert sorted(above) == [D("1.30"), D("2.00")]
        total = conn.execute(sa.select(sa.func.sum(table.c.rate))).scalar_one()
        assert total == D("4.55")


# -- SQLite databases of earlier releases, and type changes ---------------------------------
def _legacy(engine: sa.Engine) -> None:
    """Make the entry table what an earlier release created: NUMERIC columns of floats."""
    with engine.begin() as conn:
        operations = Operations(MigrationContext.configure(conn))
        with operations.batch_alter_table("p_ledger__entry", recreate="always") as batch:
            for name, digits, scale in (("value", 18, 4), ("amount", 18, 4), ("rate", 16, 2)):
                batch.alter_column(name, type_=sa.Numeric(digits, scale))
        for name, scale in (("value", 4), ("amount", 4), ("rate", 2)):
            conn.exec_driver_sql(
                f"update p_ledger__entry set {name} = cast({name} as real) / {10**scale}"
            )


def _redeploy(engine: sa.Engine, checker: Checker, folder: Path, portal: str, **kw: bool):  # type: ignore[no-untyped-def]
    (folder / "portal.yaml").write_text(portal, encoding="utf-8")
    bundle, _ = read_bundle(folder)
    return deploy(engine, checker, bundle, {}, **kw)


def test_a_sqlite_database_of_floats_is_converted_by_the_next_deploy(
    sqlite_url: str, portalis_checker: Checker, tmp_path: Path
) -> None:
    engine = sa.create_engine(sqlite_url)
    store, clara, book = _setup(engine, portalis_checker, tmp_path / "p")
    for value, rate in (("0.1", "19.99"), ("1234.5678", "0.07"), ("-3", "1")):
        store.insert(clara, "entry", {"book": book, "value": value, "amount": value, "rate": rate})
    _legacy(engine)
    assert {kind for _, kind in _raw(engine, "value")} == {"real", "integer"}  # -3.0 → -3
    result = _redeploy(engine, portalis_checker, tmp_path / "p", PORTAL + "\n")
    changes = [(op.kind, op.column, op.destructive) for op in result.plan.ops]
    assert sorted(changes) == [
        ("alter_type", "amount", False),
        ("alter_type", "rate", False),
        ("alter_type", "value", False),
    ]
    assert _raw(engine, "value") == [(1000, "integer"), (12345678, "integer"), (-30000, "integer")]
    assert [r for r, _ in _raw(engine, "rate")] == [1999, 7, 100]
    store = result.portal.store(engine)
    entries = store.list(clara, "entry", sort="id").records
    assert [e.values["amount"] for e in entries] == [
        Money(D("0.10"), "EUR"),
        Money(D("1234.57"), "EUR"),
        Money(D("-3.00"), "EUR"),
    ]
    # a deploy of the same definition again plans nothing: the spelling is recognised
    again = _redeploy(engine, portalis_checker, tmp_path / "p", PORTAL + "\n\n")
    assert list(again.plan.ops) == []
    engine.dispose()


def test_places_changes_rescale_the_units(
    sqlite_url: str, portalis_checker: Checker, tmp_path: Path
) -> None:
    engine = sa.create_engine(sqlite_url)
    store, clara, book = _setup(engine, portalis_checker, tmp_path / "p")
    for rate in ("1.25", "3.10"):
        store.insert(clara, "entry", {"book": book, "rate": rate})
    wider = PORTAL.replace("places: 2, precision: 16}", "places: 4, precision: 18}")
    widened = _redeploy(engine, portalis_checker, tmp_path / "p", wider)
    assert [op.destructive for op in widened.plan.ops] == [False]  # more places, same digits
    assert [r for r, _ in _raw(engine, "rate")] == [12500, 31000]
    narrower = PORTAL.replace("places: 2, precision: 16}", "places: 1, precision: 16}")
    with pytest.raises(MigrationFailed) as refused:  # 1.25 has no place for its 5
        _redeploy(engine, portalis_checker, tmp_path / "p", narrower, allow_destructive=True)
    assert refused.value.code == "lossy-conversion" and "1 value(s)" in str(refused.value)
    assert [r for r, _ in _raw(engine, "rate")] == [12500, 31000]  # nothing changed
    with engine.begin() as conn:
        conn.exec_driver_sql("update p_ledger__entry set rate = 12000 where rate = 12500")
    _redeploy(engine, portalis_checker, tmp_path / "p", narrower, allow_destructive=True)
    assert [r for r, _ in _raw(engine, "rate")] == [12, 31]
    whole = PORTAL.replace("rate: {type: decimal, places: 2, precision: 16}", "rate: {type: int}")
    with pytest.raises(MigrationFailed) as refused:  # 1.2 and 3.1 are no whole numbers
        _redeploy(engine, portalis_checker, tmp_path / "p", whole, allow_destructive=True)
    assert refused.value.code == "lossy-conversion" and "2 value(s)" in str(refused.value)
    with engine.begin() as conn:
        conn.exec_driver_sql("update p_ledger__entry set rate = rate - rate % 10")
    result = _redeploy(engine, portalis_checker, tmp_path / "p", whole, allow_destructive=True)
    entries = result.portal.store(engine).list(clara, "entry", sort="id").records
    assert [e.values["rate"] for e in entries] == [1, 3]
    assert _raw(engine, "rate") == [(1, "integer"), (3, "integer")]
    engine.dispose()
