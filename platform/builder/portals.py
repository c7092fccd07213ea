"""What the builder shows about portals: live version, publish time, versions and problems.

Read from the platform tables (one query for the start page) and the application's registry
(which version this server serves, which failed to load). The problems of a version that
failed to load are found by checking its stored bundle again with the application's
checker — once per (portal, version) and process, since stored versions never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from portalis.engine.data.platform_tables import portals, versions
from portalis.engine.definition.bundle import Bundle
from portalis.runtime.context import state


@dataclass(frozen=True, slots=True)
class PortalSummary:
    """One portal on the start page."""

    slug: str
    live_version: int
    published_at: datetime | None
    note: str | None
    #: the version this server serves (older than `live_version` after a failed load)
    serving: int | None
    #: the live version's problems when it failed to load here (empty otherwise)
    problems: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """True when this server could not load the live version."""
        return self.serving != self.live_version


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One stored version on a portal's page."""

    number: int
    created_at: datetime | None
    created_by: str | None
    note: str | None
    live: bool


def summaries(slugs: set[str] | None = None) -> list[PortalSummary]:
    """Every published portal (or those of `slugs`), by slug — one query."""
    st = state()
    st.registry.refresh()
    query = (
        sa.select(portals.c.slug, portals.c.live_version, versions.c.created_at, versions.c.note)
        .join(
            versions,
            sa.and_(
                versions.c.portal == portals.c.slug, versions.c.number == portals.c.live_version
            ),
        )
        .order_by(portals.c.slug)
    )
    with st.engine.connect() as conn:
        rows = conn.execute(query).all()
    found = []
    for row in rows:
        if slugs is not None and row.slug not in slugs:
            continue
        served = st.registry.get(row.slug)
        serving = served.version if served is not None else None
        live = int(row.live_version)
        problems = version_problems(row.slug, live) if serving != live else ()
        found.append(PortalSummary(row.slug, live, row.created_at, row.note, serving, problems))
    return found


def portal_versions(slug: str) -> list[VersionRow]:
    """The stored versions of `slug`, newest first (empty for an unknown portal)."""
    with state().engine.connect() as conn:
        live = conn.execute(
            sa.select(portals.c.live_version).where(portals.c.slug == slug)
        ).scalar()
        rows = conn.execute(
            sa.select(
                versions.c.number, versions.c.created_at, versions.c.created_by, versions.c.note
            )
            .where(versions.c.portal == slug)
            .order_by(versions.c.number.desc())
        ).all()
    return [
        VersionRow(int(r.number), r.created_at, r.created_by, r.note, r.number == live)
        for r in rows
    ]


def version_problems(slug: str, number: int) -> tuple[str, ...]:
    """The problems of stored version `number` of `slug` as this server's checker sees them
    (cached per process); empty when the checker finds none (then the reason is in the
    server's log, e.g. a block type no loaded plugin renders)."""
    st = state()
    cache: dict[tuple[str, int], tuple[str, ...]] = st.extra.setdefault("builder_problems", {})
    key = (slug, number)
    if key not in cache:
        with st.engine.connect() as conn:
            files = conn.execute(
                sa.select(versions.c.files).where(
                    versions.c.portal == slug, versions.c.number == number
                )
            ).scalar_one()
        bundle = Bundle.of(files)
        report = st.checker.check_bundle(bundle, st.settings.env, seeds=False).report
        cache[key] = tuple(problem.format() for problem in report.sorted())
    return cache[key]
