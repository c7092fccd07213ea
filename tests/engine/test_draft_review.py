"""Reviewing and publishing drafts, export and import — on SQLite and PostgreSQL.

A draft is validated, compiled and planned against the live database without writing to it,
published through the deploy path (destructive steps need consent; a failure leaves the live
version serving), and exported exactly as `portalis export` writes a version.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.definition.bundle_zip import bundle_to_zip
from portalis.engine.definition.yamledit import BundleEdit, YamlText
from portalis.engine.deploy.migrations import DestructiveChangeRefused
from portalis.engine.deploy.validator import Checker
from portalis.engine.deploy.versions import deploy, list_versions, live_versions
from portalis.engine.drafts import (
    DraftOutdated,
    draft_blank,
    draft_from_directory,
    draft_from_live,
    draft_from_zip,
    export_revision,
    publications,
    publish,
    review,
    revision_bundle,
    revision_zip,
    save,
)
from portalis.engine.problems import DefinitionError
from portalis.testing.cli import invoke
from portalis.testing.portals import BLUEPRINTS

B2C = BLUEPRINTS / "b2c"
TICKETS = "p_acme_support__ticket"


def b2c() -> Bundle:
    bundle, problems = read_bundle(B2C)
    assert not problems
    return bundle


def columns(engine: sa.Engine, table: str) -> set[str]:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(table):
            return set()
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def edit_draft(engine: sa.Engine, draft_id: int, edit: BundleEdit, base: int) -> int:
    result = edit.result()
    changes: dict[str, str | None] = {p: result.files[p] for p in result.changed}
    return save(engine, draft_id, base, changes, author=1).number


def test_review_of_a_fork_plans_a_new_portal_without_creating_it(
    db_engine: sa.Engine, portalis_checker: Checker
) -> None:
    draft = draft_from_directory(db_engine, B2C, name="fork")
    result = review(db_engine, portalis_checker, draft.id, env={})
    assert result.ok and result.compiled is not None and result.plan is not None
    assert result.compiled.slug == "acme-support"
    assert result.live_version is None and not result.outdated
    assert result.plan.ops and not result.plan.destructive
    assert TICKETS in {op.table for op in result.plan.ops if op.kind == "create_table"}
    assert columns(db_engine, TICKETS) == set()
    assert live_versions(db_engine) == {}


def test_review_reports_problems_with_their_file_and_line(
    db_engine: sa.Engine, portalis_checker: Checker
) -> None:
    draft = draft_from_directory(db_engine, B2C, name="fork")
    bad = BundleEdit(revision_bundle(db_engine, draft.id)).set(
        "entities.ticket.fields.subject.type", "strnig"
    )
    number = edit_draft(db_engine, draft.id, bad, 1)
    result = review(db_engine, portalis_checker, draft.id, number, env={})
    assert not result.ok and result.compiled is None and result.plan is None
    problem = result.report.errors[0]
    assert (problem.file, problem.line) == ("entities/ticket.yaml", 8)
    assert problem.path[:4] == ("entities", "ticket", "fields", "subject")


def test_publish_needs_consent_for_destructive_steps_and_records_the_revision(
    db_engine: sa.Engine, portalis_checker: Checker
) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    draft = draft_from_live(db_engine, "acme-support", name="drop amount", created_by=5)
    assert draft.base_version == 1
    edit = BundleEdit(revision_bundle(db_engine, draft.id)).delete("entities.ticket.fields.amount")
    edit.set("pages.new_ticket.blocks.0.form.fields", ["subject", "body", "priority", "due"])
    seed = edit.result().files["seed/demo.yaml"]
    edit.set_file(
        "seed/demo.yaml", YamlText(seed, "seed").delete(("records", "ticket", 0, "amount"))
    )
    number = edit_draft(db_engine, draft.id, edit, 1)
    planned = review(db_engine, portalis_checker, draft.id, env={})
    assert planned.ok and planned.plan is not None
    dropped = [op for op in planned.plan.destructive if op.kind == "drop_column"]
    assert [(op.table, op.column) for op in dropped] == [
        (TICKETS, "amount"),
        (TICKETS, "amount_currency"),
    ]
    assert dropped[0].rows == 1  # the one seeded ticket with an amount
    assert "(1 row has a value)" in dropped[0].describe()
    with pytest.raises(DestructiveChangeRefused):
        publish(db_engine, portalis_checker, draft.id, number, env={})
    assert live_versions(db_engine) == {"acme-support": 1}
    assert "amount" in columns(db_engine, TICKETS)
    result = publish(
        db_engine,
        portalis_checker,
        draft.id,
        number,
        note="drop the disputed amount",
        allow_destructive=True,
        published_by=5,
        deployed_by="builder:5",
        env={},
    )
    assert result.version == 2 and live_versions(db_engine) == {"acme-support": 2}
    assert "amount" not in columns(db_engine, TICKETS)
    latest = list_versions(db_engine, "acme-support")[-1]
    assert (latest.note, latest.created_by) == ("drop the disputed amount", "builder:5")
    assert [(p.revision, p.version, p.published_by) for p in publications(db_engine, draft.id)] == [
        (number, 2, 5)
    ]


def test_a_draft_behind_the_live_version_is_not_published_by_accident(
    db_engine: sa.Engine, portalis_checker: Checker
) -> None:
    deploy(db_engine, portalis_checker, b2c(), {})
    first = draft_from_live(db_engine, "acme-support", name="one")
    second = draft_from_live(db_engine, "acme-support", name="two")
    for draft, color in ((first, "#111111"), (second, "#222222")):
        edit = BundleEdit(revision_bundle(db_engine, draft.id)).set("theme.primary_color", color)
        edit_draft(db_engine, draft.id, edit, 1)
    publish(db_engine, portalis_checker, first.id, 2, env={})
    assert review(db_engine, portalis_checker, second.id, env={}).outdated
    with pytest.raises(DraftOutdated):
        publish(db_engine, portalis_checker, second.id, 2, env={})
    assert live_versions(db_engine) == {"acme-support": 2}
    assert (
        publish(db_engine, portalis_checker, second.id, 2, replace_newer=True, env={}).version == 3
    )


def test_a_blank_portal_reviews_and_publishes(
    db_engine: sa.Engine, portalis_checker: Checker
) -> None:
    draft = draft_blank(db_engine, "fresh-start", name="blank", title='My "new" portal')
    assert review(db_engine, portalis_checker, draft.id, env={}).ok
    assert publish(db_engine, portalis_checker, draft.id, 1, env={}).version == 1
    assert live_versions(db_engine) == {"fresh-start": 1}


def test_export_of_a_revision_is_byte_identical_to_portalis_export(
    database_url: str, db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    deploy(db_engine, portalis_checker, b2c(), {})
    draft = draft_from_live(db_engine, "acme-support", name="export")
    cli = invoke("export", "acme-support", tmp_path / "cli", "--database-url", database_url)
    assert cli.returncode == 0, cli.stderr
    export_revision(db_engine, draft.id, tmp_path / "draft")
    cli_files = sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*"))
    draft_files = sorted(p.relative_to(tmp_path / "draft") for p in (tmp_path / "draft").rglob("*"))
    assert cli_files == draft_files
    for rel in cli_files:
        if (tmp_path / "cli" / rel).is_file():
            assert (tmp_path / "draft" / rel).read_bytes() == (tmp_path / "cli" / rel).read_bytes()
    unpacked = zipfile.ZipFile(io.BytesIO(revision_zip(db_engine, draft.id)))
    for name in unpacked.namelist():
        assert unpacked.read(name) == (tmp_path / "cli" / name).read_bytes()


def test_a_zip_imports_as_a_new_draft(db_engine: sa.Engine, portalis_checker: Checker) -> None:
    data = bundle_to_zip(b2c())
    draft = draft_from_zip(db_engine, data, name="upload", portal="acme-imported", created_by=2)
    stored = revision_bundle(db_engine, draft.id)
    assert draft.portal == "acme-imported" and draft.origin == "zip upload"
    assert {p: t for p, t in stored.files.items() if p != "portal.yaml"} == {
        p: t for p, t in b2c().files.items() if p != "portal.yaml"
    }
    assert review(db_engine, portalis_checker, draft.id, env={}).ok
    with pytest.raises(DefinitionError, match="not a zip"):
        draft_from_zip(db_engine, b"plain text", name="bad")
