"""Index steps of migration plans, on SQLite and PostgreSQL: composite indexes with directions,
indexes made by someone else surviving deploys, drops shown as removals, renames carried."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import create_engine
from portalis.engine.data.tables import TableSet, build_tables
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.definition.naming import constraint_name, is_portalis_index
from portalis.engine.deploy.migrations import Plan, apply, plan, plan_and_apply
from portalis.engine.deploy.schema_ops import SchemaOp
from portalis.engine.deploy.validator import Checker
from portalis.testing.portals import BLUEPRINTS

PREFIX = "p_acme__"
TICKET = f"{PREFIX}ticket"


def portal(*columns: sa.Column[Any], indexes: tuple[tuple[str, ...], ...] = ()) -> TableSet:
    """A portal with one ticket table; each index is column names, `-name` descending."""
    metadata = sa.MetaData()
    ticket = sa.Table(
        TICKET,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        *columns,
    )
    for spec in indexes:
        parts = [c.lstrip("-") + ("_desc" if c.startswith("-") else "") for c in spec]
        keys = [ticket.c[c[1:]].desc() if c.startswith("-") else ticket.c[c] for c in spec]
        sa.Index(constraint_name("ix", TICKET, parts), *keys)
    return TableSet(metadata, {"ticket": ticket}, PREFIX)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    eng = create_engine(database_url)
    yield eng
    eng.dispose()


def live_indexes(engine: sa.Engine) -> dict[str, tuple[str, ...]]:
    with engine.connect() as conn:
        return {
            str(i["name"]): tuple(str(c) for c in i["column_names"])
            for i in sa.inspect(conn).get_indexes(TICKET)
        }


def descending(engine: sa.Engine, index: str) -> tuple[bool, ...]:
    """Per key column of a live index, whether it descends."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f'PRAGMA index_xinfo("{index}")').mappings().all()
            return tuple(bool(r["desc"]) for r in rows if r["key"])
        (found,) = [i for i in sa.inspect(conn).get_indexes(TICKET) if i["name"] == index]
        sorting = found.get("column_sorting") or {}
        return tuple("desc" in sorting.get(str(c), ()) for c in found["column_names"])


def kinds(result: Plan) -> list[str]:
    return [op.kind for op in result.ops]


def account() -> sa.Column[Any]:
    return sa.Column("account", sa.Integer)


def test_a_composite_index_keeps_its_directions(engine: sa.Engine) -> None:
    plan_and_apply(engine, portal(account()))
    target = portal(account(), indexes=(("account", "-updated_at", "id"),))
    result = plan(engine, target)
    name = "ix_p_acme__ticket__account_updated_at_desc_id"
    assert result.describe() == [
        f"+ create index {name} on {TICKET} (account, updated_at DESC, id)"
    ]
    assert result.additive == result.ops and not result.removals
    apply(engine, target, result)
    assert live_indexes(engine)[name] == ("account", "updated_at", "id")
    assert descending(engine, name) == (False, True, False)
    assert plan(engine, target).empty
    # The same columns ascending are another index: the descending one is replaced.
    ascending = portal(account(), indexes=(("account", "updated_at", "id"),))
    assert kinds(plan(engine, ascending)) == ["drop_index", "create_index"]


def test_a_new_table_gets_its_directional_index_and_plans_empty(engine: sa.Engine) -> None:
    target = portal(account(), indexes=(("account", "-updated_at", "id"),))
    assert kinds(plan_and_apply(engine, target)) == ["create_table"]
    assert plan(engine, target).empty


def test_dropping_an_index_is_a_removal_not_additive(engine: sa.Engine) -> None:
    plan_and_apply(engine, portal(account(), indexes=(("account",),)))
    result = plan(engine, portal(account()))
    (op,) = result.ops
    assert op.kind == "drop_index" and not op.destructive
    assert result.removals == (op,) and not result.additive and not result.destructive
    assert op.describe() == f"- drop index ix_p_acme__ticket__account on {TICKET} (account)"
    apply(engine, portal(account()), result)
    assert live_indexes(engine) == {}


def test_an_index_portalis_did_not_make_survives_every_deploy(engine: sa.Engine) -> None:
    plan_and_apply(engine, portal(account(), sa.Column("subject", sa.String(200))))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX dba_ticket_subject ON {TICKET} (subject, id DESC)")
    # Not wanted by the definition, yet neither listed nor dropped ...
    target = portal(account(), sa.Column("subject", sa.String(200)), sa.Column("due", sa.Date))
    result = plan(engine, target)
    assert kinds(result) == ["add_column"]
    # ... also when the table is rebuilt (SQLite) for a type change.
    narrower = portal(account(), sa.Column("subject", sa.String(100)), sa.Column("due", sa.Date))
    plan_and_apply(engine, target)
    plan_and_apply(engine, narrower, allow_destructive=True)
    assert live_indexes(engine)["dba_ticket_subject"] == ("subject", "id")
    assert descending(engine, "dba_ticket_subject") == (False, True)
    assert plan(engine, narrower).empty


def test_an_index_of_someone_else_on_a_dropped_column_is_listed(engine: sa.Engine) -> None:
    plan_and_apply(engine, portal(account(), sa.Column("old", sa.Text)))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX dba_old ON {TICKET} (old)")
    target = portal(account())
    result = plan(engine, target)
    assert kinds(result) == ["drop_index", "drop_column"]
    assert result.ops[0].describe() == (
        f"- drop index dba_old on {TICKET} (old), not made by Portalis, on dropped old"
    )
    apply(engine, target, result, allow_destructive=True)
    assert live_indexes(engine) == {}


def test_a_renamed_field_carries_its_index_under_the_new_name(engine: sa.Engine) -> None:
    old = portal(sa.Column("acct", sa.Integer), indexes=(("acct", "-updated_at", "id"),))
    plan_and_apply(engine, old)
    new = portal(account(), indexes=(("account", "-updated_at", "id"),))
    renames = {TICKET: {"account": "acct"}}
    result = plan(engine, new, renames=renames)
    assert kinds(result) == ["rename_column", "rename_index"]
    assert result.ops[1].describe() == (
        "~ rename index ix_p_acme__ticket__acct_updated_at_desc_id"
        f" -> ix_p_acme__ticket__account_updated_at_desc_id on {TICKET}"
        " (account, updated_at DESC, id)"
    )
    assert result.additive == result.ops
    apply(engine, new, result)
    assert live_indexes(engine) == {
        "ix_p_acme__ticket__account_updated_at_desc_id": ("account", "updated_at", "id")
    }
    assert plan(engine, new, renames=renames).empty


def test_a_sqlite_rebuild_keeps_descending_index_columns(engine: sa.Engine) -> None:
    target = portal(account(), sa.Column("old", sa.Text), indexes=(("account", "-updated_at"),))
    plan_and_apply(engine, target)
    slimmer = portal(account(), indexes=(("account", "-updated_at"),))
    assert kinds(plan_and_apply(engine, slimmer, allow_destructive=True)) == ["drop_column"]
    assert descending(engine, "ix_p_acme__ticket__account_updated_at_desc") == (False, True)
    assert plan(engine, slimmer).empty


def test_long_index_names_are_hashed_and_still_recognised() -> None:
    table = "p_" + "x" * 40 + "__ticket"
    long = constraint_name("ix", table, ("account", "updated_at_desc", "id"))
    other = constraint_name("ix", table, ("account", "created_at_desc", "id"))
    assert len(long) == 63 and long != other
    assert is_portalis_index(long, table) and is_portalis_index(other, table)
    assert is_portalis_index(f"ix_{TICKET}__account", TICKET)
    assert is_portalis_index(f"uq_{TICKET}__email", TICKET)
    assert not is_portalis_index(f"ix_{TICKET}_account", TICKET)  # Alembic's convention
    assert not is_portalis_index("ticket_account_idx", TICKET)
    assert not is_portalis_index(f"ix_{PREFIX}ticket_note__x", TICKET)


def test_removals_are_counted_apart() -> None:
    ops = (
        SchemaOp("create_index", "t", detail="(a)", name="ix_t__a"),
        SchemaOp("drop_index", "t", detail="(b)", name="ix_t__b"),
        SchemaOp("drop_column", "t", "c", destructive=True, rows=2),
    )
    result = Plan(ops)
    assert result.additive == ops[:1]
    assert result.removals == ops[1:2]
    assert result.destructive == ops[2:]


def test_a_removed_field_drops_its_indexes_first(engine: sa.Engine) -> None:
    target = portal(account(), sa.Column("old", sa.Text), indexes=(("account", "old", "-id"),))
    plan_and_apply(engine, target)
    result = plan(engine, portal(account()))
    assert result.describe()[0] == (
        f"- drop index ix_p_acme__ticket__account_old_id_desc on {TICKET} (account, old, id DESC)"
    )
    assert kinds(result) == ["drop_index", "drop_column"]
    apply(engine, portal(account()), result, allow_destructive=True)
    assert live_indexes(engine) == {}


def test_two_indexes_spelled_alike_get_distinct_names(portalis_checker: Checker) -> None:
    bundle, _ = read_bundle(BLUEPRINTS / "b2c")
    files = dict(bundle.files)
    files["entities/ticket.yaml"] = (
        files["entities/ticket.yaml"]
        .replace(
            "    permissions:",
            "    indexes: [[status, due_desc], [status, -due]]\n    permissions:",
            1,
        )
        .replace("      due:", "      due_desc: {type: date}\n      due:", 1)
    )
    model = portalis_checker.check_bundle(Bundle.of(files), {}).unwrap()
    ticket = build_tables(model)["ticket"]
    names = {str(i.name) for i in ticket.indexes if "status_due_desc" in str(i.name)}
    assert len(names) == 2
    assert all(is_portalis_index(n, ticket.name) and len(n) <= 63 for n in names)
