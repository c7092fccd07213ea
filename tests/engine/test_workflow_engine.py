"""The workflow engine on SQLite and PostgreSQL: availability and its reasons, quorum approvals,
comments, assignees, conditions, required fields, and actions that commit or roll back together
with the state change (R6)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from expense_flow import PORTAL, SLUG, World, expense_world

from portalis.engine.data.errors import Forbidden, NotFound, StaleRecord, ValidationFailed
from portalis.engine.data.system_tables import approvals, jobs, notifications
from portalis.engine.data.system_tables import audit as audit_table
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import workflow


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> World:
    return expense_world(db_engine, portalis_checker, tmp_path / "expenses")


def reasons(world: World, who: str, expense: int) -> dict[str, workflow.Availability]:
    return {
        a.transition.name: a
        for a in workflow.available(world.store, world.people[who], "expense", expense)
    }


def approved_expense(world: World, amount: int = 240, handler: int | None = None) -> int:
    """An expense of eve's approved by mia and max; mia assigns `handler`."""
    expense = world.expense(amount=amount)
    workflow.transition(world.store, world.mia, "expense", expense, "approve")
    workflow.transition(world.store, world.max, "expense", expense, "approve")
    if handler is not None:
        world.store.update(world.mia, "expense", expense, {"handler": handler})
    assert world.raw(expense)["status"] == "approved"
    return expense


# -- availability and explain --------------------------------------------------------------
def test_explain_says_why_in_plain_words(world: World) -> None:
    expense = world.expense()
    eve = reasons(world, "eve", expense)
    assert (eve["approve"].allowed, eve["approve"].reason) == (False, "needs role manager")
    assert eve["approve"].code == "role" and not eve["approve"].eligible
    assert eve["pay"].reason == "not available in state 'submitted'"
    assert eve["pay"].code == "state" and not eve["pay"].eligible
    mia = reasons(world, "mia", expense)
    assert mia["approve"].allowed and mia["approve"].reason == "available"
    assert mia["approve"].progress == workflow.Progress(0, 2, False)
    assert mia["reject"].allowed and mia["reject"].progress is None
    # a required comment is a form requirement, never a reason to hide the transition
    assert mia["reject"].transition.comment == "required"
    only = workflow.explain(world.store, world.ada, "expense", expense, "approve")
    assert only.reason == "needs role manager"
    with pytest.raises(NotFound):
        workflow.explain(world.store, world.mia, "expense", expense, "teleport")


def test_explain_when_assignee_and_self_approval(world: World) -> None:
    big = approved_expense(world, amount=25_000, handler=world.ada.id)
    pay = workflow.explain(world.store, world.ada, "expense", big, "pay")
    assert not pay.allowed and pay.eligible and pay.code == "when"
    assert pay.reason == "when-condition false: record['amount'] < 10000"
    assert pay.params["condition"] == "record['amount'] < 10000"
    small = approved_expense(world, amount=90, handler=world.ada.id)
    abe = workflow.explain(world.store, world.abe, "expense", small, "pay")
    assert abe.reason == "only the assignee (field handler) may take this transition"
    assert abe.eligible and abe.params["field"] == "handler"
    assert workflow.explain(world.store, world.ada, "expense", small, "pay").allowed
    own = world.expense(by="mia")
    mine = workflow.explain(world.store, world.mia, "expense", own, "approve")
    assert mine.reason == "the creator of the record may not approve it" and mine.eligible
    assert workflow.explain(world.store, world.mia, "expense", own, "reject").allowed


def test_idor_transition_of_an_unreadable_record_is_404(world: World) -> None:
    theirs = world.expense(by="mia")
    with pytest.raises(NotFound):
        workflow.available(world.store, world.eve, "expense", theirs)
    with pytest.raises(NotFound):
        workflow.transition(world.store, world.eve, "expense", theirs, "resubmit")
    assert world.raw(theirs)["status"] == "submitted"


# -- quorum --------------------------------------------------------------------------------
def test_quorum_of_two_managers(world: World) -> None:
    expense = world.expense()
    first = workflow.take(world.store, world.mia, "expense", expense, "approve", comment=" Fine ")
    assert not first.applied and first.progress == workflow.Progress(1, 2, True)
    assert first.record is not None and first.record["status"] == "submitted"
    assert world.raw(expense)["version"] == 1  # an approval alone changes nothing of the record
    entry = world.history(expense)[0]
    assert (entry.action, entry.actor_id, entry.actor_email) == (
        "approve",
        world.mia.id,
        "mia@example.test",
    )
    assert entry.detail["transition"] == "approve" and entry.detail["comment"] == "Fine"
    assert (entry.detail["approvals"], entry.detail["needed"]) == (1, 2)
    mia = reasons(world, "mia", expense)["approve"]
    assert mia.reason == "you have already approved (1 of 2)" and mia.eligible
    assert reasons(world, "max", expense)["approve"].progress == workflow.Progress(1, 2, False)
    assert world.jobs("webhook") == []  # actions wait for the quorum

    second = workflow.take(world.store, world.max, "expense", expense, "approve", comment="OK")
    assert second.applied and second.progress == workflow.Progress(2, 2, True)
    after = world.raw(expense)
    assert after["status"] == "approved" and after["approved_on"] == date.today()
    assert after["version"] == 2
    move = world.history(expense)[0]
    assert move.action == "transition" and move.actor_id == world.max.id
    assert move.detail["from"] == "submitted" and move.detail["to"] == "approved"
    assert move.detail["comment"] == "OK"
    assert move.changes["approved_on"] == [None, date.today().isoformat()]
    assert world.count(approvals, approvals.c.record_id == expense) == 2
    (hook,) = world.jobs("webhook")
    assert hook["payload"]["url"] == "http://127.0.0.1:9/hook"
    assert hook["payload"]["event"] == "expense.approve"
    assert hook["payload"]["body"]["record"]["status"] == "approved"
    assert world.count(notifications, notifications.c.user_id == world.eve.id) == 1


def test_same_manager_twice_counts_once(world: World) -> None:
    expense = world.expense()
    workflow.transition(world.store, world.mia, "expense", expense, "approve")
    with pytest.raises(Forbidden) as again:
        workflow.transition(world.store, world.mia, "expense", expense, "approve")
    assert again.value.reason == "you have already approved (1 of 2)"
    assert world.raw(expense)["status"] == "submitted"
    assert world.count(approvals) == 1
    assert [e.action for e in world.history(expense)] == ["approve", "create"]


def test_creator_never_counts_towards_the_quorum(world: World) -> None:
    own = world.expense(by="mia")
    with pytest.raises(Forbidden) as refused:
        workflow.transition(world.store, world.mia, "expense", own, "approve")
    assert refused.value.reason == "the creator of the record may not approve it"
    assert world.count(approvals) == 0
    assert not workflow.take(world.store, world.max, "expense", own, "approve").applied
    assert workflow.take(world.store, world.moe, "expense", own, "approve").applied
    assert world.raw(own)["status"] == "approved"


def test_approvals_reset_after_leaving_and_reentering_the_state(world: World) -> None:
    expense = world.expense()
    workflow.transition(world.store, world.mia, "expense", expense, "approve")
    workflow.transition(world.store, world.max, "expense", expense, "escalate")
    workflow.transition(world.store, world.eve, "expense", expense, "resubmit")
    assert world.raw(expense)["status"] == "submitted"
    fresh = reasons(world, "mia", expense)["approve"]
    assert fresh.allowed and fresh.progress == workflow.Progress(0, 2, False)
    # max's approval is the first of the new round: mia's earlier one does not count
    assert not workflow.take(world.store, world.max, "expense", expense, "approve").applied
    assert world.raw(expense)["status"] == "submitted"
    assert workflow.take(world.store, world.mia, "expense", expense, "approve").applied
    assert world.raw(expense)["status"] == "approved"


# -- comments, assignee, require, when ----------------------------------------------------
def test_comment_required_optional_and_none(world: World) -> None:
    expense = world.expense()
    for empty in (None, "", "   "):
        with pytest.raises(ValidationFailed) as missing:
            workflow.transition(world.store, world.mia, "expense", expense, "reject", comment=empty)
        assert [m.code for m in missing.value.errors["comment"]] == ["required"]
    with pytest.raises(ValidationFailed) as none:
        workflow.transition(world.store, world.mia, "expense", expense, "escalate", comment="x")
    assert none.value.errors["comment"][0].code == "not-allowed"
    with pytest.raises(ValidationFailed) as long:
        workflow.transition(
            world.store, world.mia, "expense", expense, "reject", comment="x" * 4001
        )
    assert long.value.errors["comment"][0].code == "max-length"
    assert world.raw(expense)["status"] == "submitted" and world.raw(expense)["version"] == 1
    workflow.transition(
        world.store, world.mia, "expense", expense, "reject", comment="Receipt missing"
    )
    entry = world.history(expense)[0]
    assert entry.detail["comment"] == "Receipt missing" and entry.detail["to"] == "rejected"


def test_only_the_assignee_may_pay_and_paid_on_is_required(world: World) -> None:
    expense = approved_expense(world, amount=90)
    for who in ("ada", "abe"):  # nobody is assigned yet
        assert reasons(world, who, expense)["pay"].code == "assignee"
    world.store.update(world.mia, "expense", expense, {"handler": world.ada.id})
    with pytest.raises(Forbidden) as other:
        workflow.transition(world.store, world.abe, "expense", expense, "pay")
    assert other.value.reason == "only the assignee (field handler) may take this transition"
    with pytest.raises(ValidationFailed) as missing:
        workflow.transition(world.store, world.ada, "expense", expense, "pay")
    assert missing.value.errors["paid_on"][0].code == "required"
    with pytest.raises(ValidationFailed) as not_required:
        workflow.transition(
            world.store, world.ada, "expense", expense, "pay", values={"title": "mine"}
        )
    assert not_required.value.errors["title"][0].code == "not-writable"
    paid = workflow.transition(
        world.store, world.ada, "expense", expense, "pay", values={"paid_on": "2026-03-02"}
    )
    assert paid is not None and paid["status"] == "paid" and paid["paid_on"] == date(2026, 3, 2)


def test_when_condition_refuses_the_transition(world: World) -> None:
    expense = approved_expense(world, amount=12_000, handler=world.ada.id)
    with pytest.raises(Forbidden) as refused:
        workflow.transition(
            world.store, world.ada, "expense", expense, "pay", values={"paid_on": "2026-03-02"}
        )
    assert refused.value.reason == "when-condition false: record['amount'] < 10000"
    assert world.raw(expense)["status"] == "approved"


def test_r5_stale_version_changes_nothing(world: World) -> None:
    expense = world.expense()
    workflow.transition(world.store, world.mia, "expense", expense, "reject", comment="No")
    before = world.snapshot()
    with pytest.raises(StaleRecord):
        workflow.transition(
            world.store, world.eve, "expense", expense, "resubmit", expected_version=1
        )
    assert world.raw(expense)["status"] == "rejected" and world.snapshot() == before


# -- actions and R6 ------------------------------------------------------------------------
def test_actions_run_in_the_transition(world: World) -> None:
    expense = approved_expense(world, amount=75)
    workflow.transition(world.store, world.ada, "expense", expense, "book")
    assert world.raw(expense)["status"] == "booked"
    table = world.portal.tables["booking"]
    with world.engine.connect() as conn:
        (booking,) = conn.execute(sa.select(table)).mappings()
    assert (booking["expense"], booking["amount"]) == (expense, 75)
    with world.engine.connect() as conn:
        created = conn.execute(
            sa.select(audit_table.c.actor_id, audit_table.c.detail).where(
                audit_table.c.entity == "booking"
            )
        ).one()
    # written by the system on behalf of ada, named after the transition
    assert created.actor_id == world.ada.id
    assert created.detail["via"] == "transition expense_flow/book"
    assert [j["payload"]["url"] for j in world.jobs("webhook")][-1] == "http://127.0.0.1:9/booked"


def test_r6_failing_action_persists_nothing(world: World) -> None:
    expense = approved_expense(world, amount=0)  # a booking of 0 breaks the booking's rule
    before, raw = world.snapshot(), world.raw(expense)
    with pytest.raises(ValidationFailed) as failed:
        workflow.transition(world.store, world.ada, "expense", expense, "book")
    assert "A booking needs a positive amount" in str(failed.value)
    # neither the state change, nor its audit entry, nor the queued webhook and mail, nor the
    # in-app notification of the notify action that ran before the failing create
    assert world.raw(expense) == raw and raw["status"] == "approved"
    assert world.snapshot() == before
    assert world.count(world.portal.tables["booking"]) == 0
    assert (
        world.count(audit_table, audit_table.c.portal == SLUG, audit_table.c.entity == "booking")
        == 0
    )
    assert world.count(jobs, jobs.c.kind == "webhook") == 1  # the approval's, from before


def test_r6_failed_final_approval_keeps_nothing(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    # a variant whose approval also books the expense: a booking of 0 breaks its rule
    booking = (
        '          - webhook: {url: "http://127.0.0.1:9/hook", secret: s3cret}\n'
        "          - create: {entity: booking, values: {expense: {expr: \"record['id']\"},\n"
        "                                               amount: {expr: \"record['amount']\"}}}\n"
    )
    text = PORTAL.replace(
        '          - webhook: {url: "http://127.0.0.1:9/hook", secret: s3cret}\n', booking, 1
    )
    assert text != PORTAL
    world = expense_world(db_engine, portalis_checker, tmp_path / "variant", text)
    expense = world.expense(amount=0)
    assert not workflow.take(world.store, world.mia, "expense", expense, "approve").applied
    before, raw = world.snapshot(), world.raw(expense)
    with pytest.raises(ValidationFailed):
        workflow.transition(world.store, world.max, "expense", expense, "approve")
    # max's approval, the state, the audit entry, the webhook job and eve's notification: gone
    assert world.snapshot() == before and world.raw(expense) == raw
    assert world.count(approvals) == 1 and world.jobs("webhook") == []
    assert reasons(world, "max", expense)["approve"].progress == workflow.Progress(1, 2, False)
