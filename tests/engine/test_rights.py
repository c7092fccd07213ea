"""`engine.rights`: what an actor may do with one record, as the store would decide it
(SQLite and PostgreSQL, the b2c blueprint's tickets)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import Forbidden, NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import workflow
from portalis.engine.flow.rights import file_readable, record_rights
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import BLUEPRINTS, actor_for, deploy_dir

PEOPLE = ("anna@acme.test", "ben@acme.test", "nina@globex.test", "sam@support.test")


@dataclass
class World:
    portal: CompiledPortal
    store: RecordStore
    actors: dict[str, Actor]
    tickets: dict[str, int]


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Checker) -> World:
    portal = deploy_dir(db_engine, portalis_checker, BLUEPRINTS / "b2c")
    table = portal.tables["ticket"]
    with db_engine.connect() as conn:
        tickets = {str(s): int(i) for s, i in conn.execute(sa.select(table.c.subject, table.c.id))}
    actors = {email: actor_for(db_engine, portal, email) for email in PEOPLE}
    return World(portal, portal.store(db_engine), actors, tickets)


def test_a_customer_on_their_own_ticket(world: World) -> None:
    ben = world.actors["ben@acme.test"]
    own = world.tickets["Cannot download my contract"]
    rights = record_rights(world.store, ben, "ticket", own)
    assert rights.actions == {"read", "update", "transition"}
    assert rights.allows("update") and not rights.allows("delete")
    # the update grant's fields, without the workflow state, readonly and rolled-up fields
    assert rights.writable == {"subject", "body", "tags", "due", "attachment"}
    assert rights.transitions is None  # not asked for
    # the colleague's ticket of the same account: readable, not editable (scope own)
    other = record_rights(world.store, ben, "ticket", world.tickets["Invoice 2026-114 is wrong"])
    assert other.actions == {"read", "transition"} and other.writable == frozenset()


def test_an_agent_and_a_stranger(world: World) -> None:
    ticket = world.tickets["Outage in the order portal"]
    agent = record_rights(world.store, world.actors["sam@support.test"], "ticket", ticket)
    assert {"read", "update", "transition"} <= agent.actions
    assert {"priority", "assignee", "subject"} <= agent.writable
    assert not {"status", "escalated", "messages"} & agent.writable
    # a record the actor cannot read has no rights at all (it does not exist for them)
    stranger = record_rights(world.store, world.actors["ben@acme.test"], "ticket", ticket)
    assert stranger.actions == frozenset() and stranger.writable == frozenset()
    assert record_rights(world.store, Actor.anonymous(), "ticket", ticket).actions == frozenset()
    with pytest.raises(NotFound):
        record_rights(world.store, world.actors["ben@acme.test"], "ticket", "not-an-id")


def test_transitions_are_those_the_workflow_allows_now(world: World) -> None:
    ticket = world.tickets["Outage in the order portal"]  # in progress
    sam = world.actors["sam@support.test"]
    rights = record_rights(world.store, sam, "ticket", ticket, transitions=True)
    expected = {
        a.transition.name
        for a in workflow.available(world.store, sam, "ticket", ticket)
        if a.allowed
    }
    assert rights.transitions == expected == {"resolve"}


@pytest.mark.parametrize("action", ["update", "delete"])
def test_rights_agree_with_what_the_store_enforces(world: World, action: str) -> None:
    for email, actor in world.actors.items():
        for subject, ticket in world.tickets.items():
            rights = record_rights(world.store, actor, "ticket", ticket)
            try:
                world.store.get(actor, "ticket", ticket, action=action)
                enforced = True
            except (Forbidden, NotFound):
                enforced = False
            assert rights.allows(action) == enforced, (email, subject, action)


def test_file_readable_needs_a_readable_record(world: World) -> None:
    # no record holds the file: nobody may download it, whoever asks
    for actor in (*world.actors.values(), Actor.system()):
        assert not file_readable(world.store, actor, "f" * 32)


def test_only_the_actions_asked_for_and_no_query_without_a_grant(world: World) -> None:
    ben = world.actors["ben@acme.test"]
    own = world.tickets["Cannot download my contract"]
    asked = record_rights(world.store, ben, "ticket", own, actions=["update", "delete"])
    assert asked.actions == {"update"}
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(world.store.engine, "before_cursor_execute", count)
    try:
        nothing = record_rights(world.store, ben, "ticket", own, actions=["delete"])
    finally:
        sa.event.remove(world.store.engine, "before_cursor_execute", count)
    assert nothing.actions == frozenset() and statements == []  # customers never delete
