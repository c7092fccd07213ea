"""Documents attached to records (an entity's `attachments:`), with their versions.

Every read and write goes through the record store with the actor's rights on the parent
record: who may read the record lists and downloads its documents; attaching a document,
adding a version and deleting one need the right to update the record (a visible record the
actor may not update is `Forbidden`, an invisible one `NotFound` — the documents of a record
the actor cannot see do not exist for them). A write is one transaction with its audit entry
(`attachment_add`, `attachment_version`, `attachment_delete`). The bytes are the runtime's:
it stores them under a generated file id before the write and removes them after a delete.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

from ..definition.attachment_spec import AttachmentsSpec
from ..definition.model import Entity
from . import audit as audit_log
from .errors import FieldMessage, NotFound, ValidationFailed
from .events import WriteEvent
from .permissions import Actor
from .system_tables import attachment_versions, attachments, aware
from .tables import utcnow

if TYPE_CHECKING:
    from .store import RecordStore

#: Shape of a document id in URLs (checked before any query).
DOCUMENT_ID: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True, slots=True)
class NewFile:
    """Bytes the runtime has stored and checked, to become a version of a document."""

    file_id: str
    name: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version of a document (`number` counts from 1)."""

    number: int
    file_id: str
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    created_by: int | None


@dataclass(frozen=True, slots=True)
class Document:
    """A document of a record with its versions, newest first."""

    id: str
    entity: str
    record_id: int
    folder: str
    name: str
    current: int
    created_at: datetime
    updated_at: datetime
    versions: tuple[Version, ...]

    @property
    def latest(self) -> Version:
        """The current version (what a download serves by default)."""
        return next(v for v in self.versions if v.number == self.current)

    def version(self, number: int) -> Version | None:
        """Version `number`, if it is kept."""
        return next((v for v in self.versions if v.number == number), None)


def spec_of(store: RecordStore, entity_name: str) -> tuple[Entity, AttachmentsSpec]:
    """The entity and its `attachments:`; NotFound when it has none (or does not exist)."""
    entity = store.model.entities.get(entity_name)
    if entity is None or entity.attachments is None:
        raise NotFound(f"{entity_name} keeps no attachments")
    return entity, entity.attachments


# -- reads ------------------------------------------------------------------------------------
def documents(store: RecordStore, actor: Actor, entity_name: str, record_id: int) -> list[Document]:
    """The documents of a record the actor may read, by folder order then name."""
    entity, spec = spec_of(store, entity_name)
    with store.reading() as conn:
        store.get(actor, entity.name, record_id, conn=conn)
        found = _load(conn, store.model.slug, entity.name, record_id)
    order = {folder.name: i for i, folder in enumerate(spec.folders)}
    return sorted(found, key=lambda d: (order.get(d.folder, len(order)), d.name.lower(), d.id))


def document(
    store: RecordStore, actor: Actor, entity_name: str, record_id: int, document_id: str
) -> Document:
    """One document of a record the actor may read; NotFound otherwise."""
    entity, _ = spec_of(store, entity_name)
    with store.reading() as conn:
        store.get(actor, entity.name, record_id, conn=conn)
        found = _load(conn, store.model.slug, entity.name, record_id, document_id)
    if not found:
        raise NotFound(f"no document {document_id} on {entity.name} #{record_id}")
    return found[0]


def _load(
    conn: sa.Connection, portal: str, entity: str, record_id: int, document_id: str | None = None
) -> list[Document]:
    """Documents of one record (or the one called `document_id`) with their versions."""
    if document_id is not None and DOCUMENT_ID.fullmatch(document_id) is None:
        return []
    query = sa.select(attachments).where(
        attachments.c.portal == portal,
        attachments.c.entity == entity,
        attachments.c.record_id == record_id,
    )
    if document_id is not None:
        query = query.where(attachments.c.id == document_id)
    rows = list(conn.execute(query).mappings())
    if not rows:
        return []
    versions: dict[str, list[Version]] = {row["id"]: [] for row in rows}
    for v in conn.execute(
        sa.select(attachment_versions)
        .where(attachment_versions.c.attachment_id.in_(sorted(versions)))
        .order_by(attachment_versions.c.number.desc())
    ).mappings():
        created = aware(v["created_at"])
        assert created is not None  # NOT NULL
        versions[v["attachment_id"]].append(
            Version(
                int(v["number"]),
                v["file_id"],
                v["name"],
                v["content_type"],
                int(v["size"]),
                v["sha256"],
                created,
                v["created_by"],
            )  # fmt: skip
        )
    out = []
    for row in rows:
        created, updated = aware(row["created_at"]), aware(row["updated_at"])
        assert created is not None and updated is not None  # NOT NULL
        out.append(
            Document(
                row["id"],
                entity,
                record_id,
                row["folder"],
                row["name"],
                int(row["current"]),
                created,
                updated,
                tuple(versions[row["id"]]),
            )  # fmt: skip
        )
    return out


# -- writes -----------------------------------------------------------------------------------
def attach(
    store: RecordStore,
    actor: Actor,
    entity_name: str,
    record_id: int,
    folder: str | None,
    new: NewFile,
) -> Document:
    """Attach a new document to a record the actor may update (in `folder`, or the first)."""
    entity, spec = spec_of(store, entity_name)
    chosen = folder or spec.default_folder
    if spec.folder(chosen) is None:
        raise ValidationFailed(
            {"folder": [FieldMessage("folder", "choose one of the folders offered")]}
        )
    slug = store.model.slug
    with store.write() as conn:
        store.get(actor, entity.name, record_id, action="update", conn=conn)
        count = conn.execute(
            sa.select(sa.func.count()).where(
                attachments.c.portal == slug,
                attachments.c.entity == entity.name,
                attachments.c.record_id == record_id,
            )
        ).scalar_one()
        if count >= spec.max_files:
            raise ValidationFailed(
                {
                    "file": [
                        FieldMessage(
                            "too-many",
                            "this record already holds {max} documents",
                            {"max": spec.max_files},
                        )
                    ]
                }
            )
        now = utcnow()
        document_id = secrets.token_urlsafe(18)
        conn.execute(
            attachments.insert().values(
                id=document_id,
                portal=slug,
                entity=entity.name,
                record_id=record_id,
                folder=chosen,
                name=new.name,
                current=1,
                created_at=now,
                created_by=actor.id,
                updated_at=now,
            )  # fmt: skip
        )
        _insert_version(conn, document_id, 1, new, actor, now)
        audit_log.record_action(
            store, conn, actor, "attachment_add", entity=entity.name, record_id=record_id,
            detail={"document": document_id, "name": new.name, "folder": chosen, "version": 1,
                    "size": new.size},
        )  # fmt: skip
        return _load(conn, slug, entity.name, record_id, document_id)[0]


def add_version(
    store: RecordStore,
    actor: Actor,
    entity_name: str,
    record_id: int,
    document_id: str,
    new: NewFile,
) -> tuple[Document, list[str]]:
    """Make `new` the current version of a document of a record the actor may update.

    Returns the document and the file ids no longer kept (with `versions: false` the older
    version is dropped; the caller removes those bytes after the commit).
    """
    entity, spec = spec_of(store, entity_name)
    slug = store.model.slug
    with store.write() as conn:
        store.get(actor, entity.name, record_id, action="update", conn=conn)
        row = _locked(conn, slug, entity.name, record_id, document_id)
        number = int(row["current"]) + 1
        now = utcnow()
        dropped: list[str] = []
        if not spec.versions:
            dropped = _delete_versions(conn, [document_id])
        _insert_version(conn, document_id, number, new, actor, now)
        conn.execute(
            attachments.update()
            .where(attachments.c.id == document_id)
            .values(name=new.name, current=number, updated_at=now)
        )
        audit_log.record_action(
            store, conn, actor, "attachment_version", entity=entity.name, record_id=record_id,
            detail={"document": document_id, "name": new.name, "folder": row["folder"],
                    "version": number, "size": new.size},
        )  # fmt: skip
        return _load(conn, slug, entity.name, record_id, document_id)[0], dropped


def remove(
    store: RecordStore, actor: Actor, entity_name: str, record_id: int, document_id: str
) -> list[str]:
    """Delete a document (every version) of a record the actor may update; returns the file
    ids whose bytes the caller removes after the commit."""
    entity, _ = spec_of(store, entity_name)
    slug = store.model.slug
    with store.write() as conn:
        store.get(actor, entity.name, record_id, action="update", conn=conn)
        row = _locked(conn, slug, entity.name, record_id, document_id)
        dropped = _delete_versions(conn, [document_id])
        conn.execute(attachments.delete().where(attachments.c.id == document_id))
        audit_log.record_action(
            store, conn, actor, "attachment_delete", entity=entity.name, record_id=record_id,
            detail={"document": document_id, "name": row["name"], "folder": row["folder"],
                    "versions": len(dropped)},
        )  # fmt: skip
        return dropped


def _locked(
    conn: sa.Connection, portal: str, entity: str, record_id: int, document_id: str
) -> sa.RowMapping:
    """The document's row, locked for this transaction (concurrent versions queue up)."""
    if DOCUMENT_ID.fullmatch(document_id) is None:
        raise NotFound("no such document")
    row = (
        conn.execute(
            sa.select(attachments)
            .where(
                attachments.c.id == document_id,
                attachments.c.portal == portal,
                attachments.c.entity == entity,
                attachments.c.record_id == record_id,
            )
            .with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no document {document_id} on {entity} #{record_id}")
    return row


def _insert_version(
    conn: sa.Connection, document_id: str, number: int, new: NewFile, actor: Actor, at: datetime
) -> None:
    conn.execute(
        attachment_versions.insert().values(
            attachment_id=document_id,
            number=number,
            file_id=new.file_id,
            name=new.name,
            content_type=new.content_type,
            size=new.size,
            sha256=new.sha256,
            created_at=at,
            created_by=actor.id,
        )  # fmt: skip
    )


def _delete_versions(conn: sa.Connection, document_ids: Sequence[str]) -> list[str]:
    """Delete the versions of `document_ids`; returns their file ids."""
    if not document_ids:
        return []
    where = attachment_versions.c.attachment_id.in_(list(document_ids))
    file_ids = [
        str(f)
        for f in conn.execute(sa.select(attachment_versions.c.file_id).where(where)).scalars()
    ]
    conn.execute(attachment_versions.delete().where(where))
    return file_ids


def file_ids_of(
    conn: sa.Connection, portal: str, entity: str, record_ids: Iterable[int]
) -> list[str]:
    """File ids of every version of the documents of `record_ids` (for clean-up)."""
    ids = list(record_ids)
    if not ids:
        return []
    query = (
        sa.select(attachment_versions.c.file_id)
        .join(attachments, attachments.c.id == attachment_versions.c.attachment_id)
        .where(
            attachments.c.portal == portal,
            attachments.c.entity == entity,
            attachments.c.record_id.in_(ids),
        )
    )
    return [str(f) for f in conn.execute(query).scalars()]


# -- the write listener ---------------------------------------------------------------------
def after_write(store: RecordStore, conn: sa.Connection, event: WriteEvent) -> None:
    """A deleted record takes its documents along (in the delete's transaction), so a record
    that later gets the same id never shows them."""
    if event.kind != "delete" or event.entity.attachments is None:
        return
    slug = store.model.slug
    where = sa.and_(
        attachments.c.portal == slug,
        attachments.c.entity == event.entity.name,
        attachments.c.record_id == event.record_id,
    )
    ids = [str(i) for i in conn.execute(sa.select(attachments.c.id).where(where)).scalars()]
    _delete_versions(conn, ids)
    conn.execute(attachments.delete().where(where))
