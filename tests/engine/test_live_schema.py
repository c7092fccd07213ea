"""The live schema kept per (portal, live version) for reviews — on SQLite and PostgreSQL.

Two reviews against the same live version read the database's catalog once; a publish (or a
rollback) makes the next review reflect again; a review's plan is the plan made without the
cache; and the deploy plans against the database itself, so a schema changed by hand behind
a kept one is noticed when publishing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import begin_write
from portalis.engine.definition.bundle import read_bundle
from portalis.engine.definition.yamledit import BundleEdit
from portalis.engine.deploy.live_schema import LiveSchemas, reflect
from portalis.engine.deploy.migrations import PlanChanged
from portalis.engine.deploy.validator import Checker
from portalis.engine.deploy.versions import deploy, rollback
from portalis.engine.drafts import draft_from_live, publish, review, revision_bundle, save
from portalis.testing.portals import BLUEPRINTS

SLUG = "acme-support"
TICKETS = "p_acme_support__ticket"
#: How reading a table's columns, indexes or keys from the catalog looks on PostgreSQL (on
#: SQLite: a PRAGMA naming the table). Checking that the platform's own tables exist is no
#: reflection of the portal's schema and is not counted.
_PG_CATALOG = ("pg_attribute", "pg_index", "pg_constraint")


@contextmanager
def catalog_reads(engine: sa.Engine) -> Iterator[list[str]]:
    """The SQL statements that read the portal's tables from the catalog while the block
    runs."""
    seen: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        text = statement.lower()
        if any(word in text for word in _PG_CATALOG) or (
            text.startswith("pragma") and "p_acme_support__" in text
        ):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def live(db_engine: sa.Engine, portalis_checker: Checker) -> int:
    """b2c deployed as version 1; a draft of it with one saved edit (revision 2)."""
    bundle, problems = read_bundle(BLUEPRINTS / "b2c")
    assert not problems
    deploy(db_engine, portalis_checker, bundle, {})
    draft = draft_from_live(db_engine, SLUG, name="labels")
    edit = BundleEdit(revision_bundle(db_engine, draft.id)).set(
        "entities.ticket.fields.body.label", "Description"
    )
    changed = edit.result()
    save(db_engine, draft.id, 1, {p: changed.files[p] for p in changed.changed}, author=1)
    return draft.id


def test_two_reviews_against_the_same_live_version_reflect_the_schema_once(
    db_engine: sa.Engine, portalis_checker: Checker, live: int
) -> None:
    schemas = LiveSchemas()
    with catalog_reads(db_engine) as first:
        one = review(db_engine, portalis_checker, live, 1, env={}, schemas=schemas)
    with catalog_reads(db_engine) as second:
        two = review(db_engine, portalis_checker, live, 2, env={}, schemas=schemas)
    assert first and second == []
    uncached = review(db_engine, portalis_checker, live, 2, env={})
    assert one.plan is not None and two.plan is not None and uncached.plan is not None
    assert two.plan.fingerprint() == uncached.plan.fingerprint()


def test_a_publish_or_a_rollback_makes_the_next_review_reflect_again(
    db_engine: sa.Engine, portalis_checker: Checker, live: int
) -> None:
    schemas = LiveSchemas()
    review(db_engine, portalis_checker, live, env={}, schemas=schemas)
    publish(db_engine, portalis_checker, live, 2, env={})
    with catalog_reads(db_engine) as after_publish:
        review(db_engine, portalis_checker, live, env={}, schemas=schemas)
    assert after_publish
    rollback(db_engine, portalis_checker, SLUG, 1, {})
    with catalog_reads(db_engine) as after_rollback:
        review(db_engine, portalis_checker, live, env={}, schemas=schemas)
    assert after_rollback


def test_the_deploy_plans_against_the_database_not_a_kept_schema(
    db_engine: sa.Engine, portalis_checker: Checker, live: int
) -> None:
    schemas = LiveSchemas()
    shown = review(db_engine, portalis_checker, live, 2, env={}, schemas=schemas).plan
    assert shown is not None and not shown.destructive
    with begin_write(db_engine) as conn:  # by hand, behind the kept schema
        conn.execute(sa.text(f"ALTER TABLE {TICKETS} ADD COLUMN legacy_code VARCHAR(20)"))
    kept = review(db_engine, portalis_checker, live, 2, env={}, schemas=schemas).plan
    assert kept is not None and kept.fingerprint() == shown.fingerprint()
    with pytest.raises(PlanChanged) as changed:
        publish(db_engine, portalis_checker, live, 2, env={}, expected_plan=shown.fingerprint(),
                allow_destructive=True)  # fmt: skip
    assert [(op.kind, op.column) for op in changed.value.plan.destructive] == [
        ("drop_column", "legacy_code")
    ]
    schemas.forget(SLUG)
    again = review(db_engine, portalis_checker, live, 2, env={}, schemas=schemas).plan
    assert again is not None and again.fingerprint() == changed.value.plan.fingerprint()


def test_reflect_reads_only_the_portals_tables(db_engine: sa.Engine, live: int) -> None:
    with db_engine.connect() as conn:
        schema = reflect(conn, "p_acme_support__")
    assert TICKETS in schema.tables and all(
        name.startswith("p_acme_support__") for name in schema.tables
    )
    ticket = schema.tables[TICKETS]
    assert {"id", "subject", "body"} <= {c["name"] for c in ticket.columns}
    assert ticket.foreign_keys and ticket.indexes
