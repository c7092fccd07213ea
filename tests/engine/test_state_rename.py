"""A renamed workflow state (`renamed_from:` on an option of its choice field) moves the
records that hold the old name, in the deploy's transaction — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portalis.engine.data.system_tables import audit, jobs
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.version_diff import diff
from portalis.engine.deploy.versions import deploy, prepare
from portalis.engine.outbox.jobs import enqueue
from portalis.engine.problems import DefinitionError
from portalis.testing.portals import BLUEPRINTS

TICKETS = "p_acme_support__ticket"
OPEN_OPTION = "          - {value: open, label: {en: Open, de: Offen, fr: Ouvert, es: Abierto}}"


def b2c() -> Bundle:
    bundle, problems = read_bundle(BLUEPRINTS / "b2c")
    assert problems == []
    return bundle


def renamed(bundle: Bundle, option: str = "{value: submitted, renamed_from: open, ") -> Bundle:
    """The b2c portal with the ticket state `open` renamed to `submitted`."""
    files = dict(bundle.files)
    entity = files["entities/ticket.yaml"]
    assert OPEN_OPTION in entity
    entity = entity.replace(OPEN_OPTION, OPEN_OPTION.replace("{value: open, ", option))
    files["entities/ticket.yaml"] = entity.replace("default: open", "default: submitted")
    flow = files["workflows/ticket_flow.yaml"]
    for old, new in [
        ("initial: open", "initial: submitted"),
        ("from: open,", "from: submitted,"),
        ("to: open,", "to: submitted,"),
        ("state: open", "state: submitted"),
        ("('open', 'in_progress')", "('submitted', 'in_progress')"),
    ]:
        assert old in flow
        flow = flow.replace(old, new)
    files["workflows/ticket_flow.yaml"] = flow
    return Bundle.of(files)


def statuses(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT status, COUNT(*) FROM {TICKETS} GROUP BY status"))
        return {str(r[0]): int(r[1]) for r in rows}


def test_deploy_rename_deploy_moves_records(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    before = statuses(db_engine)
    assert before.get("open", 0) >= 2 and "submitted" not in before
    with db_engine.connect() as conn:
        versions_before = dict(
            conn.execute(sa.text(f"SELECT id, version FROM {TICKETS} WHERE status = 'open'")).all()
        )
        timer = {"portal": "acme-support", "workflow": "ticket_flow", "timer": "urgent_sla",
                 "entity": "ticket", "record_id": 1, "state": "open", "marker": 1}  # fmt: skip
        enqueue(conn, kind="timer", portal="acme-support", key="t-test", payload=timer)
        conn.commit()
    target = renamed(b2c())
    _, plan = prepare(db_engine, portalis_checker, target, {})
    lines = plan.describe()
    assert f"~ rename state open -> submitted of ticket.status ({before['open']} records)" in lines
    assert [op.kind for op in plan.ops] == ["rename_value"]  # the column is wide enough
    result = deploy(db_engine, portalis_checker, target, {})
    assert result.version == 2
    after = statuses(db_engine)
    assert "open" not in after and after["submitted"] == before["open"]
    with db_engine.connect() as conn:
        moved = dict(
            conn.execute(
                sa.text(f"SELECT id, version FROM {TICKETS} WHERE status = 'submitted'")
            ).all()
        )
        entries = conn.execute(
            sa.select(audit.c.record_id, audit.c.changes, audit.c.detail).where(
                audit.c.portal == "acme-support", audit.c.action == "update"
            )
        ).all()
        payload = conn.execute(sa.select(jobs.c.payload).where(jobs.c.key == "t-test")).scalar()
    assert {k: v - 1 for k, v in moved.items()} == versions_before  # optimistic lock bumped
    assert sorted(e.record_id for e in entries) == sorted(versions_before)
    assert all(e.changes == {"status": ["open", "submitted"]} for e in entries)
    assert all(e.detail == {"via": "deploy", "renamed": "state"} for e in entries)
    assert payload["state"] == "submitted"  # the queued timer waits on the new name

    # Kept in later versions, renamed_from names a state no record holds: no step, no change.
    later = Bundle.of({**target.files, "portal.yaml": target.files["portal.yaml"] + "\n# v3\n"})
    _, again = prepare(db_engine, portalis_checker, later, {})
    assert again.empty
    assert deploy(db_engine, portalis_checker, later, {}).version == 3
    assert statuses(db_engine) == after


def test_portalis_diff_names_the_renamed_state(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    deploy(db_engine, portalis_checker, renamed(b2c()), {})
    summary = diff(db_engine, portalis_checker, "acme-support", 1, 2).summary
    assert "~ state ticket.status: open → submitted" in summary


def test_rename_to_a_longer_name_widens_the_column_first(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    long = "submitted_and_waiting_for_first_reply"  # longer than the 32-character column
    target = Bundle.of(
        {path: text.replace("submitted", long) for path, text in renamed(b2c()).files.items()}
    )
    _, plan = prepare(db_engine, portalis_checker, target, {})
    assert sorted(op.kind for op in plan.ops) == ["alter_type", "rename_value"]
    deploy(db_engine, portalis_checker, target, {})
    assert "open" not in statuses(db_engine) and statuses(db_engine)[long] >= 2


def test_unknown_old_name_is_a_problem_with_its_line(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    typo = renamed(b2c(), "{value: submitted, renamed_from: opne, ")
    with pytest.raises(DefinitionError) as failed:
        prepare(db_engine, portalis_checker, typo, {})
    [problem] = failed.value.problems
    assert problem.code == "option-rename-unknown"
    assert (problem.file, problem.line) == ("entities/ticket.yaml", 53)
    assert "opne" in problem.message
