"""Drafts: stored, unpublished bundles, each save a numbered revision.

A draft belongs to a portal slug and remembers the live version it started from (none for a
new portal). Revisions name their files by content hash (`portalis_bundle`), so restoring an
old revision stores nothing new. Saving is optimistic: the caller says which revision its
changes are based on, and a save on anything but the head raises `DraftConflict` with both
sides' changes. The head check and the insert run in one write transaction that holds the
draft's row (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT … FOR UPDATE), and the unique
(draft, number) constraint backs it up, so two concurrent saves never both succeed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..data.db import begin_write, is_sqlite
from ..data.platform_tables import bundles, draft_revisions, drafts, ensure_platform_tables
from ..data.system_tables import aware
from ..data.tables import utcnow
from ..definition.bundle import Bundle
from .conflicts import DraftConflict, DraftError, file_diffs


@dataclass(frozen=True, slots=True)
class DraftInfo:
    """One draft and its head revision."""

    id: int
    portal: str
    name: str
    base_version: int | None
    origin: str
    created_by: int | None
    created_at: datetime
    discarded: bool
    head: int


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """One saved revision of a draft."""

    draft_id: int
    number: int
    sha256: str
    author: int | None
    created_at: datetime
    message: str | None


def create_draft(
    engine: sa.Engine,
    portal: str,
    bundle: Bundle,
    *,
    name: str,
    origin: str,
    base_version: int | None = None,
    created_by: int | None = None,
) -> DraftInfo:
    """Store a new draft whose revision 1 is `bundle`."""
    ensure_platform_tables(engine)
    now = utcnow()
    with begin_write(engine) as conn:
        draft_id = conn.execute(
            drafts.insert()
            .values(
                portal=portal,
                name=name,
                base_version=base_version,
                origin=origin,
                created_by=created_by,
                created_at=now,
            )
            .returning(drafts.c.id)
        ).scalar_one()
        _store_bundle(conn, bundle)
        conn.execute(
            draft_revisions.insert().values(
                draft_id=draft_id,
                number=1,
                sha256=bundle.sha256,
                author=created_by,
                created_at=now,
                message=f"created from {origin}",
            )
        )
    return get_draft(engine, int(draft_id))


def get_draft(engine: sa.Engine, draft_id: int) -> DraftInfo:
    """The draft `draft_id` (DraftError when there is none)."""
    ensure_platform_tables(engine)
    with engine.connect() as conn:
        found = _drafts(conn, drafts.c.id == draft_id)
    if not found:
        raise DraftError(f"there is no draft {draft_id}")
    return found[0]


def list_drafts(
    engine: sa.Engine, portal: str | None = None, *, discarded: bool = False
) -> list[DraftInfo]:
    """The drafts (of one portal), oldest first; discarded ones only when asked."""
    ensure_platform_tables(engine)
    where = sa.true() if portal is None else drafts.c.portal == portal
    if not discarded:
        where = sa.and_(where, drafts.c.discarded_at.is_(None))
    with engine.connect() as conn:
        return _drafts(conn, where)


def _drafts(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[DraftInfo]:
    head = (
        sa.select(sa.func.max(draft_revisions.c.number))
        .where(draft_revisions.c.draft_id == drafts.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(sa.select(drafts, head.label("head")).where(where).order_by(drafts.c.id))
    return [
        DraftInfo(
            id=r.id,
            portal=r.portal,
            name=r.name,
            base_version=r.base_version,
            origin=r.origin,
            created_by=r.created_by,
            created_at=aware(r.created_at) or r.created_at,
            discarded=r.discarded_at is not None,
            head=int(r.head or 0),
        )
        for r in rows
    ]


def revisions(engine: sa.Engine, draft_id: int) -> list[RevisionInfo]:
    """Every revision of a draft, oldest first."""
    get_draft(engine, draft_id)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(draft_revisions)
            .where(draft_revisions.c.draft_id == draft_id)
            .order_by(draft_revisions.c.number)
        )
        return [
            RevisionInfo(
                r.draft_id,
                r.number,
                r.sha256,
                r.author,
                aware(r.created_at) or r.created_at,
                r.message,
            )
            for r in rows
        ]


def revision_bundle(engine: sa.Engine, draft_id: int, number: int | None = None) -> Bundle:
    """The files of revision `number` of a draft (default: its head)."""
    ensure_platform_tables(engine)
    with engine.connect() as conn:
        return _bundle(conn, draft_id, number)


def _bundle(conn: sa.Connection, draft_id: int, number: int | None) -> Bundle:
    query = (
        sa.select(bundles.c.files, draft_revisions.c.number)
        .join(bundles, bundles.c.sha256 == draft_revisions.c.sha256)
        .where(draft_revisions.c.draft_id == draft_id)
    )
    if number is None:
        query = query.order_by(draft_revisions.c.number.desc()).limit(1)
    else:
        query = query.where(draft_revisions.c.number == number)
    row = conn.execute(query).first()
    if row is None:
        what = "no revisions" if number is None else f"no revision {number}"
        raise DraftError(f"draft {draft_id} has {what}")
    return Bundle.of(row[0])


def save(
    engine: sa.Engine,
    draft_id: int,
    base_revision: int,
    changes: Mapping[str, str | None],
    *,
    author: int | None = None,
    message: str | None = None,
) -> RevisionInfo:
    """Save `changes` (path → new text; None removes the file) made on revision
    `base_revision` as the next revision, in one transaction.

    Raises `DraftConflict` when `base_revision` is not the head any more, and DraftError
    for an unknown or discarded draft. Changes that change nothing store no revision and
    return the head.
    """
    ensure_platform_tables(engine)
    try:
        with begin_write(engine) as conn:
            return _save(conn, draft_id, base_revision, changes, author, message)
    except sa.exc.IntegrityError:
        # a concurrent save took the number between our check and our insert
        with engine.connect() as conn:
            head = _head(conn, draft_id)
            base = _bundle(conn, draft_id, base_revision)
            conflict = _conflict(conn, draft_id, base_revision, head, base, _apply(base, changes))
        raise conflict from None


def _save(
    conn: sa.Connection,
    draft_id: int,
    base_revision: int,
    changes: Mapping[str, str | None],
    author: int | None,
    message: str | None,
) -> RevisionInfo:
    lock = sa.select(drafts.c.discarded_at).where(drafts.c.id == draft_id)
    if not is_sqlite(conn):
        lock = lock.with_for_update()
    row = conn.execute(lock).first()
    if row is None:
        raise DraftError(f"there is no draft {draft_id}")
    if row.discarded_at is not None:
        raise DraftError(f"draft {draft_id} was discarded")
    head = _head(conn, draft_id)
    base = _bundle(conn, draft_id, base_revision)
    proposed = _apply(base, changes)
    if head != base_revision:
        raise _conflict(conn, draft_id, base_revision, head, base, proposed)
    if proposed.sha256 == base.sha256:
        return _revision(conn, draft_id, head)
    _store_bundle(conn, proposed)
    conn.execute(
        draft_revisions.insert().values(
            draft_id=draft_id,
            number=head + 1,
            sha256=proposed.sha256,
            author=author,
            created_at=utcnow(),
            message=message,
        )
    )
    return _revision(conn, draft_id, head + 1)


def _apply(base: Bundle, changes: Mapping[str, str | None]) -> Bundle:
    files = dict(base.files)
    for path, text in changes.items():
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
    return Bundle.of(files)


def _conflict(
    conn: sa.Connection,
    draft_id: int,
    base_revision: int,
    head: int,
    base: Bundle,
    proposed: Bundle,
) -> DraftConflict:
    current = _bundle(conn, draft_id, head)
    return DraftConflict(
        draft_id,
        base_revision,
        head,
        theirs=file_diffs(base.files, current.files, f"r{base_revision}", f"r{head}"),
        yours=file_diffs(base.files, proposed.files, f"r{base_revision}", "yours"),
        files=proposed.files,
    )


def _head(conn: sa.Connection, draft_id: int) -> int:
    head = conn.execute(
        sa.select(sa.func.max(draft_revisions.c.number)).where(
            draft_revisions.c.draft_id == draft_id
        )
    ).scalar()
    return int(head or 0)


def _revision(conn: sa.Connection, draft_id: int, number: int) -> RevisionInfo:
    r = conn.execute(
        sa.select(draft_revisions).where(
            draft_revisions.c.draft_id == draft_id, draft_revisions.c.number == number
        )
    ).one()
    return RevisionInfo(
        r.draft_id, r.number, r.sha256, r.author, aware(r.created_at) or r.created_at, r.message
    )


def _store_bundle(conn: sa.Connection, bundle: Bundle) -> None:
    values = {"sha256": bundle.sha256, "files": dict(bundle.files), "created_at": utcnow()}
    insert = (sqlite.insert if is_sqlite(conn) else postgresql.insert)(bundles).values(**values)
    conn.execute(insert.on_conflict_do_nothing(index_elements=["sha256"]))


def diff_revisions(engine: sa.Engine, draft_id: int, a: int, b: int) -> dict[str, str]:
    """path → unified diff from revision `a` to revision `b`, for every file that differs."""
    left, right = revision_bundle(engine, draft_id, a), revision_bundle(engine, draft_id, b)
    return file_diffs(left.files, right.files, f"r{a}", f"r{b}")


def restore(
    engine: sa.Engine, draft_id: int, number: int, *, author: int | None = None
) -> RevisionInfo:
    """Save revision `number`'s files as a new head revision (history is never rewritten)."""
    with engine.connect() as conn:
        head = _head(conn, draft_id)
        head_files = _bundle(conn, draft_id, head).files
    old = revision_bundle(engine, draft_id, number).files
    changes: dict[str, str | None] = {p: None for p in head_files if p not in old}
    changes.update(old)
    return save(
        engine, draft_id, head, changes, author=author, message=f"restored revision {number}"
    )


def discard(engine: sa.Engine, draft_id: int) -> None:
    """Mark a draft discarded: it no longer lists and takes no saves (its history stays)."""
    get_draft(engine, draft_id)
    with begin_write(engine) as conn:
        conn.execute(
            drafts.update()
            .where(drafts.c.id == draft_id, drafts.c.discarded_at.is_(None))
            .values(discarded_at=utcnow())
        )
