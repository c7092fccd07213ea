"""Check, compile and plan a draft revision without publishing it; publish it like a deploy.

`review` runs the same Checker as `portalis validate` and the same planner as `portalis plan`
(reading the live schema and counting rows, writing nothing). `publish` goes through
`deploy()` — one transaction for schema, version and live pointer, so a failure leaves the
live version serving — and records, in that transaction, which draft revision became which
version. Compiling and publishing stay separate steps (a preview compiles without publishing).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from ..data.platform_tables import draft_publications
from ..data.tables import utcnow
from ..definition.loader import load
from ..deploy.live_schema import LiveSchemas
from ..deploy.migrations import Plan
from ..deploy.validator import Checker
from ..deploy.versions import DeployResult, deploy, live_versions, plan_model
from ..portal import CompiledPortal
from ..problems import DefinitionError, Report
from .conflicts import DraftError
from .store import DraftInfo, get_draft, revision_bundle


class DraftOutdated(DraftError):
    """The portal's live version moved on since the draft started from it: publishing
    would undo what was published meanwhile."""

    code = "draft-outdated"


@dataclass(frozen=True, slots=True)
class DraftReview:
    """What publishing a draft revision would do. `compiled` and `plan` are None when the
    revision has errors (see `report`)."""

    draft: DraftInfo
    revision: int
    report: Report
    compiled: CompiledPortal | None
    plan: Plan | None
    live_version: int | None

    @property
    def ok(self) -> bool:
        """True when the revision is valid and compiles."""
        return self.report.ok and self.compiled is not None

    @property
    def outdated(self) -> bool:
        """True when the live version is not the one the draft started from."""
        return self.live_version != self.draft.base_version


def review(
    engine: sa.Engine,
    checker: Checker,
    draft_id: int,
    revision: int | None = None,
    env: Mapping[str, str] | None = None,
    schemas: LiveSchemas | None = None,
) -> DraftReview:
    """Validate, compile and plan a revision (default: the head) against the live database
    (its schema from `schemas` when given: see `LiveSchemas`; rows are always counted)."""
    draft = get_draft(engine, draft_id)
    number = revision if revision is not None else draft.head
    bundle = revision_bundle(engine, draft_id, number)
    checked = checker.check_bundle(bundle, env if env is not None else os.environ)
    compiled: CompiledPortal | None = None
    schema_plan: Plan | None = None
    if checked.model is not None and checked.report.ok:
        try:
            compiled, schema_plan = plan_model(engine, checked.model, bundle, checked.raw, schemas)
        except DefinitionError as refused:  # a rename the live version cannot explain
            checked.report.extend(refused.problems)
        if compiled is not None and compiled.slug != draft.portal:
            checked.report.add(
                checked.raw.source.problem(
                    "draft-portal",
                    f"the draft belongs to portal {draft.portal!r}, its files name {compiled.slug!r}",
                    ("portal",),
                    f"set portal: back to {draft.portal}, or start a new draft for the other portal",
                )
            )
            compiled = schema_plan = None
    live = live_versions(engine).get(draft.portal)
    return DraftReview(draft, number, checked.report, compiled, schema_plan, live)


def publish(
    engine: sa.Engine,
    checker: Checker,
    draft_id: int,
    revision: int,
    *,
    note: str | None = None,
    allow_destructive: bool = False,
    published_by: int | None = None,
    deployed_by: str | None = None,
    replace_newer: bool = False,
    seed: bool = False,
    env: Mapping[str, str] | None = None,
    expected_plan: str | None = None,
) -> DeployResult:
    """Publish a draft revision as the portal's live version, as `portalis deploy` does.

    Destructive steps need `allow_destructive` (DestructiveChangeRefused otherwise); a draft
    whose base is no longer live needs `replace_newer` (DraftOutdated otherwise). With
    `expected_plan` (the fingerprint of the plan the publisher saw) a plan that changed since
    raises `PlanChanged` and nothing is published.
    """
    draft = get_draft(engine, draft_id)
    if draft.discarded:
        raise DraftError(f"draft {draft_id} was discarded")
    bundle = revision_bundle(engine, draft_id, revision)
    live = live_versions(engine).get(draft.portal)
    if live != draft.base_version and not replace_newer:
        raise DraftOutdated(
            f"portal {draft.portal!r} is at version {live}; the draft started from "
            f"{draft.base_version or 'no version'}",
            hint="review the live version's changes, then publish replacing them",
        )
    named = load(bundle)[0].data.get("portal")
    if named != draft.portal:
        raise DraftError(f"the draft belongs to {draft.portal!r}, its files name {named!r}")

    def record(conn: sa.Connection, number: int) -> None:
        conn.execute(
            draft_publications.insert().values(
                draft_id=draft_id,
                revision=revision,
                portal=draft.portal,
                version=number,
                published_by=published_by,
                published_at=utcnow(),
            )
        )

    return deploy(
        engine,
        checker,
        bundle,
        env,
        allow_destructive=allow_destructive,
        seed=seed,
        note=note,
        deployed_by=deployed_by,
        on_publish=record,
        expected_plan=expected_plan,
    )


@dataclass(frozen=True, slots=True)
class Publication:
    """A draft revision that was published as a version."""

    draft_id: int
    revision: int
    portal: str
    version: int
    published_by: int | None


def publications(engine: sa.Engine, draft_id: int) -> list[Publication]:
    """Which revisions of a draft were published as which versions, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(draft_publications)
            .where(draft_publications.c.draft_id == draft_id)
            .order_by(draft_publications.c.id)
        )
        return [
            Publication(r.draft_id, r.revision, r.portal, r.version, r.published_by) for r in rows
        ]
