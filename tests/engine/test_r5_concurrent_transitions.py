"""R5 with real threads on SQLite and PostgreSQL: concurrent transitions and edits of one record
— one wins, the other gets StaleRecord (409); nothing is lost, nothing is applied twice."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from expense_flow import World, expense_world

from portalis.engine.data.errors import Forbidden, StaleRecord
from portalis.engine.data.system_tables import approvals
from portalis.engine.data.system_tables import audit as audit_table
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import workflow
from portalis.testing.concurrency import race

ROUNDS = 4


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> World:
    return expense_world(db_engine, portalis_checker, tmp_path / "expenses")


def transitions_of(world: World, expense: int) -> int:
    return world.count(
        audit_table, audit_table.c.record_id == expense, audit_table.c.action == "transition"
    )


def test_r5_concurrent_transitions(world: World) -> None:
    for _ in range(ROUNDS):
        expense = world.expense()
        results = race(
            lambda e=expense: workflow.transition(
                world.store, world.mia, "expense", e, "reject", expected_version=1, comment="No"
            ),
            lambda e=expense: workflow.transition(
                world.store, world.max, "expense", e, "escalate", expected_version=1
            ),
        )
        won = [r for r in results if not isinstance(r, Exception)]
        lost = [r for r in results if isinstance(r, Exception)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], StaleRecord)
        after = world.raw(expense)
        assert after["status"] == won[0]["status"] and after["version"] == 2
        assert transitions_of(world, expense) == 1


def test_r5_concurrent_transitions_without_version(world: World) -> None:
    # without a version the loser is refused by the state it finds: never applied twice
    expense = world.expense()
    results = race(
        lambda: workflow.transition(
            world.store, world.mia, "expense", expense, "reject", comment="No"
        ),
        lambda: workflow.transition(world.store, world.max, "expense", expense, "escalate"),
    )
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(lost) == 1 and isinstance(lost[0], Forbidden)
    assert "not available in state" in lost[0].reason
    assert transitions_of(world, expense) == 1 and world.raw(expense)["version"] == 2


def test_r5_transition_and_field_edit_lose_no_update(world: World) -> None:
    for _ in range(ROUNDS):
        expense = world.expense()
        results = race(
            lambda e=expense: world.store.update(
                world.mia, "expense", e, {"title": "Team lunch (12 people)"}, expected_version=1
            ),
            lambda e=expense: workflow.transition(
                world.store, world.max, "expense", e, "escalate", expected_version=1
            ),
        )
        assert sum(isinstance(r, StaleRecord) for r in results) == 1, results
        after = world.raw(expense)
        edited = not isinstance(results[0], Exception)
        assert after["title"] == ("Team lunch (12 people)" if edited else "Team lunch")
        assert after["status"] == ("submitted" if edited else "escalated")
        assert after["version"] == 2
    # without versions both writes land, one after the other: neither overwrites the other
    expense = world.expense()
    results = race(
        lambda: world.store.update(world.mia, "expense", expense, {"title": "Dinner"}),
        lambda: workflow.transition(world.store, world.max, "expense", expense, "escalate"),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    after = world.raw(expense)
    assert (after["title"], after["status"], after["version"]) == ("Dinner", "escalated", 3)


def test_r5_concurrent_approvals_reach_the_quorum_once(world: World) -> None:
    for _ in range(ROUNDS):
        expense = world.expense()
        results = race(
            *(
                lambda who=who, e=expense: workflow.take(
                    world.store, world.people[who], "expense", e, "approve"
                )
                for who in ("mia", "max", "moe")
            )
        )
        outcomes = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, Exception)]
        # the first approves (1 of 2), the second completes; the third finds it approved
        assert sorted(o.applied for o in outcomes) == [False, True], results
        assert len(refused) == 1 and isinstance(refused[0], Forbidden)
        assert world.raw(expense)["status"] == "approved"
        assert transitions_of(world, expense) == 1
        assert world.count(approvals, approvals.c.record_id == expense) == 2
