"""Which stored files an actor may attach to records: their own uploads in this portal.

The record store asks this guard for every new file value, so a file id alone (which may be
guessed, leaked or copied from elsewhere) never grants access to someone else's upload.
"""

from __future__ import annotations

import re
from typing import Final

import sqlalchemy as sa

from portalis.engine.data.permissions import Actor

from .runtime_tables import files

#: Shape of an opaque file id (validated before any query or filesystem access).
FILE_ID: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")


def attachable(conn: sa.Connection, actor: Actor, file_id: str, *, portal: str) -> bool:
    """True when `actor` uploaded `file_id` in `portal`."""
    if actor.id is None or FILE_ID.fullmatch(file_id) is None:
        return False
    row = conn.execute(
        sa.select(files.c.id).where(
            files.c.id == file_id, files.c.portal == portal, files.c.created_by == actor.id
        )
    ).first()
    return row is not None
