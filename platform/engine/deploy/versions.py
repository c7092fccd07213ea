"""Versions: deploy = load → validate → plan → apply → store version N → publish.

Schema changes, the version row, the live pointer and seed data are written in one
transaction, so a failure anywhere leaves the previous version live and the database as it
was. Deploying the same bundle again creates no new version.

Rollup and stored computed fields that are new in the deployed version (or whose definition
changed), and those over seeded records, are recomputed for every row in the same transaction,
so existing records show correct totals from the first request; a deploy with seed data
recomputes every derived value (and so repairs any that went wrong). Records without a number
in a sequence field (created before the field existed) are numbered in creation order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..accounts.memberships import sync_home_memberships
from ..data.errors import NotFound
from ..data.platform_tables import ensure_platform_tables, portals, versions
from ..data.sequences import number_existing
from ..data.tables import utcnow
from ..definition.bundle import Bundle
from ..definition.loader import RawPortal
from ..definition.model import PortalModel
from ..portal import CompiledPortal, compile_portal, renames
from ..problems import DefinitionError, PortalisError
from .live_schema import LiveSchemas
from .migrations import Plan, apply, plan
from .rename_check import unknown_renames
from .rollup_repair import derived_order, repair
from .seed import SeedStats, load_seed
from .validator import Checker
from .value_renames import declared

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """Progress that says nothing."""


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One stored version of a portal."""

    portal: str
    number: int
    sha256: str
    created_at: datetime
    created_by: str | None
    note: str | None
    live: bool


@dataclass(frozen=True, slots=True)
class DeployResult:
    """What a deploy or rollback did."""

    portal: CompiledPortal
    version: int
    created: bool
    plan: Plan
    seed: SeedStats | None = None


def prepare(
    engine: sa.Engine, checker: Checker, bundle: Bundle, env: Mapping[str, str] | None
) -> tuple[CompiledPortal, Plan]:
    """Check, compile and plan a bundle against the live database without writing anything
    (DefinitionError when the bundle has errors)."""
    checked = checker.check_bundle(bundle, env if env is not None else os.environ)
    return plan_model(engine, checked.unwrap(), bundle, checked.raw)


def plan_model(
    engine: sa.Engine,
    model: PortalModel,
    bundle: Bundle,
    raw: RawPortal | None = None,
    schemas: LiveSchemas | None = None,
) -> tuple[CompiledPortal, Plan]:
    """Compile a checked model and plan its schema against the live database (read-only).

    With the loaded definition `raw`, a `renamed_from:` of an option that the live version
    cannot explain is a DefinitionError at its line (see `rename_check`). With `schemas`
    the live schema is taken from that cache (reviews; a deploy plans without one)."""
    compiled = compile_portal(model, bundle)
    schema = None
    if schemas is None:
        ensure_platform_tables(engine)
    else:  # a review of a stored draft: the platform tables hold it, so they exist
        schema = schemas.get(engine, compiled.slug, compiled.tables.prefix)
    result = plan(
        engine, compiled.tables, renames=renames(compiled), values=declared(compiled),
        schema=schema,
    )  # fmt: skip
    if raw is not None and result.values:
        with engine.connect() as conn:
            number = _live(conn, compiled.slug)
        live = get_bundle(engine, compiled.slug, number) if number is not None else None
        problems = unknown_renames(raw, compiled, result, live)
        if problems:
            raise DefinitionError(problems)
    return compiled, result


def deploy(
    engine: sa.Engine,
    checker: Checker,
    bundle: Bundle,
    env: Mapping[str, str] | None = None,
    *,
    allow_destructive: bool = False,
    seed: bool = False,
    note: str | None = None,
    deployed_by: str | None = None,
    progress: Progress = _quiet,
    on_publish: Callable[[sa.Connection, int], None] | None = None,
    expected_plan: str | None = None,
) -> DeployResult:
    """Deploy `bundle` and publish it as the portal's live version; `on_publish(conn, N)`
    runs in the same transaction once version N is live (drafts record their publication).
    `expected_plan` is the fingerprint of the plan that was shown and consented to: planned
    again inside the transaction, a different plan raises `PlanChanged` (nothing deployed)."""
    progress("validating and compiling")
    compiled, schema_plan = prepare(engine, checker, bundle, env)
    slug = compiled.slug
    progress(f"planned {len(schema_plan.ops)} schema change(s)")
    with engine.connect() as conn:
        current = _version_by_sha(conn, slug, bundle.sha256)
    previous = _live_model(engine, checker, slug, env, compiled.model)
    outcome: dict[str, Any] = {}

    def publish(conn: sa.Connection) -> None:
        number = current
        if number is None:
            number = _next_number(conn, slug)
            conn.execute(
                versions.insert().values(
                    portal=slug,
                    number=number,
                    sha256=bundle.sha256,
                    files=dict(bundle.files),
                    created_at=utcnow(),
                    created_by=deployed_by,
                    note=note,
                )
            )
        _set_live(conn, slug, number)
        outcome["number"] = number
        _settle_existing(conn, compiled, progress)
        seeded: frozenset[str] = frozenset()
        if seed:
            progress("loading seed data")
            live_portal = compile_portal(compiled.model, bundle, number)
            outcome["seed"] = load_seed(conn, live_portal, engine)
            seeded = frozenset(outcome["seed"].created)
        refresh_rollups(conn, compiled, engine, previous, seeded, progress, everything=seed)
        if on_publish is not None:
            on_publish(conn, number)

    progress("applying")
    apply(
        engine,
        compiled.tables,
        schema_plan,
        allow_destructive=allow_destructive,
        extra=publish,
        expected=expected_plan,
    )
    number = int(outcome["number"])
    progress(f"version {number} is live")
    return DeployResult(
        portal=compile_portal(compiled.model, bundle, number),
        version=number,
        created=current is None,
        plan=schema_plan,
        seed=outcome.get("seed"),
    )


def rollback(
    engine: sa.Engine,
    checker: Checker,
    slug: str,
    number: int,
    env: Mapping[str, str] | None = None,
    *,
    allow_destructive: bool = False,
    progress: Progress = _quiet,
) -> DeployResult:
    """Make stored version `number` live again, replanning the schema back to it."""
    bundle = get_bundle(engine, slug, number)
    compiled, schema_plan = prepare(engine, checker, bundle, env)
    previous = _live_model(engine, checker, slug, env, compiled.model)

    def publish(conn: sa.Connection) -> None:
        _set_live(conn, slug, number)
        _settle_existing(conn, compiled, progress)
        refresh_rollups(conn, compiled, engine, previous, frozenset(), progress)

    progress(f"rolling back to version {number}: {len(schema_plan.ops)} schema change(s)")
    apply(engine, compiled.tables, schema_plan, allow_destructive=allow_destructive, extra=publish)
    return DeployResult(compile_portal(compiled.model, bundle, number), number, False, schema_plan)


def refresh_rollups(
    conn: sa.Connection,
    compiled: CompiledPortal,
    engine: sa.Engine,
    previous: PortalModel | None,
    seeded: frozenset[str],
    progress: Progress = _quiet,
    *,
    everything: bool = False,
) -> int:
    """Recompute, on every row, the rollups and stored computed fields that are new or
    changed since `previous` (the model that was live; None: all of them) and those over or
    on `seeded` entities, plus every derived field reading them, each after what it reads.
    `everything` (a deploy with seed data) repairs every derived field of every row.
    Returns the number of row updates."""
    model = compiled.model
    wanted: list[tuple[str, str]] = []
    for entity in model.entities.values():
        for field in entity.fields.values():
            if field.rollup is None and (field.compute is None or not field.stored):
                continue
            before = previous.entities.get(entity.name) if previous is not None else None
            old = before.fields.get(field.name) if before is not None else None
            rollup = field.rollup
            compute = field.compute.source if field.compute is not None else None
            if (
                old is None
                or (old.rollup, old.type, old.config, old.stored)
                != (rollup, field.type, field.config, field.stored)
                or (old.compute.source if old.compute is not None else None) != compute
                or (rollup is not None and rollup.entity in seeded)
                or entity.name in seeded
            ):
                wanted.append((entity.name, field.name))
    order = derived_order(model, None if everything else wanted)
    if not order:
        return 0
    changed = repair(compiled.store(engine), conn, order)
    progress(f"recomputed rollups and stored computed fields: {changed} record(s) updated")
    return changed


def _settle_existing(conn: sa.Connection, compiled: CompiledPortal, progress: Progress) -> None:
    """Number the records a new sequence field found (before seed data takes its numbers);
    users from before memberships get their home membership (nothing else changes)."""
    sync_home_memberships(conn, compiled)
    numbered = number_existing(conn, compiled.model, compiled.tables)
    if numbered:
        progress(f"numbered {numbered} existing record(s)")


def _live_model(
    engine: sa.Engine,
    checker: Checker,
    slug: str,
    env: Mapping[str, str] | None,
    new: PortalModel,
) -> PortalModel | None:
    """The model of the live version (to tell new rollups from old ones); None when there
    is none or it no longer compiles. Skipped when `new` has no rollups."""
    if not any(
        f.rollup or (f.compute is not None and f.stored)
        for e in new.entities.values()
        for f in e.fields.values()
    ):
        return None
    ensure_platform_tables(engine)
    with engine.connect() as conn:
        number = _live(conn, slug)
    if number is None:
        return None
    try:
        bundle = get_bundle(engine, slug, number)
        environ = env if env is not None else os.environ
        return checker.check_bundle(bundle, environ, seeds=False).model
    except PortalisError:
        return None


def list_versions(engine: sa.Engine, slug: str) -> list[VersionInfo]:
    """Every stored version of a portal, oldest first."""
    ensure_platform_tables(engine)
    with engine.connect() as conn:
        live = _live(conn, slug)
        rows = conn.execute(
            sa.select(versions).where(versions.c.portal == slug).order_by(versions.c.number)
        ).mappings()
        return [
            VersionInfo(
                slug,
                r["number"],
                r["sha256"],
                r["created_at"],
                r["created_by"],
                r["note"],
                r["number"] == live,
            )
            for r in rows
        ]


def live_versions(bind: sa.Engine | sa.Connection) -> dict[str, int]:
    """slug → live version of every portal (one cheap query; workers poll it, on the
    connection of the request at hand when given one)."""
    if isinstance(bind, sa.Engine):
        with bind.connect() as new:
            return live_versions(new)
    query = sa.select(portals.c.slug, portals.c.live_version).where(
        portals.c.live_version.is_not(None)
    )
    try:
        rows = bind.execute(query).all()
    except sa.exc.DBAPIError:
        bind.rollback()  # PostgreSQL refuses further statements in a failed transaction
        if sa.inspect(bind).has_table(portals.name):
            raise
        return {}  # a fresh database: nothing deployed yet
    return {r.slug: int(r.live_version) for r in rows}


def get_bundle(engine: sa.Engine, slug: str, number: int | None = None) -> Bundle:
    """The stored bundle of version `number` (default: the live one)."""
    ensure_platform_tables(engine)
    with engine.connect() as conn:
        if number is None:
            number = _live(conn, slug)
            if number is None:
                raise NotFound(f"portal {slug!r} has no live version")
        row = conn.execute(
            sa.select(versions.c.files).where(
                versions.c.portal == slug, versions.c.number == number
            )
        ).first()
    if row is None:
        raise NotFound(f"portal {slug!r} has no version {number}")
    return Bundle.of(row[0])


def load_live(
    engine: sa.Engine, checker: Checker, slug: str, env: Mapping[str, str] | None = None
) -> CompiledPortal:
    """Compile the live version of a portal (what every worker serves)."""
    with engine.connect() as conn:
        number = _live(conn, slug)
    if number is None:
        raise NotFound(f"portal {slug!r} has no live version")
    bundle = get_bundle(engine, slug, number)
    environ = env if env is not None else os.environ
    model = checker.check_bundle(bundle, environ, seeds=False).unwrap()
    return compile_portal(model, bundle, number)


def export(
    engine: sa.Engine, slug: str, directory: str | os.PathLike[str], number: int | None = None
) -> Bundle:
    """Write a version's files under `directory`, byte-identical to what was deployed."""
    bundle = get_bundle(engine, slug, number)
    bundle.write(directory)
    return bundle


def _live(conn: sa.Connection, slug: str) -> int | None:
    row = conn.execute(sa.select(portals.c.live_version).where(portals.c.slug == slug)).first()
    return None if row is None or row[0] is None else int(row[0])


def _version_by_sha(conn: sa.Connection, slug: str, sha: str) -> int | None:
    row = conn.execute(
        sa.select(versions.c.number)
        .where(versions.c.portal == slug, versions.c.sha256 == sha)
        .order_by(versions.c.number.desc())
    ).first()
    return None if row is None else int(row[0])


def _next_number(conn: sa.Connection, slug: str) -> int:
    current = conn.execute(
        sa.select(sa.func.max(versions.c.number)).where(versions.c.portal == slug)
    ).scalar()
    return int(current or 0) + 1


def _set_live(conn: sa.Connection, slug: str, number: int) -> None:
    updated = conn.execute(
        portals.update()
        .where(portals.c.slug == slug)
        .values(live_version=number, updated_at=utcnow())
    )
    if updated.rowcount == 0:
        conn.execute(portals.insert().values(slug=slug, live_version=number, updated_at=utcnow()))
