"""Migration plans and their application, on SQLite and on PostgreSQL (`database_url`).

TableSets are built by hand so each test states exactly the schema change it is about.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from portalis.engine.data.db import create_engine
from portalis.engine.data.tables import TableSet, utcnow
from portalis.engine.deploy.migrations import (
    DestructiveChangeRefused,
    MigrationFailed,
    Plan,
    PlanOutdated,
    SchemaOp,
    apply,
    plan,
    plan_and_apply,
)
from portalis.engine.deploy.schema_types import canonical_type, is_widening

PREFIX = "p_acme__"


def system_columns(prefix: str = PREFIX) -> list[sa.Column[Any]]:
    """The system columns tables.py gives every entity table."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, default=utcnow),
        sa.Column(
            "created_by",
            sa.Integer,
            sa.ForeignKey(f"{prefix}user.id", ondelete="SET NULL", use_alter=True),
            nullable=True,
        ),
        sa.Column("version", sa.Integer, nullable=False, default=1),
    ]


def portal(
    *ticket_columns: sa.Column[Any],
    prefix: str = PREFIX,
    ticket_indexes: tuple[tuple[str, ...], ...] = (),
    extra: dict[str, list[sa.Column[Any]]] | None = None,
    with_ticket: bool = True,
) -> TableSet:
    """A portal with a user table, a ticket table with `ticket_columns` and `extra` tables."""
    metadata = sa.MetaData()
    tables = {
        "user": sa.Table(
            f"{prefix}user", metadata, *system_columns(prefix), sa.Column("email", sa.String(200))
        )
    }
    if with_ticket:
        ticket = sa.Table(f"{prefix}ticket", metadata, *system_columns(prefix), *ticket_columns)
        for columns in ticket_indexes:
            sa.Index(f"ix_{ticket.name}__{'_'.join(columns)}", *(ticket.c[c] for c in columns))
        tables["ticket"] = ticket
    for entity, columns in (extra or {}).items():
        tables[entity] = sa.Table(f"{prefix}{entity}", metadata, *system_columns(prefix), *columns)
    return TableSet(metadata, tables, prefix)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    eng = create_engine(database_url)
    yield eng
    eng.dispose()


def deploy(engine: sa.Engine, target: TableSet, **kwargs: Any) -> Plan:
    return plan_and_apply(engine, target, **kwargs)


def insert(engine: sa.Engine, target: TableSet, entity: str, *rows: dict[str, Any]) -> None:
    with engine.begin() as conn:
        for row in rows:  # one by one: rows may set different columns
            conn.execute(target[entity].insert().values(row))


def rows(engine: sa.Engine, table: str, *columns: str) -> list[tuple[Any, ...]]:
    query = sa.select(*(sa.column(c) for c in columns)).select_from(sa.table(table))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query.order_by(sa.column("id"))).all()]


def columns(engine: sa.Engine, table: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {c["name"]: dict(c) for c in sa.inspect(conn).get_columns(table)}


def snapshot(engine: sa.Engine) -> dict[str, Any]:
    """Everything observable about the database: tables, columns, indexes, keys, rows."""
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for name in sorted(inspector.get_table_names()):
            cols = [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)]
            indexes = sorted(
                (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(name)
            )
            keys = sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in inspector.get_foreign_keys(name)
            )
            data = sorted(
                repr(tuple(r))
                for r in conn.execute(sa.select(sa.text("*")).select_from(sa.table(name)))
            )
            out[name] = (cols, indexes, keys, data)
    return out


def kinds(result: Plan) -> list[tuple[str, str, str | None]]:
    return [(op.kind, op.table, op.column) for op in result.ops]


# -- create, idempotence ---------------------------------------------------------------------


def test_empty_database_creates_everything_and_replanning_is_empty(engine: sa.Engine) -> None:
    target = portal(
        sa.Column("subject", sa.String(200), nullable=False), ticket_indexes=(("subject",),)
    )
    first = plan(engine, target)
    assert [op.kind for op in first.ops] == ["create_table", "create_table"]
    assert first.ops[0].table == "p_acme__user"  # referenced before referencing
    assert not first.destructive and first.additive == first.ops
    apply(engine, target, first)
    again = plan(
        engine,
        portal(
            sa.Column("subject", sa.String(200), nullable=False), ticket_indexes=(("subject",),)
        ),
    )
    assert again.empty and again.describe() == []
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        assert {i["name"] for i in inspector.get_indexes("p_acme__ticket")} == {
            "ix_p_acme__ticket__subject"
        }
        assert [fk["referred_table"] for fk in inspector.get_foreign_keys("p_acme__ticket")] == [
            "p_acme__user"
        ]


def test_apply_of_an_empty_plan_changes_nothing(engine: sa.Engine) -> None:
    deploy(engine, portal())
    before = snapshot(engine)
    apply(engine, portal(), plan(engine, portal()))
    assert snapshot(engine) == before


# -- additive changes -------------------------------------------------------------------------


def test_add_nullable_column_is_one_additive_op_and_keeps_rows(engine: sa.Engine) -> None:
    target = portal(sa.Column("subject", sa.String(200)))
    deploy(engine, target)
    insert(engine, target, "ticket", {"subject": "a"}, {"subject": "b"})
    result = plan(engine, portal(sa.Column("subject", sa.String(200)), sa.Column("due", sa.Date)))
    assert kinds(result) == [("add_column", "p_acme__ticket", "due")]
    assert result.describe() == ["+ add column p_acme__ticket.due DATE"]
    assert not result.destructive
    apply(engine, portal(sa.Column("subject", sa.String(200)), sa.Column("due", sa.Date)), result)
    assert rows(engine, "p_acme__ticket", "subject", "due") == [("a", None), ("b", None)]


def test_not_null_column_with_default_is_additive_and_fills_rows(engine: sa.Engine) -> None:
    target = portal(sa.Column("subject", sa.String(200)))
    deploy(engine, target)
    insert(engine, target, "ticket", {"subject": "a"})
    new = portal(
        sa.Column("subject", sa.String(200)),
        sa.Column("priority", sa.String(20), nullable=False, default="normal"),
        sa.Column("score", sa.Integer, nullable=False, server_default="7"),
    )
    result = plan(engine, new)
    assert not result.destructive and len(result.ops) == 2
    apply(engine, new, result)
    assert rows(engine, "p_acme__ticket", "priority", "score") == [("normal", 7)]
    assert columns(engine, "p_acme__ticket")["priority"]["nullable"] is False
    assert plan(engine, new).empty


def test_rename_keeps_data(engine: sa.Engine) -> None:
    target = portal(sa.Column("subj", sa.String(200)), ticket_indexes=(("subj",),))
    deploy(engine, target)
    insert(engine, target, "ticket", {"subj": "hello"}, {"subj": None})
    new = portal(sa.Column("subject", sa.String(200)), ticket_indexes=(("subject",),))
    renames = {"p_acme__ticket": {"subject": "subj"}}
    result = plan(engine, new, renames=renames)
    assert ("rename_column", "p_acme__ticket", "subject") in kinds(result)
    assert not result.destructive
    rename = next(op for op in result.ops if op.kind == "rename_column")
    assert rename.previous == "subj" and rename.detail == "renamed from subj"
    assert rename.describe() == "~ rename column p_acme__ticket.subj -> subject"
    apply(engine, new, result)
    assert rows(engine, "p_acme__ticket", "subject") == [("hello",), (None,)]
    assert plan(engine, new, renames=renames).empty  # already renamed: nothing left to do


def test_without_rename_a_renamed_field_is_drop_plus_add(engine: sa.Engine) -> None:
    deploy(engine, portal(sa.Column("subj", sa.String(200))))
    result = plan(engine, portal(sa.Column("subject", sa.String(200))))
    assert sorted(op.kind for op in result.ops) == ["add_column", "drop_column"]
    assert [op.kind for op in result.destructive] == ["drop_column"]


def test_widening_is_additive_and_keeps_values(engine: sa.Engine) -> None:
    old = portal(
        sa.Column("subject", sa.String(100)),
        sa.Column("body", sa.String(50)),
        sa.Column("count", sa.Integer),
        sa.Column("amount", sa.Numeric(8, 2)),
    )
    deploy(engine, old)
    insert(
        engine,
        old,
        "ticket",
        {"subject": "s" * 100, "body": "b", "count": 2**31 - 1, "amount": Decimal("123456.78")},
    )
    new = portal(
        sa.Column("subject", sa.String(200)),
        sa.Column("body", sa.Text),
        sa.Column("count", sa.BigInteger),
        sa.Column("amount", sa.Numeric(12, 2)),
    )
    result = plan(engine, new)
    assert sorted(op.kind for op in result.ops) == ["alter_type"] * 4
    assert not result.destructive
    assert (
        "~ change type of p_acme__ticket.subject VARCHAR(100) -> VARCHAR(200)" in result.describe()
    )
    apply(engine, new, result)
    ticket = new["ticket"]
    with engine.connect() as conn:
        query = sa.select(ticket.c.subject, ticket.c.body, ticket.c.count, ticket.c.amount)
        assert [tuple(r) for r in conn.execute(query)] == [
            ("s" * 100, "b", 2**31 - 1, Decimal("123456.78"))
        ]
    assert plan(engine, new).empty


def test_drop_not_null_is_additive(engine: sa.Engine) -> None:
    deploy(engine, portal(sa.Column("subject", sa.String(200), nullable=False)))
    new = portal(sa.Column("subject", sa.String(200), nullable=True))
    result = plan(engine, new)
    assert (
        kinds(result) == [("drop_not_null", "p_acme__ticket", "subject")] and not result.destructive
    )
    apply(engine, new, result)
    assert columns(engine, "p_acme__ticket")["subject"]["nullable"] is True


# -- destructive changes ---------------------------------------------------------------------


def test_drop_column_is_refused_without_consent_and_applied_with_it(engine: sa.Engine) -> None:
    target = portal(sa.Column("subject", sa.String(200)), sa.Column("old", sa.Text))
    deploy(engine, target)
    insert(
        engine,
        target,
        "ticket",
        {"subject": "a", "old": "x"},
        {"subject": "b", "old": "y"},
        {"subject": "c"},
    )
    new = portal(sa.Column("subject", sa.String(200)))
    result = plan(engine, new)
    assert kinds(result) == [("drop_column", "p_acme__ticket", "old")]
    (op,) = result.destructive
    assert op.rows == 2  # rows where the column has a value
    assert op.describe() == "! drop column p_acme__ticket.old (2 rows have a value)"
    before = snapshot(engine)
    with pytest.raises(DestructiveChangeRefused) as caught:
        apply(engine, new, result)
    assert caught.value.code == "destructive-change" and caught.value.ops == (op,)
    assert snapshot(engine) == before
    apply(engine, new, result, allow_destructive=True)
    assert "old" not in columns(engine, "p_acme__ticket")
    assert rows(engine, "p_acme__ticket", "subject") == [("a",), ("b",), ("c",)]


def test_drop_table_of_removed_entity_is_destructive_with_rows(engine: sa.Engine) -> None:
    target = portal(extra={"note": [sa.Column("text", sa.Text)]})
    deploy(engine, target)
    insert(engine, target, "note", {"text": "1"}, {"text": "2"}, {"text": "3"})
    new = portal()
    result = plan(engine, new)
    assert kinds(result) == [("drop_table", "p_acme__note", None)]
    assert result.ops[0].destructive and result.ops[0].rows == 3
    assert result.describe() == ["! drop table p_acme__note (3 rows)"]
    with pytest.raises(DestructiveChangeRefused):
        apply(engine, new, result)
    apply(engine, new, result, allow_destructive=True)
    with engine.connect() as conn:
        assert "p_acme__note" not in sa.inspect(conn).get_table_names()


def test_narrowing_is_refused_without_consent(engine: sa.Engine) -> None:
    target = portal(sa.Column("subject", sa.String(200)))
    deploy(engine, target)
    insert(engine, target, "ticket", {"subject": "short"}, {"subject": None})
    new = portal(sa.Column("subject", sa.String(20)))
    result = plan(engine, new)
    (op,) = result.ops
    assert (op.kind, op.destructive, op.rows) == ("alter_type", True, 1)
    assert op.detail == "VARCHAR(200) -> VARCHAR(20)"
    before = snapshot(engine)
    with pytest.raises(DestructiveChangeRefused):
        apply(engine, new, result)
    assert snapshot(engine) == before
    apply(engine, new, result, allow_destructive=True)  # every value fits: nothing is lost
    assert plan(engine, new).empty
    assert rows(engine, "p_acme__ticket", "subject") == [("short",), (None,)]


def test_narrowing_that_would_cut_values_fails_even_with_consent(engine: sa.Engine) -> None:
    target = portal(sa.Column("subject", sa.String(200)), sa.Column("amount", sa.Numeric(10, 4)))
    deploy(engine, target)
    insert(engine, target, "ticket", {"subject": "x" * 50, "amount": Decimal("1.5")})
    before = snapshot(engine)
    for new in (
        portal(sa.Column("subject", sa.String(20)), sa.Column("amount", sa.Numeric(10, 4))),
        portal(sa.Column("subject", sa.String(200)), sa.Column("amount", sa.Numeric(3, 0))),
    ):
        with pytest.raises(MigrationFailed) as caught:
            deploy(engine, new, allow_destructive=True)
        assert caught.value.code == "lossy-conversion"
        assert snapshot(engine) == before


def test_kind_change_converts_when_every_value_survives(engine: sa.Engine) -> None:
    target = portal(sa.Column("code", sa.String(20)))
    deploy(engine, target)
    insert(engine, target, "ticket", {"code": "12"}, {"code": None})
    new = portal(sa.Column("code", sa.Integer))
    result = plan(engine, new)
    assert result.ops[0].kind == "alter_type" and result.ops[0].destructive
    apply(engine, new, result, allow_destructive=True)
    assert rows(engine, "p_acme__ticket", "code") == [(12,), (None,)]
    assert plan(engine, new).empty


def test_kind_change_that_loses_values_fails_and_changes_nothing(engine: sa.Engine) -> None:
    target = portal(sa.Column("code", sa.String(20)), sa.Column("when", sa.DateTime()))
    deploy(engine, target)
    insert(engine, target, "ticket", {"code": "007"}, {"code": "abc"})
    before = snapshot(engine)
    with pytest.raises(MigrationFailed):
        deploy(
            engine,
            portal(sa.Column("code", sa.Integer), sa.Column("when", sa.DateTime())),
            allow_destructive=True,
        )
    assert snapshot(engine) == before


def test_datetime_to_date_is_narrowing(engine: sa.Engine) -> None:
    deploy(engine, portal(sa.Column("when", sa.DateTime())))
    result = plan(engine, portal(sa.Column("when", sa.Date())))
    assert result.ops[0].kind == "alter_type" and result.ops[0].destructive


def test_not_null_without_default_refused_on_rows_fine_on_empty_table(engine: sa.Engine) -> None:
    target = portal(sa.Column("subject", sa.String(200)))
    deploy(engine, target)
    new = portal(
        sa.Column("subject", sa.String(200)), sa.Column("code", sa.String(10), nullable=False)
    )
    empty_plan = plan(engine, new)
    assert kinds(empty_plan) == [("add_column", "p_acme__ticket", "code")]
    assert not empty_plan.destructive

    insert(engine, target, "ticket", {"subject": "a"}, {"subject": "b"})
    result = plan(engine, new)
    (op,) = result.destructive
    assert op.rows == 2
    assert op.describe() == (
        "! add column p_acme__ticket.code VARCHAR(10) NOT NULL without default"
        " (2 existing rows need a value)"
    )
    with pytest.raises(PlanOutdated):
        apply(engine, new, empty_plan)  # the table is no longer empty: that plan is stale
    before = snapshot(engine)
    with pytest.raises(DestructiveChangeRefused):
        apply(engine, new, result)
    assert snapshot(engine) == before
    apply(engine, new, result, allow_destructive=True)
    assert rows(engine, "p_acme__ticket", "code") == [("",), ("",)]
    assert columns(engine, "p_acme__ticket")["code"]["nullable"] is False
    assert plan(engine, new).empty


def test_not_null_on_empty_table_applies(engine: sa.Engine) -> None:
    deploy(engine, portal())
    new = portal(sa.Column("due", sa.Date, nullable=False))
    result = plan(engine, new)
    assert not result.destructive
    apply(engine, new, result)
    assert columns(engine, "p_acme__ticket")["due"]["nullable"] is False


def test_not_null_date_without_default_has_no_fill_value(engine: sa.Engine) -> None:
    target = portal()
    deploy(engine, target)
    insert(engine, target, "ticket", {})
    before = snapshot(engine)
    with pytest.raises(MigrationFailed) as caught:
        deploy(engine, portal(sa.Column("due", sa.Date, nullable=False)), allow_destructive=True)
    assert caught.value.code == "no-fill-value"
    assert snapshot(engine) == before


def test_set_not_null_is_destructive_only_when_nulls_exist(engine: sa.Engine) -> None:
    target = portal(sa.Column("subject", sa.String(200)), sa.Column("count", sa.Integer))
    deploy(engine, target)
    insert(
        engine, target, "ticket", {"subject": "a", "count": None}, {"subject": "b", "count": None}
    )
    new = portal(
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    result = plan(engine, new)
    by_column = {op.column: op for op in result.ops}
    assert by_column["subject"].kind == "set_not_null" and not by_column["subject"].destructive
    assert by_column["count"].destructive and by_column["count"].rows == 2
    assert (
        by_column["count"].describe() == "! set NOT NULL on p_acme__ticket.count (2 rows are NULL)"
    )
    apply(engine, new, result, allow_destructive=True)
    assert rows(engine, "p_acme__ticket", "subject", "count") == [("a", 0), ("b", 0)]
    assert plan(engine, new).empty


# -- isolation --------------------------------------------------------------------------------


def test_other_portals_and_platform_tables_are_untouched(engine: sa.Engine) -> None:
    other = portal(sa.Column("subject", sa.String(200)), prefix="p_other__")
    deploy(engine, other)
    insert(engine, other, "ticket", {"subject": "theirs"})
    platform = sa.Table(
        "portalis_versions", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True)
    )
    with engine.begin() as conn:
        platform.create(conn)
        conn.execute(platform.insert(), [{"id": 1}])
    theirs = {k: v for k, v in snapshot(engine).items() if not k.startswith(PREFIX)}

    ours = portal(
        sa.Column("subject", sa.String(200)), extra={"note": [sa.Column("text", sa.Text)]}
    )
    result = plan(engine, ours)
    assert {op.table for op in result.ops} == {"p_acme__user", "p_acme__ticket", "p_acme__note"}
    apply(engine, ours, result)
    # Removing every ticket-ish column, the note table, ...: still never their tables.
    deploy(engine, portal(with_ticket=False), allow_destructive=True)
    assert {k: v for k, v in snapshot(engine).items() if not k.startswith(PREFIX)} == theirs


def test_target_tables_must_carry_the_prefix(engine: sa.Engine) -> None:
    target = portal()
    bad = TableSet(target.metadata, target.tables, "p_other__")
    with pytest.raises(ValueError):
        plan(engine, bad)


# -- one transaction --------------------------------------------------------------------------


def test_failure_in_extra_rolls_back_all_ddl_and_data(engine: sa.Engine) -> None:
    target = portal(sa.Column("subject", sa.String(200)), sa.Column("old", sa.Text))
    deploy(engine, target)
    insert(engine, target, "ticket", {"subject": "a", "old": "x"})
    before = snapshot(engine)
    new = portal(
        sa.Column("subject", sa.String(300)),
        sa.Column("due", sa.Date),
        extra={"note": [sa.Column("text", sa.Text)]},
    )
    result = plan(engine, new)
    assert {op.kind for op in result.ops} == {
        "create_table",
        "add_column",
        "alter_type",
        "drop_column",
    }

    def boom(conn: sa.Connection) -> None:
        conn.execute(new["ticket"].update().values(subject="changed"))
        raise RuntimeError("version record failed")

    with pytest.raises(RuntimeError, match="version record failed"):
        apply(engine, new, result, allow_destructive=True, extra=boom)
    assert snapshot(engine) == before
    assert kinds(plan(engine, new)) == kinds(result)


def test_extra_commits_with_the_schema(engine: sa.Engine) -> None:
    versions = sa.Table("portalis_versions", sa.MetaData(), sa.Column("n", sa.Integer))
    with engine.begin() as conn:
        versions.create(conn)

    def record(conn: sa.Connection) -> None:
        conn.execute(versions.insert().values(n=1))

    deploy(engine, portal(), extra=record)
    assert rows(engine, "p_acme__ticket", "id") == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(versions.c.n)).scalars().all() == [1]


def test_unique_index_over_duplicates_fails_after_earlier_steps_and_rolls_back(
    engine: sa.Engine,
) -> None:
    target = portal(sa.Column("email", sa.String(200)))
    deploy(engine, target)
    insert(engine, target, "ticket", {"email": "a@x"}, {"email": "a@x"})
    before = snapshot(engine)
    new = portal(
        sa.Column("email", sa.String(200), unique=True),
        sa.Column("due", sa.Date),
        extra={"note": [sa.Column("text", sa.Text)]},
    )
    result = plan(engine, new)
    assert [op.kind for op in result.ops] == ["create_table", "add_column", "create_index"]
    assert result.ops[-1].detail == "UNIQUE (email)"
    with pytest.raises(MigrationFailed) as caught:
        apply(engine, new, result)
    assert caught.value.code == "migration-failed"
    assert snapshot(engine) == before


def test_plan_made_before_a_schema_change_is_outdated(engine: sa.Engine) -> None:
    deploy(engine, portal())
    new = portal(sa.Column("due", sa.Date))
    result = plan(engine, new)
    deploy(engine, portal(sa.Column("other", sa.Text)))
    with pytest.raises(PlanOutdated):
        apply(engine, new, result)


# -- foreign keys and indexes -----------------------------------------------------------------


def test_foreign_key_cycle_between_new_tables(engine: sa.Engine) -> None:
    def build() -> TableSet:
        metadata = sa.MetaData()
        user = sa.Table(f"{PREFIX}user", metadata, *system_columns())
        account = sa.Table(
            f"{PREFIX}account",
            metadata,
            *system_columns(),
            sa.Column("owner", sa.Integer, sa.ForeignKey(f"{PREFIX}contact.id")),
        )
        contact = sa.Table(
            f"{PREFIX}contact",
            metadata,
            *system_columns(),
            sa.Column("account", sa.Integer, sa.ForeignKey(f"{PREFIX}account.id")),
        )
        return TableSet(metadata, {"user": user, "account": account, "contact": contact}, PREFIX)

    target = build()
    result = plan(engine, target)
    assert sorted(op.table for op in result.ops) == sorted(target.metadata.tables)
    apply(engine, target, result)
    assert plan(engine, build()).empty
    with engine.begin() as conn:
        conn.execute(target["account"].insert().values(id=1))
        conn.execute(target["contact"].insert().values(id=1, account=1))
        conn.execute(target["account"].update().values(owner=1))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(target["contact"].insert().values(id=2, account=99))


def test_add_foreign_key_and_index_to_existing_table(engine: sa.Engine) -> None:
    target = portal(sa.Column("subject", sa.String(200)), ticket_indexes=(("subject",),))
    deploy(engine, target)
    insert(engine, target, "ticket", {"subject": "a"})
    new = portal(
        sa.Column("subject", sa.String(200)),
        sa.Column("owner", sa.Integer, sa.ForeignKey(f"{PREFIX}user.id")),
        ticket_indexes=(("owner",),),
    )
    result = plan(engine, new)
    assert [op.kind for op in result.ops] == [
        "drop_index",
        "add_column",
        "add_foreign_key",
        "create_index",
    ]
    assert not result.destructive
    assert result.ops[0].describe() == (
        "- drop index ix_p_acme__ticket__subject on p_acme__ticket (subject)"
    )
    apply(engine, new, result)
    assert plan(engine, new).empty
    assert rows(engine, "p_acme__ticket", "subject") == [("a",)]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(new["ticket"].insert().values(owner=42))


def test_adding_a_foreign_key_over_orphans_fails_and_rolls_back(engine: sa.Engine) -> None:
    target = portal(sa.Column("owner", sa.Integer))
    deploy(engine, target)
    insert(engine, target, "ticket", {"owner": 42})
    before = snapshot(engine)
    with pytest.raises(MigrationFailed):
        deploy(engine, portal(sa.Column("owner", sa.Integer, sa.ForeignKey(f"{PREFIX}user.id"))))
    assert snapshot(engine) == before


def test_changed_and_removed_foreign_keys_and_unique_constraints(engine: sa.Engine) -> None:
    extra = {"team": [sa.Column("name", sa.Text)]}
    target = portal(
        sa.Column("owner", sa.Integer, sa.ForeignKey(f"{PREFIX}user.id")),
        sa.Column("code", sa.String(20), unique=True),
        extra=extra,
    )
    deploy(engine, target)
    insert(engine, target, "team", {"id": 5})
    insert(engine, target, "ticket", {"owner": None, "code": "a"})
    new = portal(
        sa.Column("owner", sa.Integer, sa.ForeignKey(f"{PREFIX}team.id")),
        sa.Column("code", sa.String(20)),
        extra={"team": [sa.Column("name", sa.Text)]},
    )
    result = plan(engine, new)
    assert [op.kind for op in result.ops] == ["drop_foreign_key", "drop_unique", "add_foreign_key"]
    assert not result.destructive
    apply(engine, new, result)
    assert plan(engine, new).empty
    insert(engine, new, "ticket", {"owner": 5, "code": "a"})  # duplicates allowed now
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(new["ticket"].insert().values(owner=6))


def test_sqlite_rebuild_of_a_referenced_table_keeps_rows_and_integrity(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        extra = {
            "message": [
                sa.Column(
                    "ticket", sa.Integer, sa.ForeignKey(f"{PREFIX}ticket.id", ondelete="CASCADE")
                )
            ]
        }
        target = portal(
            sa.Column("subject", sa.String(200)), sa.Column("old", sa.Text), extra=extra
        )
        deploy(engine, target)
        insert(
            engine,
            target,
            "ticket",
            {"id": 1, "subject": "a", "old": "x"},
            {"id": 2, "subject": "b"},
        )
        insert(engine, target, "message", {"ticket": 1}, {"ticket": 2}, {"ticket": 2})
        extra = {
            "message": [
                sa.Column(
                    "ticket", sa.Integer, sa.ForeignKey(f"{PREFIX}ticket.id", ondelete="CASCADE")
                )
            ]
        }
        new = portal(sa.Column("subject", sa.String(200), nullable=False), extra=extra)
        result = deploy(engine, new, allow_destructive=True)  # drop column + NOT NULL: a rebuild
        assert {op.kind for op in result.ops} == {"drop_column", "set_not_null"}
        assert rows(engine, "p_acme__ticket", "id", "subject") == [(1, "a"), (2, "b")]
        assert rows(engine, "p_acme__message", "ticket") == [(1,), (2,), (2,)]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            keys = sa.inspect(conn).get_foreign_keys("p_acme__message")
        assert {fk["referred_table"] for fk in keys} == {"p_acme__ticket", "p_acme__user"}
        with engine.begin() as conn:  # the child's key still points at the rebuilt table
            conn.execute(new["ticket"].delete().where(new["ticket"].c.id == 2))
        assert rows(engine, "p_acme__message", "ticket") == [(1,)]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(new["message"].insert().values(ticket=99))
    finally:
        engine.dispose()


def test_sqlite_foreign_keys_are_back_on_after_a_failed_apply(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url, poolclass=sa.pool.StaticPool)  # one connection: the same one
    try:
        target = portal(sa.Column("old", sa.Text))
        deploy(engine, target)

        def boom(conn: sa.Connection) -> None:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            deploy(engine, portal(), allow_destructive=True, extra=boom)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert "old" in columns(engine, "p_acme__ticket")
    finally:
        engine.dispose()


# -- pure parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "widening"),
    [
        (sa.String(100), sa.String(200), True),
        (sa.String(200), sa.String(20), False),
        (sa.String(200), sa.Text(), True),
        (sa.Text(), sa.String(50), False),
        (sa.Integer(), sa.BigInteger(), True),
        (sa.BigInteger(), sa.Integer(), False),
        (sa.Numeric(8, 2), sa.Numeric(12, 2), True),
        (sa.Numeric(8, 2), sa.Numeric(8, 4), False),
        (sa.String(20), sa.Integer(), False),
        (sa.DateTime(), sa.Date(), False),
        (sa.Float(), sa.Float(), True),
    ],
)
def test_widening_rules(
    old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any], widening: bool
) -> None:
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert is_widening(canonical_type(old, dialect), canonical_type(new, dialect)) is widening


def test_canonical_types_compare_the_stored_type() -> None:
    pg, lite = postgresql.dialect(), sqlite.dialect()
    # A float is DOUBLE PRECISION once reflected from PostgreSQL.
    assert canonical_type(sa.Float(), pg) == canonical_type(postgresql.DOUBLE_PRECISION(), pg)
    # SQLite keeps no time zone; PostgreSQL does.
    assert canonical_type(sa.DateTime(timezone=True), lite) == canonical_type(sa.DateTime(), lite)
    assert canonical_type(sa.DateTime(timezone=True), pg) != canonical_type(sa.DateTime(), pg)
    # Emulated types compare as what they are stored as.
    assert canonical_type(sa.Uuid(), lite) == canonical_type(sa.CHAR(32), lite)
    assert canonical_type(sa.String(10).with_variant(sa.Text(), "postgresql"), pg).variant == "text"


def test_op_and_plan_descriptions() -> None:
    ops = (
        SchemaOp("create_table", "p_a__t", detail="(5 columns)"),
        SchemaOp("add_column", "p_a__t", "due", "DATE"),
        SchemaOp("drop_column", "p_a__t", "old", destructive=True, rows=1),
        SchemaOp("create_index", "p_a__t", detail="(due)", name="ix_p_a__t__due"),
    )
    result = Plan(ops)
    assert result.describe() == [
        "+ create table p_a__t (5 columns)",
        "+ add column p_a__t.due DATE",
        "! drop column p_a__t.old (1 row has a value)",
        "+ create index ix_p_a__t__due on p_a__t (due)",
    ]
    assert result.destructive == (ops[2],) and len(result.additive) == 3 and not result.empty
    assert Plan().empty


def test_dates_survive_a_rebuild(engine: sa.Engine) -> None:
    target = portal(sa.Column("due", sa.Date), sa.Column("old", sa.Text))
    deploy(engine, target)
    insert(engine, target, "ticket", {"due": date(2026, 1, 31), "old": "x"})
    new = portal(sa.Column("due", sa.Date))
    deploy(engine, new, allow_destructive=True)
    with engine.connect() as conn:
        assert conn.execute(sa.select(new["ticket"].c.due)).scalar_one() == date(2026, 1, 31)


def test_rebuild_of_the_self_referencing_user_table(engine: sa.Engine) -> None:
    def build(*more: sa.Column[Any]) -> TableSet:
        metadata = sa.MetaData()
        user = sa.Table(
            f"{PREFIX}user", metadata, *system_columns(), sa.Column("email", sa.String(200)), *more
        )
        return TableSet(metadata, {"user": user}, PREFIX)

    target = build(sa.Column("nick", sa.Text))
    deploy(engine, target)
    insert(engine, target, "user", {"id": 1, "email": "a@x"}, {"id": 2, "created_by": 1})
    new = build()
    deploy(engine, new, allow_destructive=True)
    assert rows(engine, "p_acme__user", "id", "created_by") == [(1, None), (2, 1)]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(new["user"].insert().values(created_by=77))
    with engine.begin() as conn:  # ON DELETE SET NULL survived the rebuild
        conn.execute(new["user"].delete().where(new["user"].c.id == 1))
    assert rows(engine, "p_acme__user", "id", "created_by") == [(2, None)]


def test_dropping_tables_that_reference_each_other_and_are_referenced(engine: sa.Engine) -> None:
    def build(*, keep_cycle: bool) -> TableSet:
        metadata = sa.MetaData()
        tables = {"user": sa.Table(f"{PREFIX}user", metadata, *system_columns())}
        ticket_columns: list[sa.Column[Any]] = []
        if keep_cycle:
            for entity, other in (("account", "contact"), ("contact", "account")):
                tables[entity] = sa.Table(
                    f"{PREFIX}{entity}",
                    metadata,
                    *system_columns(),
                    sa.Column(other, sa.Integer, sa.ForeignKey(f"{PREFIX}{other}.id")),
                )
            ticket_columns.append(
                sa.Column("account", sa.Integer, sa.ForeignKey(f"{PREFIX}account.id"))
            )
        tables["ticket"] = sa.Table(
            f"{PREFIX}ticket",
            metadata,
            *system_columns(),
            sa.Column("subject", sa.Text),
            *ticket_columns,
        )
        return TableSet(metadata, tables, PREFIX)

    target = build(keep_cycle=True)
    deploy(engine, target)
    with engine.begin() as conn:
        conn.execute(target["account"].insert().values(id=1))
        conn.execute(target["contact"].insert().values(id=1, account=1))
        conn.execute(target["account"].update().values(contact=1))
        conn.execute(target["ticket"].insert().values(subject="s", account=1))
    result = plan(engine, build(keep_cycle=False))
    assert sorted((op.kind, op.table, op.rows) for op in result.destructive) == [
        ("drop_column", "p_acme__ticket", 1),
        ("drop_table", "p_acme__account", 1),
        ("drop_table", "p_acme__contact", 1),
    ]
    apply(engine, build(keep_cycle=False), result, allow_destructive=True)
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) == {"p_acme__user", "p_acme__ticket"}
    assert rows(engine, "p_acme__ticket", "subject") == [("s",)]
    assert plan(engine, build(keep_cycle=False)).empty


def test_references_written_by_extra_are_checked(engine: sa.Engine) -> None:
    target = portal(sa.Column("owner", sa.Integer, sa.ForeignKey(f"{PREFIX}user.id")))

    def orphan(conn: sa.Connection) -> None:
        conn.execute(target["ticket"].insert().values(owner=404))

    with pytest.raises((MigrationFailed, sa.exc.IntegrityError)):
        deploy(engine, target, extra=orphan)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
