"""Files of file fields: an upload checked and stored (`uploads`), recorded in a
`portalis_file` row (name, size, SHA-256). A record field holds only the opaque id. A
download is allowed when a file field of a record the actor may read (with that field
readable) holds the id; anything else is 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Response, abort

from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.fieldtypes import FileConfig
from portalis.engine.flow.rights import file_readable

from .attachments import FILE_ID, attachable
from .context import state
from .registry import RuntimePortal
from .request_db import read_connection
from .runtime_tables import files
from .uploads import files_root, send_stored, storage_path, write_upload


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A row of `portalis_file`."""

    id: str
    name: str
    content_type: str
    size: int
    sha256: str


# -- upload ---------------------------------------------------------------------------------
def save_upload(
    portal: RuntimePortal, actor: Actor, config: FileConfig, storage: Any, root: Path
) -> str:
    """Check and store one uploaded file for a file field; returns its new id."""
    written = write_upload(portal.slug, config, storage, root)
    try:
        with begin_write(state().engine) as conn:
            conn.execute(
                files.insert().values(
                    id=written.id,
                    portal=portal.slug,
                    name=written.name,
                    content_type=written.content_type,
                    size=written.size,
                    sha256=written.sha256,
                    created_at=utcnow(),
                    created_by=actor.id,
                )
            )
    except BaseException:
        written.path.unlink(missing_ok=True)  # no stored bytes without their row
        raise
    return written.id


# -- look-ups -------------------------------------------------------------------------------
def file_row(engine: sa.Engine, portal: str, file_id: str) -> StoredFile | None:
    """The stored file `file_id` of `portal`, if any."""
    if FILE_ID.fullmatch(file_id) is None:
        return None
    with read_connection(engine) as conn:
        row = conn.execute(
            sa.select(files).where(files.c.id == file_id, files.c.portal == portal)
        ).first()
    if row is None:
        return None
    return StoredFile(row.id, row.name, row.content_type, int(row.size), row.sha256)


def file_names(engine: sa.Engine, portal: str, ids: Iterable[str]) -> dict[str, str]:
    """Display names of files of `portal` (one query); callers pass ids the actor may read."""
    wanted = sorted({i for i in ids if FILE_ID.fullmatch(i)})
    if not wanted:
        return {}
    with read_connection(engine) as conn:
        rows = conn.execute(
            sa.select(files.c.id, files.c.name).where(
                files.c.portal == portal, files.c.id.in_(wanted)
            )
        )
        return {row.id: row.name for row in rows}


def owned_by(engine: sa.Engine, portal: str, file_id: str, actor: Actor) -> bool:
    """True when `actor` uploaded `file_id` in `portal` (only such files may be attached)."""
    with read_connection(engine) as conn:
        return attachable(conn, actor, file_id, portal=portal)


# -- download -------------------------------------------------------------------------------
def download(portal: RuntimePortal, actor: Actor, file_id: str) -> Response:
    """Serve a file the actor may read, as an attachment, after checking its SHA-256."""
    if FILE_ID.fullmatch(file_id) is None:
        abort(404)
    stored = file_row(portal.store.engine, portal.slug, file_id)
    if stored is None or not file_readable(portal.store, actor, file_id):
        abort(404)
    return send_stored(storage_path(files_root(), portal.slug, file_id), stored.name, stored.sha256)
