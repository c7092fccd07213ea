"""Deploy, plan, versions, rollback, diff, export — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.migrations import DestructiveChangeRefused
from portalis.engine.deploy.version_diff import diff
from portalis.engine.deploy.versions import (
    deploy,
    export,
    get_bundle,
    list_versions,
    live_versions,
    prepare,
    rollback,
)
from portalis.engine.problems import DefinitionError
from portalis.testing.portals import BLUEPRINTS

B2C = BLUEPRINTS / "b2c"


def b2c_bundle() -> Bundle:
    bundle, problems = read_bundle(B2C)
    assert problems == []
    return bundle


def with_file(bundle: Bundle, path: str, text: str) -> Bundle:
    return Bundle.of({**bundle.files, path: text})


def edit(bundle: Bundle, path: str, old: str, new: str) -> Bundle:
    assert old in bundle.files[path]
    return with_file(bundle, path, bundle.files[path].replace(old, new, 1))


def count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


TICKETS = "p_acme_support__ticket"


def test_deploy_with_seed_is_idempotent(db_engine, portalis_checker) -> None:
    first = deploy(db_engine, portalis_checker, b2c_bundle(), {}, seed=True)
    assert first.created and first.version == 1
    assert first.seed is not None and first.seed.created["ticket"] == 4
    assert count(db_engine, TICKETS) == 4
    again = deploy(db_engine, portalis_checker, b2c_bundle(), {}, seed=True)
    assert not again.created and again.version == 1
    assert again.plan.empty
    assert again.seed is not None and again.seed.total() == 0
    assert count(db_engine, TICKETS) == 4
    assert live_versions(db_engine) == {"acme-support": 1}


def test_added_field_is_one_additive_op_and_rows_kept(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c_bundle(), {}, seed=True)
    changed = edit(
        b2c_bundle(),
        "entities/ticket.yaml",
        "      body:\n",
        "      channel:\n        type: string\n        max_length: 40\n      body:\n",
    )
    _, plan = prepare(db_engine, portalis_checker, changed, {})
    assert [op.kind for op in plan.ops] == ["add_column"]
    assert not plan.destructive
    result = deploy(db_engine, portalis_checker, changed, {})
    assert result.version == 2 and result.created
    assert count(db_engine, TICKETS) == 4
    with db_engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns(TICKETS)}
    assert "channel" in cols


def test_removed_field_needs_consent(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c_bundle(), {}, seed=True)
    removed = edit(
        b2c_bundle(),
        "entities/ticket.yaml",
        "      due:\n        type: date\n        label: {en: Due date, de: Fällig am, fr: Échéance, es: Vencimiento}\n",
        "",
    )
    removed = edit(
        removed, "entities/ticket.yaml", "record['due'] is None or record['due'] >= today()", "True"
    )
    removed = edit(removed, "pages/tickets.yaml", "account, due, updated_at", "account, updated_at")
    removed = edit(
        removed,
        "pages/tickets.yaml",
        "tags, due, attachment, assignee",
        "tags, attachment, assignee",
    )
    removed = edit(
        removed,
        "pages/tickets.yaml",
        "tags, due, attachment], redirect",
        "tags, attachment], redirect",
    )
    removed = edit(
        removed, "entities/ticket.yaml", "body, tags, due, attachment]", "body, tags, attachment]"
    )
    removed = edit(removed, "pages/tickets.yaml", "priority, due, account]}", "priority, account]}")
    with pytest.raises(DestructiveChangeRefused) as refused:
        deploy(db_engine, portalis_checker, removed, {})
    assert [op.kind for op in refused.value.ops] == ["drop_column"]
    assert list_versions(db_engine, "acme-support")[-1].number == 1  # previous stays live
    assert live_versions(db_engine) == {"acme-support": 1}
    result = deploy(db_engine, portalis_checker, removed, {}, allow_destructive=True)
    assert result.version == 2
    assert count(db_engine, TICKETS) == 4


def test_renamed_field_keeps_data(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c_bundle(), {}, seed=True)
    bundle = b2c_bundle()
    for path, old, new in [
        (
            "entities/ticket.yaml",
            "      subject:\n",
            "      title:\n        renamed_from: subject\n",
        ),
        ("entities/ticket.yaml", "title_field: subject", "title_field: title"),
        ("entities/ticket.yaml", "only: [subject, body", "only: [title, body"),
        ("pages/tickets.yaml", "columns: [subject,", "columns: [title,"),
        ("pages/tickets.yaml", "search: [subject, body]", "search: [title, body]"),
        ("pages/tickets.yaml", "import: {fields: [subject,", "import: {fields: [title,"),
        ("entities/ticket.yaml", "fields: {subject: 4, body: 1}", "fields: {title: 4, body: 1}"),
        (
            "pages/tickets.yaml",
            "fields: [subject, body, priority, tags, due, attachment, assignee",
            "fields: [title, body, priority, tags, due, attachment, assignee",
        ),
        (
            "pages/tickets.yaml",
            "fields: [subject, body, priority, amount, tags, due, attachment], redirect",
            "fields: [title, body, priority, amount, tags, due, attachment], redirect",
        ),
    ]:
        bundle = edit(bundle, path, old, new)
    seed = bundle.files["seed/demo.yaml"].replace("subject:", "title:")
    bundle = with_file(bundle, "seed/demo.yaml", seed)
    _, plan = prepare(db_engine, portalis_checker, bundle, {})
    assert [op.kind for op in plan.ops] == ["rename_column"]
    deploy(db_engine, portalis_checker, bundle, {})
    with db_engine.connect() as conn:
        titles = sorted(r[0] for r in conn.execute(sa.text(f"SELECT title FROM {TICKETS}")))
    assert "Invoice 2026-114 is wrong" in titles and len(titles) == 4


def test_failed_deploy_leaves_previous_version_live(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c_bundle(), {}, seed=True)
    broken_seed = with_file(
        edit(
            b2c_bundle(),
            "entities/ticket.yaml",
            "      body:\n",
            "      channel:\n        type: string\n      body:\n",
        ),
        "seed/more.yaml",
        "records:\n  ticket:\n    - {key: t9, subject: x, account: no-such-account}\n",
    )
    with pytest.raises(DefinitionError) as failed:
        deploy(db_engine, portalis_checker, broken_seed, {}, seed=True)
    assert failed.value.problems[0].file == "seed/more.yaml"
    assert failed.value.problems[0].line == 3
    assert live_versions(db_engine) == {"acme-support": 1}
    assert len(list_versions(db_engine, "acme-support")) == 1
    with db_engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns(TICKETS)}
    assert "channel" not in cols  # the schema change was rolled back with everything else


def test_invalid_definition_is_refused_before_anything(db_engine, portalis_checker) -> None:
    broken = edit(b2c_bundle(), "entities/ticket.yaml", "type: money", "type: monney")
    with pytest.raises(DefinitionError) as refused:
        deploy(db_engine, portalis_checker, broken, {})
    problem = refused.value.problems[0]
    assert (problem.code, problem.file) == ("ref-unknown-field-type", "entities/ticket.yaml")
    assert live_versions(db_engine) == {}


def test_export_is_byte_identical(db_engine, portalis_checker, tmp_path: Path) -> None:
    deploy(db_engine, portalis_checker, b2c_bundle(), {})
    export(db_engine, "acme-support", tmp_path / "out")
    for path in b2c_bundle().files:
        assert (tmp_path / "out" / path).read_bytes() == (B2C / path).read_bytes()


def test_rollback_and_diff(db_engine, portalis_checker) -> None:
    deploy(db_engine, portalis_checker, b2c_bundle(), {}, seed=True)
    v2 = edit(
        b2c_bundle(),
        "entities/ticket.yaml",
        "      body:\n",
        "      channel:\n        type: string\n      body:\n",
    )
    deploy(db_engine, portalis_checker, v2, {})
    changes = diff(db_engine, portalis_checker, "acme-support", 1, 2)
    assert "+      channel:" in changes.files
    assert "+ field ticket.channel" in changes.summary
    with pytest.raises(DestructiveChangeRefused):
        rollback(db_engine, portalis_checker, "acme-support", 1)
    result = rollback(db_engine, portalis_checker, "acme-support", 1, allow_destructive=True)
    assert result.version == 1
    assert live_versions(db_engine) == {"acme-support": 1}
    assert get_bundle(db_engine, "acme-support").sha256 == b2c_bundle().sha256
    assert [v.live for v in list_versions(db_engine, "acme-support")] == [True, False]
    assert count(db_engine, TICKETS) == 4
