"""The policy's explanations (`portalis.engine.data.explain`) on the seeded b2c blueprint:
records visible by which grant, fields hidden by which exception, entities without a grant;
and the explanation agrees with the row filter (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portalis.engine.data.explain import (
    explain_entity,
    explain_record,
    field_reasons,
    page_entities,
)
from portalis.engine.data.permissions import Actor
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import BLUEPRINTS, actor_for, deploy_dir


@pytest.fixture
def b2c(db_engine: sa.Engine, portalis_checker: Checker) -> CompiledPortal:
    return deploy_dir(db_engine, portalis_checker, BLUEPRINTS / "b2c")


def _subjects(db_engine: sa.Engine, b2c: CompiledPortal, ids: list[int]) -> set[str]:
    table = b2c.tables["ticket"]
    with db_engine.connect() as conn:
        return set(conn.execute(sa.select(table.c.subject).where(table.c.id.in_(ids))).scalars())


def test_a_customer_sees_account_tickets_by_grant_one_without_the_assignee(
    db_engine: sa.Engine, b2c: CompiledPortal
) -> None:
    ben = actor_for(db_engine, b2c, "ben@acme.test")
    with db_engine.connect() as conn:
        found = explain_entity(conn, b2c, ben, "ticket")
    assert (
        found.read.allowed
        and found.read.reason == "allowed by grant #1 of ticket: customer/account"
    )
    ids = [r.record_id for r in found.records]
    assert _subjects(db_engine, b2c, ids) == {
        "Invoice 2026-114 is wrong",
        "Cannot download my contract",
    }
    assert {r.title for r in found.records} == _subjects(db_engine, b2c, ids)
    for record in found.records:
        assert record.decision.reason == "allowed by grant #1 of ticket: customer/account"
        fields = {f.field: f for f in record.fields}
        assert fields["subject"].visible and fields["subject"].reason.startswith(
            "visible by grant #1"
        )
        assignee = fields["assignee"]
        assert not assignee.visible
        assert assignee.reason == (
            "hidden: field assignee excepted for customer by grant #1 of ticket: customer/account"
        )


def test_an_agent_sees_everything_and_a_visitor_has_no_grant(
    db_engine: sa.Engine, b2c: CompiledPortal
) -> None:
    sam = actor_for(db_engine, b2c, "sam@support.test")
    with db_engine.connect() as conn:
        agent = explain_entity(conn, b2c, sam, "ticket", limit=2)
        visitor = explain_entity(conn, b2c, Actor.anonymous(), "ticket")
    assert len(agent.records) == 2  # the limit holds
    assert all(f.visible for f in agent.fields)
    assert agent.read.reason == "allowed by grant #4 of ticket: agent/all"
    assert not visitor.read.allowed and visitor.records == ()
    assert visitor.read.reason == "no grant gives read on ticket to roles anonymous"
    assert all(not f.visible and f.reason == "hidden: no grant covers it" for f in visitor.fields)


def test_a_record_outside_the_scope_says_why_and_the_ids_filter_keeps_to_the_row_filter(
    db_engine: sa.Engine, b2c: CompiledPortal
) -> None:
    ben = actor_for(db_engine, b2c, "ben@acme.test")
    table = b2c.tables["ticket"]
    with db_engine.connect() as conn:
        globex = (
            conn.execute(sa.select(table).where(table.c.subject == "Outage in the order portal"))
            .mappings()
            .one()
        )
        outside = explain_record(b2c.policy, ben, "ticket", globex)
        asked = explain_entity(conn, b2c, ben, "ticket", record_ids=[globex["id"]])
    assert not outside.decision.allowed and outside.fields == ()
    assert "is not the actor's account" in outside.decision.considered[0]
    assert asked.records == ()  # a record the actor may not read is never explained as shown


def test_page_entities_in_block_order_and_a_reason_for_every_field(b2c: CompiledPortal) -> None:
    page = b2c.model.pages["ticket"]
    assert page_entities(b2c.model.entities, page.blocks) == ("ticket", "message")
    fields = field_reasons(b2c.policy, Actor.anonymous(), "message", ())
    assert {f.field for f in fields} == set(b2c.model.entities["message"].fields)
