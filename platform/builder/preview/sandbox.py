"""Scratch databases of draft previews: one per (draft, revision), never the live tables.

A preview deploys the draft's revision with its seed data (`deploy(..., seed=True)`, the
path of `portalis deploy --seed`) into a database of its own, after creating the platform,
runtime and plugin tables there (`portalis migrate`):

- SQLite: a file `previews/<draft>-<revision>.sqlite` under the instance folder;
- PostgreSQL: a scratch schema `<live schema>_preview_<draft>_<revision>` in the live
  database, with the connection's `search_path` set to that schema only.

A separate schema (rather than a table prefix) is the robust choice: table names come from
the portal's slug (`<slug>_ticket`), and the platform tables (versions, sessions, audit)
have fixed names, so only a schema keeps every one of them apart; with the search path
holding the scratch schema alone, an unqualified name can never resolve to a live table.

At most `KEEP` sandboxes are kept; `prune` drops those of discarded or published drafts,
superseded revisions (not a draft's head) and the oldest beyond `KEEP`.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from portalis.engine.data.db import create_engine, is_sqlite
from portalis.engine.deploy.validator import Checker
from portalis.engine.deploy.versions import deploy
from portalis.engine.drafts import DraftError, get_draft, publications, revision_bundle
from portalis.runtime.cli.common import migrate_database

#: How many preview sandboxes an installation keeps.
KEEP = 4
_NAME = re.compile(r"^[a-z0-9_]+$")
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Sandbox:
    """The scratch database of one draft revision: its URL and how to connect to it."""

    draft: int
    revision: int
    url: str
    #: PostgreSQL: the scratch schema (None on SQLite)
    schema: str | None
    path: Path | None

    def engine(self) -> sa.Engine:
        """A new engine on the scratch database (search path: the scratch schema only)."""
        if self.schema is None:
            return create_engine(self.url)
        options = f"-csearch_path={self.schema}"
        return create_engine(self.url, connect_args={"options": options})


def _live_schema(live: sa.Engine) -> str:
    with live.connect() as conn:
        name = str(conn.execute(sa.text("SELECT current_schema()")).scalar() or "public")
    return name.lower()


def locate(live: sa.Engine, instance_path: Path, draft: int, revision: int) -> Sandbox:
    """Where the sandbox of (draft, revision) lives (whether or not it exists yet)."""
    if is_sqlite(live):
        path = instance_path / "previews" / f"{draft}-{revision}.sqlite"
        return Sandbox(draft, revision, f"sqlite:///{path}", None, path)
    schema = f"{_live_schema(live)}_preview_{int(draft)}_{int(revision)}"
    if not _NAME.match(schema) or len(schema) > 63:
        raise ValueError(f"no scratch schema name for {schema!r}")
    return Sandbox(draft, revision, live.url.render_as_string(hide_password=False), schema, None)


def exists(live: sa.Engine, box: Sandbox) -> bool:
    """True when the sandbox's database (file or schema) is there."""
    if box.path is not None:
        return box.path.exists()
    with live.connect() as conn:
        found = conn.execute(
            sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"),
            {"s": box.schema},
        ).first()
    return found is not None


def ensure(
    live: sa.Engine, checker: Checker, instance_path: Path, draft: int, revision: int
) -> Sandbox:
    """The sandbox of (draft, revision), created and seeded on first use."""
    box = locate(live, instance_path, draft, revision)
    with _lock:
        if exists(live, box):
            return box
        bundle = revision_bundle(live, draft, revision)
        # built under a name of its own, then renamed: another process never serves a
        # half-built sandbox, and two building at once do not share one
        token = secrets.token_hex(4)
        if box.path is not None:
            box.path.parent.mkdir(parents=True, exist_ok=True)
            partial = box.path.with_name(f"{box.path.stem}.{token}.partial")
            building = Sandbox(draft, revision, f"sqlite:///{partial}", None, partial)
        else:
            temporary = f"{_live_schema(live)}_previewtmp_{token}"
            _create_schema(live, temporary)
            building = Sandbox(draft, revision, box.url, temporary, None)
        engine = building.engine()
        try:
            migrate_database(engine, {})
            deploy(engine, checker, bundle, {}, seed=True, note=f"preview of draft {draft}")
        except BaseException:
            engine.dispose()
            _drop(live, building)
            raise
        engine.dispose()
        if box.path is not None and building.path is not None:
            building.path.replace(box.path)
        elif not _rename_schema(live, str(building.schema), str(box.schema)):
            _drop(live, building)  # another process finished first: use its sandbox
    return box


def _rename_schema(live: sa.Engine, old: str, new: str) -> bool:
    """Rename a schema; False when `new` exists already."""
    with live.connect() as conn:
        try:
            conn.execute(sa.text(f'ALTER SCHEMA "{old}" RENAME TO "{new}"'))
        except sa.exc.ProgrammingError:
            conn.rollback()
            return False
        conn.commit()
    return True


def _create_schema(live: sa.Engine, schema: str) -> None:
    with live.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.commit()


def _drop(live: sa.Engine, box: Sandbox) -> None:
    if box.path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(box.path) + suffix).unlink(missing_ok=True)
        return
    with live.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{box.schema}" CASCADE'))
        conn.commit()


def existing(live: sa.Engine, instance_path: Path) -> Iterator[tuple[int, int]]:
    """(draft, revision) of every sandbox there is, oldest draft first."""
    if is_sqlite(live):
        folder = instance_path / "previews"
        names = sorted(p.stem for p in folder.glob("*.sqlite")) if folder.exists() else []
        pairs = [name.split("-", 1) for name in names]
    else:
        prefix = f"{_live_schema(live)}_preview_"
        with live.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT schema_name FROM information_schema.schemata")
            ).scalars()
            pairs = [str(n)[len(prefix) :].split("_", 1) for n in rows if str(n).startswith(prefix)]
    found = sorted((int(d), int(r)) for d, r in pairs if d.isdigit() and r.isdigit())
    yield from found


def drop(live: sa.Engine, instance_path: Path, draft: int, revision: int) -> None:
    """Remove the sandbox of (draft, revision) if there is one."""
    with _lock:
        _drop(live, locate(live, instance_path, draft, revision))


def prune(
    live: sa.Engine, instance_path: Path, keep: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    """Drop the sandboxes of discarded or published drafts and of superseded revisions,
    then the oldest beyond `KEEP` (never `keep`); returns what was dropped."""
    dropped = []
    remaining = []
    for draft, revision in existing(live, instance_path):
        if (draft, revision) == keep:
            remaining.append((draft, revision))
            continue
        try:
            info = get_draft(live, draft)
            stale = info.discarded or revision != info.head or bool(publications(live, draft))
        except DraftError:
            stale = True
        if stale:
            drop(live, instance_path, draft, revision)
            dropped.append((draft, revision))
        else:
            remaining.append((draft, revision))
    while len(remaining) > KEEP:
        victim = next(pair for pair in remaining if pair != keep)
        remaining.remove(victim)
        drop(live, instance_path, *victim)
        dropped.append(victim)
    return dropped
