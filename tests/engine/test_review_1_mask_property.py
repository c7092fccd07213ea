"""Property: a value the actor cannot read never changes an answer (SQLite and PostgreSQL).

Random grant sets (random roles per actor, each role one read grant with its own scope and
field restriction), random records; one value the actor cannot read on one row is changed
behind the store's back, and every filter, search, sort, group and sum the actor can ask
must give the same answer before and after.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mask_world import DEFINITION, ROLES, fresh_people

from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import BadQuery
from portalis.engine.data.permissions import Actor
from portalis.engine.data.records import ReadStore
from portalis.engine.definition.bundle import Bundle
from portalis.testing.portals import deploy_dir

LEVELS = ["x", "y", "z"]
NOTES = ["alpha red", "beta blue", "gamma red", "delta"]
#: the fields whose values are changed; status and account decide scopes, so they stay put
MUTABLE = {"level": LEVELS, "note": NOTES, "amount": [1, 7, 40, 300]}

world = st.fixed_dictionaries(
    {
        "actor": st.tuples(
            st.sets(st.sampled_from(ROLES), min_size=1, max_size=3), st.integers(0, 1)
        ),
        "docs": st.lists(
            st.tuples(
                st.integers(0, 1),  # account
                st.sampled_from(["a", "b"]),
                st.sampled_from(LEVELS),
                st.sampled_from(NOTES),
                st.sampled_from(MUTABLE["amount"]),
                st.booleans(),  # created by the actor
            ),
            min_size=1,
            max_size=7,
        ),
        "pick": st.integers(0, 1000),
        "new_value": st.integers(0, 1000),
    }
)


@pytest.fixture
def mask_portal(db_engine, portalis_checker):
    return deploy_dir(
        db_engine, portalis_checker, Bundle.of({"portal.yaml": DEFINITION}), seed=False
    )


def answers(store: ReadStore, actor: Actor) -> dict[str, Any]:
    """Every question about `doc` the actor may ask: ids in order, groups and sums."""
    out: dict[str, Any] = {}

    def ids(**kwargs: Any) -> list[int] | str:
        try:
            return [r.id for r in store.list(actor, "doc", page_size=200, **kwargs).records]
        except BadQuery:
            return "refused"

    for field, values in MUTABLE.items():
        for value in values:
            out[f"filter {field}={value}"] = ids(filters={field: value})
        for sort in (field, "-" + field):
            out[f"sort {sort}"] = ids(sort=sort)
    for term in ("red", "blue", "alpha", "x", "y"):
        out[f"search {term}"] = ids(search=term, search_fields=["note", "level"])
    for group in ("level", "note", "amount"):
        try:
            out[f"group {group}"] = sorted(store.aggregate(actor, "doc", group_by=group), key=repr)
        except BadQuery:
            out[f"group {group}"] = "refused"
    try:
        out["sum amount"] = store.aggregate(actor, "doc", function="sum", field="amount")
    except BadQuery:
        out["sum amount"] = "refused"
    out["titles"] = store.titles(actor, "doc", list(range(1, 50)))
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=world)
def test_review_1_hidden_value_never_changes_an_answer(db_engine, mask_portal, data) -> None:
    portal = mask_portal
    store = portal.store(db_engine)
    entities = portal.model.entities
    table = portal.tables["doc"]
    with begin_write(db_engine) as conn:
        roles, account = data["actor"]
        clear = ("doc", "user", "account")
        accounts, other, actor = fresh_people(conn, portal, store, roles, account, clear)
        uid = actor.id
        for acc, status, level, note, amount, mine in data["docs"]:
            values = {
                "account": accounts[acc],
                "status": status,
                "level": level,
                "note": note,
                "amount": amount,
            }
            store.insert_row(conn, entities["doc"], values, created_by=uid if mine else other)
    # the (row, field) pairs the actor sees the row of but not the field
    visible = store.list(actor, "doc", page_size=200).records
    hidden = [(r.id, f) for r in visible for f in MUTABLE if f not in r.values]
    hidden += [
        (row_id, f)
        for row_id in _ids(db_engine, table)
        if row_id not in {r.id for r in visible}
        for f in MUTABLE
    ]
    if not hidden:
        return
    row_id, field = hidden[data["pick"] % len(hidden)]
    before = answers(store, actor)
    choices = MUTABLE[field]
    new_value = choices[data["new_value"] % len(choices)]
    with begin_write(db_engine) as conn:
        # updated_at kept: only the hidden value differs between the two "databases"
        conn.execute(
            sa.update(table)
            .where(table.c.id == row_id)
            .values({field: new_value, "updated_at": table.c.updated_at})
        )
    after = answers(store, actor)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, (sorted(actor.roles), row_id, field, new_value, changed)


def _ids(engine: sa.Engine, table: sa.Table) -> list[int]:
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(sa.select(table.c.id)).scalars()]
