"""Indexes derived from list blocks and declared by entities: which ones a definition gets, and
that the database answers the starter's account-scoped ticket list from its index, in order,
without sorting (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from portalis.engine.data.tables import build_tables
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.index_diff import target_indexes
from portalis.engine.deploy.model_changes import model_changes
from portalis.engine.deploy.validator import Checker
from portalis.engine.deploy.versions import deploy, prepare
from portalis.testing.portals import BLUEPRINTS, actor_for, deploy_dir

TICKET = "p_acme_support__ticket"


def starter(edits: dict[str, tuple[str, str]] | None = None) -> Bundle:
    """The starter's files after `edits` (file → old text, new text)."""
    bundle, _ = read_bundle(BLUEPRINTS / "b2c")
    files = dict(bundle.files)
    for path, (old, new) in (edits or {}).items():
        assert old in files[path], (path, old)
        files[path] = files[path].replace(old, new, 1)
    return Bundle.of(files)


def indexes(checker: Checker, edits: dict[str, tuple[str, str]] | None = None) -> dict[str, str]:
    """Index name → text of the ticket table of the starter, after `edits`."""
    result = checker.check_bundle(starter(edits), {})
    assert result.model is not None, result.report.problems
    return {s.name: s.text() for s in target_indexes(build_tables(result.model)["ticket"])}


def test_the_starter_gets_an_index_per_list_row_filter_and_sort(
    portalis_checker: Checker,
) -> None:
    assert indexes(portalis_checker) == {
        # customers read their account's tickets, agents all: both newest first
        f"ix_{TICKET}__account_updated_at_desc_id": "(account, updated_at DESC, id)",
        f"ix_{TICKET}__updated_at_desc_id": "(updated_at DESC, id)",
        f"ix_{TICKET}__assignee": "(assignee)",
        f"ix_{TICKET}__created_by": "(created_by)",
        f"ix_{TICKET}__priority": "(priority)",
        f"ix_{TICKET}__status": "(status)",
    }  # `(account)` and `(updated_at)` alone are served by the composite indexes


def test_own_and_where_scopes_lead_and_declared_indexes_join(
    portalis_checker: Checker,
) -> None:
    found = indexes(
        portalis_checker,
        {
            "entities/ticket.yaml": (
                "scope: all}",
                "scope: {where: {assignee: $actor.id}}}\n"
                "      - {roles: [agent], actions: [read], scope: own}",
            ),
            "pages/tickets.yaml": ("sort: -updated_at", "sort: due"),
        },
    )
    assert found[f"ix_{TICKET}__assignee_due_id"] == "(assignee, due, id)"
    assert found[f"ix_{TICKET}__created_by_due_id"] == "(created_by, due, id)"
    assert found[f"ix_{TICKET}__account_due_id"] == "(account, due, id)"
    assert f"ix_{TICKET}__assignee" not in found and f"ix_{TICKET}__created_by" not in found
    declared = indexes(
        portalis_checker,
        {
            "entities/ticket.yaml": (
                "    permissions:",
                "    indexes: [[account, status, -updated_at], [status]]\n    permissions:",
            )
        },
    )
    assert declared[f"ix_{TICKET}__account_status_updated_at_desc"] == (
        "(account, status, updated_at DESC)"
    )
    assert f"ix_{TICKET}__status" in declared  # declared and single: one index


def test_declared_indexes_the_primary_or_a_unique_key_serves_are_not_made(
    portalis_checker: Checker,
) -> None:
    bundle = starter(
        {
            "entities/people.yaml": ("  user:\n", "  user:\n    indexes: [[-email]]\n"),
            "entities/ticket.yaml": (
                "    permissions:",
                "    indexes: [[id, status]]\n    permissions:",
            ),
        }
    )
    result = portalis_checker.check_bundle(bundle, {})
    assert [(p.code, p.severity.value) for p in result.report.problems] == [
        ("index-invalid", "warning")  # [id, status]: id is the primary key
    ]
    assert result.model is not None
    tables = build_tables(result.model)
    user = {s.name: s.text() for s in target_indexes(tables["user"])}
    assert user["ix_p_acme_support__user__email"] == "UNIQUE (email)"
    assert not any("email" in name and name != "ix_p_acme_support__user__email" for name in user)
    ticket = {s.name for s in target_indexes(tables["ticket"])}
    assert not any("__id_" in name for name in ticket)


def test_a_list_sorted_by_id_needs_no_tie_break(portalis_checker: Checker) -> None:
    found = indexes(portalis_checker, {"pages/tickets.yaml": ("sort: -updated_at", "sort: -id")})
    assert found[f"ix_{TICKET}__account_id_desc"] == "(account, id DESC)"
    assert f"ix_{TICKET}__id_desc" not in found  # agents read all: the primary key serves


def test_a_new_sort_replaces_the_list_index_and_keeps_a_dba_index(
    db_engine: sa.Engine, portalis_checker: Checker
) -> None:
    deploy(db_engine, portalis_checker, starter(), {})
    with db_engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX ticket_due_by_hand ON {TICKET} (due)")
    by_due = starter({"pages/tickets.yaml": ("sort: -updated_at", "sort: -due")})
    _, result = prepare(db_engine, portalis_checker, by_due, {})
    assert result.describe() == [
        f"- drop index ix_{TICKET}__account_updated_at_desc_id on {TICKET}"
        " (account, updated_at DESC, id)",
        f"- drop index ix_{TICKET}__updated_at_desc_id on {TICKET} (updated_at DESC, id)",
        f"+ create index ix_{TICKET}__account_due_desc_id on {TICKET} (account, due DESC, id)",
        f"+ create index ix_{TICKET}__due_desc_id on {TICKET} (due DESC, id)",
        # `(updated_at)` alone was served by `(updated_at DESC, id)`: back on its own
        f"+ create index ix_{TICKET}__updated_at on {TICKET} (updated_at)",
    ]
    assert len(result.removals) == 2 and len(result.additive) == 3 and not result.destructive
    deploy(db_engine, portalis_checker, by_due, {})
    _, again = prepare(db_engine, portalis_checker, by_due, {})
    assert again.empty
    with db_engine.connect() as conn:
        names = {i["name"] for i in sa.inspect(conn).get_indexes(TICKET)}
    assert "ticket_due_by_hand" in names


@pytest.fixture
def list_statement(db_engine: sa.Engine, portalis_checker: Checker) -> tuple[str, Any]:
    """The SQL and parameters of the starter's ticket list as customer ben reads it (anna, an
    account admin, also reads her holding's tree: another row filter)."""
    portal = deploy_dir(db_engine, portalis_checker, BLUEPRINTS / "b2c")
    ben = actor_for(db_engine, portal, "ben@acme.test")
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(db_engine, "before_cursor_execute", record)
    try:
        page = portal.store(db_engine).list(ben, "ticket", count=False)
    finally:
        event.remove(db_engine, "before_cursor_execute", record)
    assert len(page.records) == 2
    (found,) = [s for s in seen if TICKET in s[0] and "updated_at DESC" in s[0]]
    return found


def test_the_account_scoped_ticket_list_reads_its_index_in_order(
    db_engine: sa.Engine, list_statement: tuple[str, Any]
) -> None:
    statement, parameters = list_statement
    index = f"ix_{TICKET}__account_updated_at_desc_id"
    with db_engine.connect() as conn:
        if db_engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plan = "\n".join(str(row[-1]) for row in rows)
            assert f"USING INDEX {index} (account=?)" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        else:
            # A handful of rows: make the planner show what it does once the table is large.
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            plan = "\n".join(str(row[0]) for row in rows)
            assert f"Index Scan using {index}" in plan, plan
            assert "Sort" not in plan, plan


def test_version_diffs_name_declared_indexes(portalis_checker: Checker) -> None:
    before = portalis_checker.check_bundle(starter(), {}).unwrap()
    declared = starter(
        {
            "entities/ticket.yaml": (
                "    permissions:",
                "    indexes: [[account, -due]]\n    permissions:",
            )
        }
    )
    after = portalis_checker.check_bundle(declared, {}).unwrap()
    assert model_changes(before, after) == ["+ index ticket[account, -due]"]
    assert model_changes(after, before) == ["- index ticket[account, -due]"]
