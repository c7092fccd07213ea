"""The API of attached documents: `/api/v1/<entity>/<id>/attachments[/<document>[/...]]`.

- `GET …/attachments` lists the record's documents (each with its versions, newest first);
  `POST …/attachments` (multipart/form-data: `file`, optional `folder`) attaches one → 201;
- `GET …/attachments/<document>` one document; `DELETE` deletes it with every version → 204;
- `GET …/attachments/<document>/content` downloads the current version,
  `GET …/versions/<n>/content` version n (always `Content-Disposition: attachment`);
- `GET …/attachments/<document>/versions` lists the versions; `POST` (multipart `file`) adds
  the new current version → 201.

The record decides: reads need the right to read it, writes the right to update it; a record
the actor cannot see, an entity without `attachments:` or an unknown document → 404. Writes
need the session's `X-CSRF-Token` (403) and a multipart body (415); a file over the entity's
limit → 413, a refused type or content → 422 with `errors.file`.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from flask import Response, request

from portalis.engine.data import documents as engine_documents
from portalis.engine.data.documents import Document, Version
from portalis.engine.data.permissions import Actor

from .. import documents
from ..problem import ApiProblem
from ..uploads import UploadRejected, UploadTooLarge
from ..urls import portal_url
from .records import API_PREFIX, json_response, no_content, readable_entity
from .writes import require_csrf

if TYPE_CHECKING:
    from ..registry import RuntimePortal

MULTIPART = "multipart/form-data"


def _base(entity: str, record_id: int) -> str:
    return f"{API_PREFIX}/{entity}/{record_id}/attachments"


def version_json(
    entity: str, record_id: int, document: Document, version: Version, names: dict[int, str]
) -> dict[str, Any]:
    """One version as JSON (with its download URL and uploader)."""
    uploader = version.created_by
    return {
        "number": version.number,
        "name": version.name,
        "size": version.size,
        "content_type": version.content_type,
        "sha256": version.sha256,
        "created_at": version.created_at.astimezone(UTC).isoformat(),
        "created_by": None if uploader is None else {"id": uploader, "name": names.get(uploader)},
        "current": version.number == document.current,
        "content_url": portal_url(
            f"{_base(entity, record_id)}/{document.id}/versions/{version.number}/content"
        ),
    }


def document_json(
    portal: RuntimePortal, actor: Actor, document: Document, names: dict[int, str] | None = None
) -> dict[str, Any]:
    """A document as JSON: folder, current name and size, versions newest first."""
    if names is None:
        names = uploader_names(portal, actor, [document])
    entity, record_id = document.entity, document.record_id
    latest = document.latest
    return {
        "id": document.id,
        "folder": document.folder,
        "name": document.name,
        "size": latest.size,
        "content_type": latest.content_type,
        "current_version": document.current,
        "created_at": document.created_at.astimezone(UTC).isoformat(),
        "updated_at": document.updated_at.astimezone(UTC).isoformat(),
        "content_url": portal_url(f"{_base(entity, record_id)}/{document.id}/content"),
        "versions": [
            version_json(entity, record_id, document, v, names) for v in document.versions
        ],
    }


def uploader_names(portal: RuntimePortal, actor: Actor, docs: list[Document]) -> dict[int, str]:
    """Names of the users who uploaded the versions (one query)."""
    ids = {v.created_by for d in docs for v in d.versions if v.created_by is not None}
    if not ids:
        return {}
    return portal.store.titles(actor, "user", sorted(ids), names_only=True)


def _upload() -> Any:
    """The multipart body's `file` (415 for another body, 422 without a file)."""
    require_csrf()
    if request.mimetype != MULTIPART:
        raise ApiProblem(415, "unsupported-media-type", f"send the file as {MULTIPART}")
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        raise ApiProblem(
            422, "invalid", "the input was refused",
            errors={"file": [{"code": "required", "message": "choose a file"}]},
        )  # fmt: skip
    return storage


def _checked(action: Any) -> Document:
    """Run an upload, answering its refusals as problems."""
    try:
        document: Document = action()
    except UploadTooLarge as exc:
        raise ApiProblem(413, "too-large", "the file is larger than allowed") from exc
    except UploadRejected as exc:
        message = exc.message.format(**exc.params) if exc.params else exc.message
        raise ApiProblem(
            422, "invalid", "the upload was refused",
            errors={"file": [{"code": exc.code, "message": message}]},
        ) from exc  # fmt: skip
    return document


def _created(portal: RuntimePortal, actor: Actor, document: Document, location: str) -> Response:
    response = json_response(document_json(portal, actor, document), 201)
    response.headers["Location"] = portal_url(location)
    return response


def attachments(portal: RuntimePortal, actor: Actor, entity: str, id: int) -> Response:
    """`GET` the record's documents, `POST` attaches one."""
    target = readable_entity(portal, actor, entity).name
    if request.method == "POST":
        storage = _upload()
        folder = request.form.get("folder") or None
        document = _checked(
            lambda: documents.attach_upload(portal, actor, target, id, folder, storage)
        )
        return _created(portal, actor, document, f"{_base(target, id)}/{document.id}")
    docs = engine_documents.documents(portal.store, actor, target, id)
    names = uploader_names(portal, actor, docs)
    return json_response({"items": [document_json(portal, actor, d, names) for d in docs]})


def attachment(
    portal: RuntimePortal, actor: Actor, entity: str, id: int, document: str
) -> Response:
    """`GET` one document, `DELETE` deletes it."""
    target = readable_entity(portal, actor, entity).name
    if request.method == "DELETE":
        require_csrf()
        engine_documents.document(portal.store, actor, target, id, document)
        documents.delete_document(portal, actor, target, id, document)
        return no_content()
    found = engine_documents.document(portal.store, actor, target, id, document)
    return json_response(document_json(portal, actor, found))


def versions(portal: RuntimePortal, actor: Actor, entity: str, id: int, document: str) -> Response:
    """`GET` a document's versions, `POST` adds the new current version."""
    target = readable_entity(portal, actor, entity).name
    if request.method == "POST":
        storage = _upload()
        updated = _checked(
            lambda: documents.version_upload(portal, actor, target, id, document, storage)
        )
        path = f"{_base(target, id)}/{document}/versions/{updated.current}/content"
        return _created(portal, actor, updated, path)
    found = engine_documents.document(portal.store, actor, target, id, document)
    body = document_json(portal, actor, found)
    return json_response({"items": body["versions"]})


def content(
    portal: RuntimePortal,
    actor: Actor,
    entity: str,
    id: int,
    document: str,
    number: int | None = None,
) -> Response:
    """`GET` the bytes of the current version (or version `number`)."""
    target = readable_entity(portal, actor, entity).name
    return documents.send_version(portal, actor, target, id, document, number)
