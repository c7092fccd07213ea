"""Running a CSV import: which fields a person may import, the dry run and the import.

A file of at most `batch` rows is checked and imported within the request: the import is
one transaction, all rows or none. A larger one runs as an outbox job (`csv_import`) on the
worker, batch by batch — each batch its own transaction, all of its rows or none — and the
import's row records the progress for the progress page. The job acts as the person who
started the import, with the roles they hold then in the account that was active at the
upload: a person disabled meanwhile, or no longer a member, imports nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from portalis.engine.accounts.memberships import membership_roles
from portalis.engine.accounts.users import user_by_id
from portalis.engine.data.csv_import import (
    MAX_PROBLEMS,
    ImportSpec,
    RowProblem,
    check_rows,
    write_rows,
)
from portalis.engine.data.csv_read import CsvTable, decode, parse
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import FieldMessage
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.block_configs import ListBlock, ListImport
from portalis.engine.definition.model import Field
from portalis.engine.outbox.jobs import Job, PermanentFailure, enqueue
from portalis.engine.outbox.worker import Handler

from . import import_state as state
from .page_records import page_allowed
from .registry import PortalRegistry

#: The outbox job kind of a background dry run or import.
IMPORT_JOB = "csv_import"
#: Field types a file cannot fill.
_NOT_IMPORTED = frozenset({"file", "json"})


def import_fields(store: RecordStore, actor: Actor, cfg: ImportConfig) -> list[Field]:
    """The fields of `cfg` the actor may set on a new record, in the declared order."""
    entity = store.entity(cfg.entity)
    grants = store.policy.grants_for(actor, entity.name, "create")
    if not grants:
        return []
    writable = store.writable(entity, grants)
    spec = cfg.spec
    return [
        entity.fields[n]
        for n in spec.fields
        if n in writable and n in entity.fields and entity.fields[n].type not in _NOT_IMPORTED
    ]


class ImportConfig:
    """A list block with `import:`: its entity and import options."""

    def __init__(self, block: ListBlock) -> None:
        if block.csv_import is None:
            raise ValueError("the list has no import")
        self.entity = block.entity
        self.spec: ListImport = block.csv_import

    def keys(self) -> dict[str, str]:
        """Ref field → the target field a file names records by."""
        return dict(self.spec.keys)


def table_of(item: state.ImportRow, cfg: ImportConfig) -> CsvTable:
    """The kept file, parsed again (it was checked at upload)."""
    return parse(decode((item.text or "").encode("utf-8")), max_rows=cfg.spec.max_rows)


def spec_of(item: state.ImportRow, cfg: ImportConfig) -> ImportSpec:
    """What the import writes: entity, mapping, keys and the uploader's locale."""
    return ImportSpec(cfg.entity, dict(item.mapping), cfg.keys(), item.locale)


def background(item: state.ImportRow, cfg: ImportConfig) -> bool:
    """True when the file is larger than one batch (runs as a job)."""
    return item.total > cfg.spec.batch


def run(
    store: RecordStore,
    actor: Actor,
    item: state.ImportRow,
    cfg: ImportConfig,
    saved: Callable[[state.ImportRow], None],
) -> None:
    """Do what `item.status` asks: the dry run (`checking` → `checked`) or the import
    (`importing` → `done`), batch by batch, `saved` after each batch."""
    table = table_of(item, cfg)
    spec = spec_of(item, cfg)
    importing = item.status == state.IMPORTING
    size = cfg.spec.batch
    item.processed = item.created = item.refused = 0
    item.problems, item.batches = [], []
    if importing and not background(item, cfg):
        size = max(len(table.rows), 1)  # one transaction: all rows or none
    for first in range(0, len(table.rows), size):
        rows = table.rows[first : first + size]
        step = (write_rows if importing else check_rows)(store, actor, spec, rows, first)
        item.processed += len(rows)
        item.created += step.created
        item.refused += step.refused
        item.problems.extend(step.problems[: max(MAX_PROBLEMS - len(item.problems), 0)])
        if importing:
            item.batches.append(
                {"first": first + 2, "last": first + len(rows) + 1, "created": step.created,
                 "refused": step.refused}
            )  # fmt: skip
        saved(item)
    item.status = state.DONE if importing else state.CHECKED
    saved(item)


def start_job(conn: sa.Connection, item: state.ImportRow) -> None:
    """Queue the background dry run or import of `item` (in the caller's transaction)."""
    enqueue(
        conn,
        kind=IMPORT_JOB,
        portal=item.portal,
        payload={"import": item.id, "status": item.status},
        max_attempts=1,
    )


def actor_of(conn: sa.Connection, store: RecordStore, item: state.ImportRow) -> Actor | None:
    """The person who started the import as they act now, in the account of the upload;
    None when they are disabled or no longer belong to that account."""
    model = store.model
    row = user_by_id(conn, store, item.user_id)
    if row is None or not row["is_active"]:
        return None
    if item.account_id is None or item.account_id == row["account"]:
        roles: Any = row["roles"] or ()
    else:
        roles = membership_roles(conn, model.slug, item.user_id, item.account_id)
        if roles is None:
            return None
    return Actor.for_user(
        model, item.user_id, item.account_id if item.account_id is not None else row["account"],
        roles, email=row["email"], name=row["name"], locale=item.locale,
    )  # fmt: skip


def import_handler(registry: PortalRegistry) -> Handler:
    """The worker's handler of `csv_import` jobs (against the portal's live version)."""

    def handle(job: Job) -> None:
        portal = registry.get(str(job.portal))
        if portal is None:
            raise PermanentFailure("the portal is not live")
        store = portal.store
        with store.engine.connect() as conn:
            item = state.load(conn, portal.slug, str(job.payload.get("import")))
            actor = actor_of(conn, store, item) if item is not None else None
        if item is None or item.status != job.payload.get("status") or not item.running:
            return  # already finished, or started again meanwhile
        cfg = configured(portal.compiled.model, item)
        page = portal.compiled.model.pages.get(item.page)
        allowed = actor is not None and page is not None and page_allowed(page, actor)
        if cfg is None or actor is None or not allowed:
            item.status = state.DONE
            item.problems = [refusal()]
            item.processed, item.created, item.refused, item.batches = 0, 0, item.total, []
            _save(store.engine, item)
            return
        run(store, actor, item, cfg, lambda current: _save(store.engine, current))

    return handle


def refusal() -> RowProblem:
    """The one problem of an import that may no longer run (page, rights or user gone)."""
    return RowProblem(1, "", FieldMessage("forbidden", "the import is no longer available"))


def configured(model: Any, item: state.ImportRow) -> ImportConfig | None:
    """The import options of the item's page and block in `model`, if they still exist."""
    page = model.pages.get(item.page)
    if page is None or not 0 <= item.block < len(page.blocks):
        return None
    block = page.blocks[item.block].config
    if not isinstance(block, ListBlock) or block.csv_import is None:
        return None
    if block.entity != item.entity:
        return None
    return ImportConfig(block)


def _save(engine: sa.Engine, item: state.ImportRow) -> None:
    with begin_write(engine) as conn:
        state.save(conn, item)
