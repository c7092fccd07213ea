"""Virtual fields (`compute` + `stored: false`) on SQLite and PostgreSQL: no column, computed on
read for the reading actor, masked like any field, visible to rules, never written, sorted,
filtered, searched or summed — and an expression that fails shows as empty, never as an error."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from derived_defs import deploy_text

from portalis.engine.data.errors import NON_FIELD, BadQuery, ValidationFailed
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.engine.problems import DefinitionError
from portalis.testing.portals import actor_for

PORTAL = """\
format: portalis/v1
portal: tasks
title: Tasks
locales: [en]
roles:
  lead: {label: Lead}
  intern: {label: Intern}
entities:
  task:
    title_field: title
    search: [title]
    fields:
      title: {type: string, required: true}
      hours: {type: int}
      rate: {type: decimal, places: 2}
      cost: {type: decimal, places: 2, compute: "record['hours'] * record['rate']", stored: false}
      greeting: {type: string, compute: "'Hello ' + actor.name", stored: false}
      shout: {type: string, compute: "record['greeting'] + '!'", stored: false}
      budget: {type: decimal, places: 2, compute: "record['cost'] or 0"}
    rules:
      - check: "record['cost'] is None or record['cost'] <= 1000"
        message: {en: This task is too expensive}
    permissions:
      - {roles: [lead], actions: [read, create, update, delete], scope: all}
      - {roles: [intern], actions: [read], scope: all, fields: {except: [cost, budget]}}
pages:
  tasks:
    route: /tasks
    roles: [lead]
    blocks:
      - list: {entity: task, columns: [title, cost, shout], sort: title}
seed: [seed.yaml]
"""
SEED = """\
users:
  - {email: lena@tasks.test, name: Lena Lead, roles: [lead]}
  - {email: ivo@tasks.test, name: Ivo Intern, roles: [intern]}
"""


@pytest.fixture
def portal(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> CompiledPortal:
    return deploy_text(db_engine, portalis_checker, tmp_path / "tasks", PORTAL, SEED)


def test_virtual_fields_have_no_column(portal: CompiledPortal, db_engine: sa.Engine) -> None:
    columns = set(portal.tables["task"].c.keys())
    assert {"cost", "greeting", "shout"}.isdisjoint(columns) and "budget" in columns
    live = {c["name"] for c in sa.inspect(db_engine).get_columns(portal.tables["task"].name)}
    assert {"cost", "greeting", "shout"}.isdisjoint(live)


def test_computed_on_read_for_the_reading_actor(
    portal: CompiledPortal, db_engine: sa.Engine
) -> None:
    store = portal.store(db_engine)
    lena = actor_for(db_engine, portal, "lena@tasks.test")
    ivo = actor_for(db_engine, portal, "ivo@tasks.test")
    created = store.insert(lena, "task", {"title": "Paint", "hours": 3, "rate": "12.50"})
    assert created["cost"] == Decimal("37.50") and created["greeting"] == "Hello Lena Lead"
    assert created["shout"] == "Hello Lena Lead!"  # sees the virtual field before it
    assert created["budget"] == Decimal("37.50")  # a stored field may read a virtual one
    seen = store.get(ivo, "task", created.id)
    assert seen["greeting"] == "Hello Ivo Intern" and "cost" not in seen  # masked as usual
    # a list that loads only some fields still computes the virtual ones it shows
    (row,) = store.list(lena, "task", fields=["title", "cost"]).records
    assert row["cost"] == Decimal("37.50") and "shout" not in row
    (row,) = store.list(ivo, "task").records
    assert "cost" not in row and row["shout"] == "Hello Ivo Intern!"
    updated = store.update(lena, "task", created.id, {"hours": 4})
    assert updated["cost"] == Decimal("50.00") and updated["budget"] == Decimal("50.00")


def test_a_failing_expression_shows_empty_and_is_logged(
    portal: CompiledPortal, db_engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    store = portal.store(db_engine)
    lena = actor_for(db_engine, portal, "lena@tasks.test")
    with caplog.at_level(logging.WARNING, logger="portalis.engine.data.computed"):
        created = store.insert(lena, "task", {"title": "No hours yet", "rate": "10"})
        assert store.get(lena, "task", created.id)["cost"] is None
    assert "task.cost" in caplog.text and "could not be computed" in caplog.text
    assert created["budget"] == Decimal("0.00")


def test_rules_see_virtual_fields(portal: CompiledPortal, db_engine: sa.Engine) -> None:
    store = portal.store(db_engine)
    lena = actor_for(db_engine, portal, "lena@tasks.test")
    with pytest.raises(ValidationFailed) as refused:
        store.insert(lena, "task", {"title": "Roof", "hours": 100, "rate": "20"})
    assert refused.value.errors[NON_FIELD][0].message == "This task is too expensive"


def test_never_written_sorted_filtered_searched_or_summed(
    portal: CompiledPortal, db_engine: sa.Engine
) -> None:
    store = portal.store(db_engine)
    lena = actor_for(db_engine, portal, "lena@tasks.test")
    with pytest.raises(ValidationFailed) as refused:
        store.insert(lena, "task", {"title": "X", "cost": "5"})
    assert refused.value.errors["cost"][0].code == "not-writable"
    task = store.insert(lena, "task", {"title": "Sand", "hours": 1, "rate": "2"}).id
    with pytest.raises(ValidationFailed):
        store.update(lena, "task", task, {"greeting": "hi"})
    with pytest.raises(BadQuery):
        store.list(lena, "task", sort="-cost")
    with pytest.raises(BadQuery):
        store.list(lena, "task", filters={"greeting": "Hello"})
    with pytest.raises(BadQuery):
        store.aggregate(lena, "task", function="sum", field="cost")
    with pytest.raises(BadQuery):
        store.aggregate(lena, "task", group_by="shout")
    # a search naming a virtual field ignores it (there is no column to look into)
    assert store.list(lena, "task", search="Hello", search_fields=["shout"]).records == ()
    assert [r["title"] for r in store.list(lena, "task", search="sand").records] == ["Sand"]


def test_definitions_cannot_query_virtual_fields(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    bad = PORTAL.replace("sort: title}", "sort: title, filters: [cost]}")
    with pytest.raises(DefinitionError) as refused:
        deploy_text(db_engine, portalis_checker, tmp_path / "bad", bad, SEED)
    assert "virtual-not-queryable" in str(refused.value)
