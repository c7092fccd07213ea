"""List statements are built once per actor and read, and never shared between actors."""

from __future__ import annotations

import pytest

from portalis.engine.data.list_plans import ABSENT, ListPlans
from portalis.testing.portals import BLUEPRINTS, actor_for, deploy_dir


@pytest.fixture
def world(db_engine, portalis_checker):
    portal = deploy_dir(db_engine, portalis_checker, BLUEPRINTS / "b2c")
    store = portal.store(db_engine)
    anna = actor_for(db_engine, portal, "anna@acme.test")
    nina = actor_for(db_engine, portal, "nina@globex.test")
    return store, anna, nina


def _count_row_filters(store, monkeypatch) -> list[str]:
    built: list[str] = []
    original = store.policy.row_filter

    def counting(actor, entity, action, **kw):
        built.append(entity)
        return original(actor, entity, action, **kw)

    monkeypatch.setattr(store.policy, "row_filter", counting)
    return built


def test_the_list_statement_is_built_once_per_actor_and_read(world, monkeypatch) -> None:
    store, anna, nina = world
    built = _count_row_filters(store, monkeypatch)
    first = store.list(anna, "ticket", titles=("account",))
    assert built.count("ticket") == 1
    for _ in range(3):
        again = store.list(anna, "ticket", titles=("account",))
        assert again.records == first.records and again.titles == first.titles
    assert built.count("ticket") == 1  # the same statement object: its cache key is memoized too
    # another actor, page or sort is another read: its own statement, its own rows
    other = store.list(nina, "ticket", titles=("account",))
    assert {r["account"] for r in other.records} != {r["account"] for r in first.records}
    store.list(anna, "ticket", sort="subject")
    store.list(anna, "ticket", page=2)
    assert built.count("ticket") == 4


def test_filtered_reads_build_their_statement_every_time(world, monkeypatch) -> None:
    store, anna, _ = world
    built = _count_row_filters(store, monkeypatch)
    for _ in range(2):
        store.list(anna, "ticket", filters={"priority": "high"})
    assert built.count("ticket") == 2


def test_the_plans_are_bounded() -> None:
    plans = ListPlans(limit=2)
    for key in range(5):
        plans.put(key, None)
        assert len(plans) <= 2
    assert 4 in plans and 0 not in plans
    assert plans.get(4) is None and plans.get(0) is ABSENT
