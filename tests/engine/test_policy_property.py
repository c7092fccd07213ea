"""Property: `list()` returns exactly the records for which `can(actor, "read", record)` holds.

Random accounts, users (random roles and accounts, staff without one), documents and child
records are generated for every scope kind (all, account, own, self, parent, where with
literals and `$actor` values); the SQL row filter and the Python decision must agree, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.bundle import Bundle
from portalis.testing.portals import deploy_dir

DEFINITION = """
format: portalis/v1
portal: prop
title: Property
locales: [en]
roles:
  r_all: {}
  r_account: {}
  r_own: {}
  r_where: {}
  r_actor: {}
  r_child: {inherits: [r_own]}
entities:
  doc:
    fields:
      account: {type: ref, to: account}
      status: {type: choice, options: [a, b]}
      secret: {type: string}
    permissions:
      - {roles: [r_all], actions: [read], scope: all, fields: {except: [secret]}}
      - {roles: [r_account], actions: [read], scope: account}
      - {roles: [r_own], actions: [read], scope: own}
      - {roles: [r_where], actions: [read], scope: {where: {status: a}}}
      - {roles: [r_actor], actions: [read], scope: {where: {account: $actor.account}}}
  child:
    fields:
      doc: {type: ref, to: doc, on_delete: cascade}
    permissions:
      - {roles: [r_all, r_account, r_own, r_where, r_actor, r_child], actions: [read], scope: {parent: doc}}
  user:
    permissions:
      - {roles: [r_account], actions: [read], scope: account}
"""
ROLES = ["r_all", "r_account", "r_own", "r_where", "r_actor", "r_child"]


world = st.fixed_dictionaries(
    {
        "users": st.lists(
            st.tuples(
                st.sets(st.sampled_from(ROLES), max_size=3), st.sampled_from([None, 0, 1, 2])
            ),
            min_size=1,
            max_size=5,
        ),
        "docs": st.lists(
            st.tuples(
                st.sampled_from([None, 0, 1, 2]),
                st.sampled_from(["a", "b", None]),
                st.integers(0, 4),
            ),
            max_size=8,
        ),
        "children": st.lists(st.integers(0, 7), max_size=8),
    }
)


@pytest.fixture
def prop_portal(db_engine, portalis_checker):
    return deploy_dir(
        db_engine, portalis_checker, Bundle.of({"portal.yaml": DEFINITION}), seed=False
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=world)
def test_list_equals_can_for_every_scope(db_engine, prop_portal, data) -> None:
    portal = prop_portal
    store = portal.store(db_engine)
    model = portal.model
    entities = model.entities
    with begin_write(db_engine) as conn:
        for name in ("child", "doc", "user", "account"):
            conn.execute(portal.tables[name].delete())
        accounts = [
            store.insert_row(conn, entities["account"], {"name": f"acc{i}"}, created_by=None)
            for i in range(3)
        ]
        users = []
        for i, (roles, acc) in enumerate(data["users"]):
            values = {
                "email": f"u{i}@x.test",
                "name": f"u{i}",
                "account": None if acc is None else accounts[acc],
            }
            uid = store.insert_row(conn, entities["user"], values, created_by=None)
            conn.execute(
                portal.tables["user"]
                .update()
                .where(portal.tables["user"].c.id == uid)
                .values(roles=sorted(roles))
            )
            users.append(Actor.for_user(model, uid, values["account"], roles))
        docs = []
        for acc, status, creator in data["docs"]:
            values = {
                "account": None if acc is None else accounts[acc],
                "status": status,
                "secret": "s",
            }
            by = users[creator % len(users)].id
            docs.append(store.insert_row(conn, entities["doc"], values, created_by=by))
        for pick in data["children"]:
            if docs:
                store.insert_row(
                    conn, entities["child"], {"doc": docs[pick % len(docs)]}, created_by=None
                )
    actors = [*users, Actor.anonymous()]
    with db_engine.connect() as conn:
        lookup = store.lookup(conn)
        for entity_name in ("doc", "child", "user"):
            table = portal.tables[entity_name]
            rows = [
                store.raw_values(entities[entity_name], r)
                for r in conn.execute(sa.select(table)).mappings()
            ]
            for actor in actors:
                listed = {
                    r.id for r in store.list(actor, entity_name, page_size=200, conn=conn).records
                }
                allowed = {
                    r["id"]
                    for r in rows
                    if portal.policy.can(actor, "read", entity_name, r, lookup=lookup)
                }
                assert listed == allowed, (entity_name, sorted(actor.roles), actor.account)
                if entity_name != "doc":
                    continue
                by_id = {r["id"]: r for r in rows}
                for record in store.list(actor, "doc", page_size=200, conn=conn).records:
                    # the row shows `secret` exactly when a grant covering this row allows it
                    covering = portal.policy.matching_grants(
                        actor, "read", "doc", by_id[record.id], lookup=lookup
                    )
                    assert ("secret" in record) == any(g.allows_field("secret") for g in covering)
