"""Attached documents on the web side: uploads checked and stored like a file field's, the
record's rights asked through the engine (`engine.data.documents`), downloads served as
attachments — shared by the attachments block, its download routes and the REST API.

An upload is checked first (size: one byte over the entity's limit is `UploadTooLarge`;
extension; content sniffed against the extension: `UploadRejected`) and its bytes stored
under a generated name; then one transaction records the document or version with its audit
entry. When that transaction fails, the bytes are removed: a refused upload leaves nothing.
Bytes of deleted documents (and of versions an entity without `versions` drops) are removed
after the commit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Response, abort

from portalis.engine.data import documents
from portalis.engine.data.documents import Document, NewFile
from portalis.engine.data.errors import Forbidden, NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.attachment_spec import AttachmentsSpec
from portalis.engine.definition.fieldtypes import FileConfig

from .uploads import WrittenFile, files_root, send_stored, storage_path, write_upload

if TYPE_CHECKING:
    from .registry import RuntimePortal

log = logging.getLogger("portalis.runtime.documents")


def upload_config(spec: AttachmentsSpec) -> FileConfig:
    """The file checks of an entity's attachments."""
    return FileConfig(accept=spec.types, max_bytes=spec.max_bytes)


def may_change(portal: RuntimePortal, actor: Actor, entity: str, record_id: int) -> bool:
    """True when the actor may attach, version and delete documents of the record."""
    if not portal.store.policy.grants_for(actor, entity, "update"):
        return False
    try:
        portal.store.get(actor, entity, record_id, action="update")
    except (NotFound, Forbidden):
        return False
    return True


def _new_file(written: WrittenFile) -> NewFile:
    return NewFile(written.id, written.name, written.content_type, written.size, written.sha256)


def _write(
    portal: RuntimePortal, actor: Actor, entity: str, record_id: int, storage: Any
) -> WrittenFile:
    """Check the rights (so no bytes are stored for a refused actor), then the upload."""
    _, spec = documents.spec_of(portal.store, entity)
    portal.store.get(actor, entity, record_id, action="update")
    return write_upload(portal.slug, upload_config(spec), storage, files_root())


def attach_upload(
    portal: RuntimePortal,
    actor: Actor,
    entity: str,
    record_id: int,
    folder: str | None,
    storage: Any,
) -> Document:
    """Check, store and attach one upload as a new document of the record."""
    written = _write(portal, actor, entity, record_id, storage)
    try:
        return documents.attach(portal.store, actor, entity, record_id, folder, _new_file(written))
    except BaseException:
        written.path.unlink(missing_ok=True)
        raise


def version_upload(
    portal: RuntimePortal,
    actor: Actor,
    entity: str,
    record_id: int,
    document_id: str,
    storage: Any,
) -> Document:
    """Check, store and add one upload as the new current version of a document."""
    documents.document(portal.store, actor, entity, record_id, document_id)
    written = _write(portal, actor, entity, record_id, storage)
    try:
        document, dropped = documents.add_version(
            portal.store, actor, entity, record_id, document_id, _new_file(written)
        )
    except BaseException:
        written.path.unlink(missing_ok=True)
        raise
    _unlink(portal, dropped)
    return document


def delete_document(
    portal: RuntimePortal, actor: Actor, entity: str, record_id: int, document_id: str
) -> None:
    """Delete a document with every version, then its bytes."""
    _unlink(portal, documents.remove(portal.store, actor, entity, record_id, document_id))


def _unlink(portal: RuntimePortal, file_ids: list[str]) -> None:
    root = files_root()
    for file_id in file_ids:
        try:
            storage_path(root, portal.slug, file_id).unlink(missing_ok=True)
        except (OSError, ValueError):  # a leftover file wastes space; the rows are gone
            log.warning("could not remove the bytes of file %s of %s", file_id, portal.slug)


def send_version(
    portal: RuntimePortal,
    actor: Actor,
    entity: str,
    record_id: int,
    document_id: str,
    number: int | None = None,
) -> Response:
    """Serve a version of a document (the current one by default) as an attachment; raises
    NotFound for anything the actor may not read."""
    document = documents.document(portal.store, actor, entity, record_id, document_id)
    version = document.latest if number is None else document.version(number)
    if version is None:
        raise NotFound(f"document {document_id} has no version {number}")
    path = storage_path(files_root(), portal.slug, version.file_id)
    return send_stored(path, version.name, version.sha256)


# -- page routes --------------------------------------------------------------------------
def download_view(
    portal: RuntimePortal,
    actor: Actor,
    entity: str,
    id: int,
    document: str,
    version: int | None = None,
) -> Response:
    """GET /_attachments/<entity>/<id>/<document>[/<version>]: the bytes, else 404."""
    try:
        return send_version(portal, actor, entity, id, document, version)
    except (NotFound, Forbidden):
        abort(404)


VIEWS = {"sys:attachment": download_view, "sys:attachment_version": download_view}
