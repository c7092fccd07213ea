"""Account hierarchies on SQLite and PostgreSQL: `scope: account_tree` covers the active
account and every account below it — never siblings or parents — in SQL and in `can` alike,
with one query per list; a parent that would close a cycle, or nest too deep, is refused
with a field error; a definition without `parent_field` gets a located problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.accounts.memberships import membership_roles
from portalis.engine.data.account_tree import MAX_ACCOUNT_DEPTH
from portalis.engine.data.errors import ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, deploy_dir
from portalis.testing.web import count_selects

HOLDINGS = Path(__file__).parent / "data" / "holdings"


@pytest.fixture
def portal(db_engine: sa.Engine, portalis_checker: Checker) -> CompiledPortal:
    return deploy_dir(db_engine, portalis_checker, HOLDINGS)


def account(engine: sa.Engine, portal: CompiledPortal, name: str) -> int:
    table = portal.tables["account"]
    with engine.connect() as conn:
        return int(conn.execute(sa.select(table.c.id).where(table.c.name == name)).scalar_one())


def titles(engine: sa.Engine, portal: CompiledPortal, actor: Actor) -> set[str]:
    listing = portal.store(engine).list(actor, "contract", page_size=50)
    return {str(r.get("title")) for r in listing.records}


def test_account_tree_sees_descendants_not_siblings_or_parents(
    db_engine: sa.Engine, portal: CompiledPortal
) -> None:
    hanna = actor_for(db_engine, portal, "hanna@holding.test")
    nils = actor_for(db_engine, portal, "nils@north.test")
    everything = {"Holding lease", "North supply", "South supply", "Harbour berth"}
    assert titles(db_engine, portal, hanna) == everything
    # North sees itself and Harbour below it; not its parent Holding nor its sibling South
    assert titles(db_engine, portal, nils) == {"North supply", "Harbour berth"}
    store = portal.store(db_engine)
    table = portal.tables["contract"]
    with db_engine.connect() as conn:
        rows = {r.title: dict(r._mapping) for r in conn.execute(sa.select(table))}
        find = store.lookup(conn)
        for title, row in rows.items():
            allowed = portal.policy.can(nils, "read", "contract", row, lookup=find).allowed
            assert allowed == (title in {"North supply", "Harbour berth"}), title
    # the accounts themselves: the same tree
    readable = {str(r.get("name")) for r in store.list(nils, "account").records}
    assert readable == {"North GmbH", "Harbour KG"}


def test_account_tree_follows_the_active_membership(
    db_engine: sa.Engine, portal: CompiledPortal
) -> None:
    nils = actor_for(db_engine, portal, "nils@north.test")
    rival = account(db_engine, portal, "Rival SA")
    with db_engine.connect() as conn:
        roles = membership_roles(conn, portal.slug, int(nils.id or 0), rival)
    assert roles == ("customer",)
    in_rival = Actor.for_user(portal.model, int(nils.id or 0), rival, roles)
    assert titles(db_engine, portal, in_rival) == {"Rival deal"}


def test_account_tree_list_is_one_query_whatever_the_depth(
    db_engine: sa.Engine, portal: CompiledPortal
) -> None:
    hanna = actor_for(db_engine, portal, "hanna@holding.test")
    nils = actor_for(db_engine, portal, "nils@north.test")
    store = portal.store(db_engine)
    with count_selects(db_engine) as deep:
        store.list(hanna, "contract", page_size=50)
    with count_selects(db_engine) as shallow:
        store.list(nils, "contract", page_size=50)
    assert len(deep) == len(shallow) <= 2


def test_a_parent_that_closes_a_cycle_is_refused_with_a_field_error(
    db_engine: sa.Engine, portal: CompiledPortal
) -> None:
    store = portal.store(db_engine)
    system = Actor.system()
    holding = account(db_engine, portal, "Holding AG")
    harbour = account(db_engine, portal, "Harbour KG")
    with pytest.raises(ValidationFailed) as caught:
        store.update(system, "account", holding, {"parent": harbour})
    assert [m.code for m in caught.value.errors["parent"]] == ["account-cycle"]
    with pytest.raises(ValidationFailed) as caught:
        store.update(system, "account", holding, {"parent": holding})
    assert [m.code for m in caught.value.errors["parent"]] == ["account-cycle"]
    # a legal move is fine: South moves under North
    south = account(db_engine, portal, "South GmbH")
    north = account(db_engine, portal, "North GmbH")
    store.update(system, "account", south, {"parent": north})
    nils = actor_for(db_engine, portal, "nils@north.test")
    assert "South supply" in titles(db_engine, portal, nils)


def test_accounts_nest_at_most_the_documented_depth(
    db_engine: sa.Engine, portal: CompiledPortal
) -> None:
    store = portal.store(db_engine)
    system = Actor.system()
    parent = account(db_engine, portal, "Harbour KG")  # already 2 levels below Holding
    for level in range(3, MAX_ACCOUNT_DEPTH + 1):
        parent = store.insert(system, "account", {"name": f"Level {level}", "parent": parent}).id
    with pytest.raises(ValidationFailed) as caught:
        store.insert(system, "account", {"name": "Too deep", "parent": parent})
    assert [m.code for m in caught.value.errors["parent"]] == ["account-depth"]


def test_account_tree_without_parent_field_is_a_located_problem(
    tmp_path: Path, portalis_checker: Checker
) -> None:
    folder = tmp_path / "holdings"
    shutil.copytree(HOLDINGS, folder)
    text = (folder / "portal.yaml").read_text()
    (folder / "portal.yaml").write_text(text.replace("    parent_field: parent\n", ""))
    report = portalis_checker.check_dir(folder).report
    found = [p for p in report.problems if p.code == "scope-account-tree"]
    assert found and all(p.file == "portal.yaml" and p.line > 0 for p in found)
