"""A deploy bound to the plan that was shown (`expected_plan`, the plan's fingerprint) plans
again inside its transaction and refuses a different plan, applying nothing — on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_state_rename import b2c, renamed

from portalis.engine.definition.bundle import Bundle
from portalis.engine.deploy.migrations import PlanChanged
from portalis.engine.deploy.versions import deploy, live_versions, prepare

TICKETS = "p_acme_support__ticket"
DUE = "      due:\n        type: date\n"


def without_due() -> Bundle:
    """b2c without ticket.due (a destructive drop_column)."""
    files = dict(b2c().files)
    for path, old, new in [
        ("entities/ticket.yaml", DUE + "        label: {en: Due date, de: Fällig am, "
         "fr: Échéance, es: Vencimiento}\n", ""),
        ("entities/ticket.yaml", "record['due'] is None or record['due'] >= today()", "True"),
        ("pages/tickets.yaml", "account, due, updated_at", "account, updated_at"),
        ("pages/tickets.yaml", "tags, due, attachment, assignee", "tags, attachment, assignee"),
        ("pages/tickets.yaml", "tags, due, attachment], redirect", "tags, attachment], redirect"),
        ("entities/ticket.yaml", "body, tags, due, attachment]", "body, tags, attachment]"),
        ("pages/tickets.yaml", "priority, due, account]}", "priority, account]}"),
    ]:  # fmt: skip
        assert old in files[path], old
        files[path] = files[path].replace(old, new, 1)
    return Bundle.of(files)


def due_values(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = f"SELECT COUNT(due) FROM {TICKETS}"
        return int(conn.execute(sa.text(query)).scalar_one())


def test_rows_added_since_the_plan_was_shown_refuse_the_deploy(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    _, shown = prepare(db_engine, portalis_checker, without_due(), {})
    [drop] = shown.destructive
    with db_engine.begin() as conn:  # one more value the drop would remove
        conn.execute(sa.text(f"UPDATE {TICKETS} SET due = '2030-01-01' WHERE due IS NULL"))
    values = due_values(db_engine)
    assert values > (drop.rows or 0)
    with pytest.raises(PlanChanged) as changed:
        deploy(db_engine, portalis_checker, without_due(), {}, allow_destructive=True,
               expected_plan=shown.fingerprint())  # fmt: skip
    [now] = changed.value.plan.destructive
    assert now.rows == values and now.key() == drop.key()
    assert live_versions(db_engine) == {"acme-support": 1} and due_values(db_engine) == values
    result = deploy(db_engine, portalis_checker, without_due(), {}, allow_destructive=True,
                    expected_plan=changed.value.plan.fingerprint())  # fmt: skip
    assert result.version == 2


def test_another_version_published_since_refuses_the_deploy(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    _, shown = prepare(db_engine, portalis_checker, renamed(b2c()), {})
    deploy(db_engine, portalis_checker, without_due(), {}, allow_destructive=True)  # meanwhile
    with pytest.raises(PlanChanged):
        deploy(db_engine, portalis_checker, renamed(b2c()), {},
               expected_plan=shown.fingerprint())  # fmt: skip
    assert live_versions(db_engine) == {"acme-support": 2}
    with db_engine.connect() as conn:
        left = conn.execute(sa.text(f"SELECT COUNT(*) FROM {TICKETS} WHERE status = 'open'"))
        assert left.scalar_one() >= 2  # nothing moved


def test_records_moving_to_a_renamed_state_do_not_change_the_fingerprint(
    db_engine, portalis_checker
) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    _, shown = prepare(db_engine, portalis_checker, renamed(b2c()), {})
    with db_engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {TICKETS} SET status = 'open'"))
    _, now = prepare(db_engine, portalis_checker, renamed(b2c()), {})
    assert now.ops[0].rows != shown.ops[0].rows  # the count drifted, consent did not
    assert now.fingerprint() == shown.fingerprint()
    deploy(db_engine, portalis_checker, renamed(b2c()), {}, expected_plan=shown.fingerprint())
