"""Reference titles joined into the list query (SQLite and PostgreSQL).

Property: for random grant sets and records, the titles a list joins are exactly the titles
`ReadStore.titles` gives the same actor for the ids the list shows — the referenced record's
read filter, the title field's per-row mask and the reference field's own mask included.
A computed title field that is stored joins like any other; titles SQL alone cannot give (a
`parent`-scoped target) are left out, for the caller to load as before. (A virtual title field,
which `titles()` also handles, is refused by the definition checker.)
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mask_world import DEFINITION as MASK_DEFINITION
from mask_world import ROLES, fresh_people
from sqlalchemy import event

from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.bundle import Bundle
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import deploy_dir

DEFINITION = (
    MASK_DEFINITION
    + """
  box:
    title_field: shown
    fields:
      name: {type: string}
      shown: {type: string, compute: "'Box ' + (record['name'] or '')"}
    permissions:
      - {roles: [ROLES], actions: [read], scope: all}
  part:
    title_field: name
    fields:
      doc: {type: ref, to: doc}
      name: {type: string}
    permissions:
      - {roles: [ROLES], actions: [read], scope: {parent: doc}}
  link:
    title_field: label
    fields:
      label: {type: string}
      doc: {type: ref, to: doc}
      prev: {type: ref, to: link}
      box: {type: ref, to: box}
      part: {type: ref, to: part}
    permissions:
      - {roles: [r_acc_nolevel, r_acc_onlylevel], actions: [read], scope: all}
      - {roles: [r_own], actions: [read], scope: own}
      - {roles: [r_where_nonote, r_all_noamount], actions: [read], scope: all,
         fields: {except: [doc, label]}}
"""
).replace("[ROLES]", "[" + ", ".join(ROLES) + "]")
REFS = ["doc", "prev", "box", "part", "created_by"]

world = st.fixed_dictionaries(
    {
        "actor": st.tuples(
            st.sets(st.sampled_from(ROLES), min_size=1, max_size=3), st.integers(0, 1)
        ),
        # doc: account, status, note (None: empty title), created by the actor
        "docs": st.lists(
            st.tuples(
                st.integers(0, 1),
                st.sampled_from(["a", "b"]),
                st.sampled_from(["red", "blue", None]),
                st.booleans(),
            ),
            min_size=1,
            max_size=5,
        ),
        # link: doc index, prev index, label, created by the actor
        "links": st.lists(
            st.tuples(
                st.one_of(st.none(), st.integers(0, 9)),
                st.one_of(st.none(), st.integers(0, 9)),
                st.sampled_from(["one", "two", None]),
                st.booleans(),
            ),
            min_size=1,
            max_size=6,
        ),
    }
)


@pytest.fixture
def titles_portal(db_engine, portalis_checker) -> CompiledPortal:
    return deploy_dir(
        db_engine, portalis_checker, Bundle.of({"portal.yaml": DEFINITION}), seed=False
    )


def arrange(engine: sa.Engine, portal: CompiledPortal, data: dict[str, Any]) -> Actor:
    """Fresh rows for `data`; the actor of its roles."""
    store = portal.store(engine)
    entities = portal.model.entities
    with begin_write(engine) as conn:
        conn.execute(portal.tables["link"].update().values(prev=None))
        roles, account = data["actor"]
        clear = ("link", "part", "box", "doc", "user", "account")
        accounts, other, actor = fresh_people(conn, portal, store, roles, account, clear)
        uid = actor.id
        docs = [
            store.insert_row(
                conn,
                entities["doc"],
                {"account": accounts[acc], "status": status, "level": "x", "note": note},
                created_by=uid if mine else other,
            )
            for acc, status, note, mine in data["docs"]
        ]
        box = store.insert_row(conn, entities["box"], {"name": "b"}, created_by=None)
        part = store.insert_row(
            conn, entities["part"], {"doc": docs[0], "name": "p"}, created_by=None
        )
        links: list[int] = []
        for doc, prev, label, mine in data["links"]:
            values = {
                "label": label,
                "doc": None if doc is None else docs[doc % len(docs)],
                "prev": links[prev % len(links)] if prev is not None and links else None,
                "box": box,
                "part": part,
            }
            links.append(
                store.insert_row(conn, entities["link"], values, created_by=uid if mine else other)
            )
    return actor


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=world)
def test_joined_titles_are_the_titles_the_actor_may_read(db_engine, titles_portal, data) -> None:
    store = titles_portal.store(db_engine)
    actor = arrange(db_engine, titles_portal, data)
    page = store.list(actor, "link", page_size=200, titles=REFS)
    # a parent-scoped target is left to `titles()`
    assert "part" not in page.titles
    if not page.records:
        return
    assert set(page.titles) == {"doc", "prev", "box", "created_by"}
    for name, target in (("doc", "doc"), ("prev", "link"), ("box", "box")):
        ids = [r.get(name) for r in page.records if r.get(name) is not None]
        assert page.titles[name] == store.titles(actor, target, ids), name
    authors = [r.get("created_by") for r in page.records]
    assert page.titles["created_by"] == store.titles(actor, "user", authors, names_only=True)
    # a list whose own filter is a subquery on the referenced table (parts through their doc)
    parts = store.list(actor, "part", titles=["doc"])
    ids = [r.get("doc") for r in parts.records if r.get("doc") is not None]
    assert parts.titles.get("doc", {}) == store.titles(actor, "doc", ids)


def test_titles_cost_no_statement_of_their_own(db_engine, titles_portal) -> None:
    data = {
        "actor": ({"r_acc_nolevel", "r_all_noamount"}, 0),
        "docs": [(0, "a", "red", True), (1, "b", "blue", False)],
        "links": [(0, None, "one", True), (1, 0, "two", False), (None, 1, None, True)],
    }
    actor = arrange(db_engine, titles_portal, data)
    store = titles_portal.store(db_engine)
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db_engine, "before_cursor_execute", before)
    try:
        page = store.list(actor, "link", titles=["doc", "prev", "created_by"], count=False)
    finally:
        event.remove(db_engine, "before_cursor_execute", before)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements[-1:]
    assert len(page.records) == 3
    by_label = {r["label"]: r for r in page.records}
    doc0, doc1 = by_label["one"]["doc"], by_label["two"]["doc"]
    # doc 0 is in the actor's account (note readable); doc 1 is read through the grant
    # without `note`, so its title is its id
    assert page.titles["doc"] == {doc0: "red", doc1: f"#{doc1}"}
    assert page.titles["prev"] == {by_label["one"].id: "one", by_label["two"].id: "two"}
    assert set(page.titles["created_by"].values()) == {"Actor", "Other"}
