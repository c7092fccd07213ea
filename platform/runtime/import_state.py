"""The imports people have started: one row per uploaded file, from upload to result.

An import belongs to the user who uploaded it, in the account that was active then, on one
list block of one page: every request for it checks all of these (anyone else gets a 404,
like for a record they may not see). The file's text is kept in the row — a background job
on another host reads it from the database — and removed once the import is done.

Status: `mapping` (uploaded; columns being mapped) → `checking` (a large file's dry run in
the background) → `checked` (dry run done) → `importing` (a large file's batches in the
background) → `done` (written, or refused with the problems) — a small file passes
`checking` and `importing` within one request.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from portalis.engine.data.csv_import import RowProblem

from .runtime_tables import imports

MAPPING, CHECKING, CHECKED, IMPORTING, DONE = "mapping", "checking", "checked", "importing", "done"


@dataclass(slots=True)
class ImportRow:
    """One import as the pages and the job see it."""

    id: str
    portal: str
    page: str
    block: int
    entity: str
    user_id: int
    account_id: int | None
    locale: str
    name: str
    text: str | None
    total: int
    mapping: dict[int, str]
    status: str
    processed: int = 0
    created: int = 0
    refused: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    batches: list[dict[str, int]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        """True while a background job works on it."""
        return self.status in (CHECKING, IMPORTING)


def _now() -> datetime:
    return datetime.now(UTC)


def create(
    conn: sa.Connection,
    *,
    portal: str,
    page: str,
    block: int,
    entity: str,
    user_id: int,
    account_id: int | None,
    locale: str,
    name: str,
    text: str,
    total: int,
    mapping: Mapping[int, str],
) -> str:
    """Keep an uploaded file; returns the import's opaque id."""
    import_id = secrets.token_urlsafe(24)
    now = _now()
    conn.execute(
        imports.insert().values(
            id=import_id, portal=portal, page=page, block=block, entity=entity,
            user_id=user_id, account_id=account_id, locale=locale, name=name, text=text,
            total=total, mapping={str(k): v for k, v in mapping.items()}, status=MAPPING,
            processed=0, created=0, refused=0, problems=[], batches=[],
            created_at=now, updated_at=now,
        )
    )  # fmt: skip
    return import_id


def load(conn: sa.Connection, portal: str, import_id: str) -> ImportRow | None:
    """The import `import_id` of `portal`, or None."""
    if not import_id or len(import_id) > 64:
        return None
    row = (
        conn.execute(
            sa.select(imports).where(imports.c.id == import_id, imports.c.portal == portal)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return ImportRow(
        id=row["id"], portal=row["portal"], page=row["page"], block=int(row["block"]),
        entity=row["entity"], user_id=int(row["user_id"]), account_id=row["account_id"],
        locale=row["locale"], name=row["name"], text=row["text"], total=int(row["total"]),
        mapping={int(k): str(v) for k, v in (row["mapping"] or {}).items()},
        status=row["status"], processed=int(row["processed"] or 0),
        created=int(row["created"] or 0), refused=int(row["refused"] or 0),
        problems=[RowProblem.of_json(p) for p in row["problems"] or ()],
        batches=list(row["batches"] or ()),
    )  # fmt: skip


def save(conn: sa.Connection, item: ImportRow, *, expect: str | None = None) -> bool:
    """Write the import's progress back; with `expect`, only while its status is still
    that one (two submissions of one form start one job). True when written."""
    where = [imports.c.id == item.id]
    if expect is not None:
        where.append(imports.c.status == expect)
    result = conn.execute(
        imports.update().where(*where).values(
            mapping={str(k): v for k, v in item.mapping.items()}, status=item.status,
            processed=item.processed, created=item.created, refused=item.refused,
            problems=[p.as_json() for p in item.problems], batches=item.batches,
            text=None if item.status == DONE and not item.refused else item.text,
            updated_at=_now(),
        )
    )  # fmt: skip
    return result.rowcount > 0
