"""OpenAPI paths and schemas of attached documents (`/<entity>/{id}/attachments…`), for
entities with `attachments:` the actor may read; uploads and deletes only with update grants."""

from __future__ import annotations

from typing import Any, Final

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.model import Entity

from .inputs import JSON_MIMETYPE as JSON
from .schemas import ApiSchemas

_PROBLEMS: Final = {
    "401": "Unauthenticated",
    "403": "Forbidden",
    "404": "NotFound",
    "413": "TooLarge",
    "415": "UnsupportedMediaType",
    "422": "Unprocessable",
}
_VERSION: Final = {
    "type": "object",
    "properties": {
        "number": {"type": "integer", "description": "1 for the first upload"},
        "name": {"type": "string"},
        "size": {"type": "integer", "description": "bytes"},
        "content_type": {"type": "string"},
        "sha256": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "created_by": {
            "type": "object",
            "nullable": True,
            "properties": {"id": {"type": "integer"}, "name": {"type": "string", "nullable": True}},
        },
        "current": {"type": "boolean"},
        "content_url": {"type": "string", "description": "download of this version"},
    },
}
#: Component schemas: a document, one version, and the lists.
SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "AttachmentVersion": _VERSION,
    "Attachment": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "opaque document id"},
            "folder": {"type": "string"},
            "name": {"type": "string", "description": "name of the current version"},
            "size": {"type": "integer"},
            "content_type": {"type": "string"},
            "current_version": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "content_url": {"type": "string", "description": "download of the current version"},
            "versions": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/AttachmentVersion"},
                "description": "newest first",
            },
        },
    },
    "AttachmentList": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"}}
        },
    },
    "AttachmentVersionList": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/AttachmentVersion"}}
        },
    },
}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: _PROBLEMS[s] for s in statuses}


def _upload_body(entity: Entity, with_folder: bool) -> dict[str, Any]:
    assert entity.attachments is not None
    spec = entity.attachments
    properties: dict[str, Any] = {
        "file": {
            "type": "string",
            "format": "binary",
            "description": f"allowed: {', '.join(sorted(spec.types))}; at most "
            f"{spec.max_bytes} bytes; the content must match the extension",
        }
    }
    if with_folder:
        properties["folder"] = {
            "type": "string",
            "enum": [f.name for f in spec.folders],
            "description": f"default: {spec.default_folder}",
        }
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


def attachment_paths(
    schemas: ApiSchemas, actor: Actor, entity: Entity, locale: str
) -> dict[str, dict[str, Any]]:
    """The attachment paths of `entity` for `actor` (none without `attachments:`)."""
    if entity.attachments is None:
        return {}
    name = entity.name
    label = entity.label.get(locale, locale)
    may_update = schemas.store.policy.grants_for(actor, name, "update")
    read: list[dict[str, list[str]]] = [{"session": []}] if actor.is_authenticated else [{}]
    write: list[dict[str, list[str]]] = [{"session": [], "csrf": []}]
    base = f"/{name}/{{id}}/attachments"
    document = {"name": "document", "in": "path", "required": True, "schema": {"type": "string"}}
    binary = {
        "description": "The file, as an attachment (Content-Disposition: attachment)",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
    tags = [name]
    paths: dict[str, dict[str, Any]] = {
        base: {
            "parameters": ["id"],
            "get": {
                "operationId": f"list_{name}_attachments",
                "summary": f"Documents of a {label}, by folder",
                "tags": tags, "security": read,
                "responses": {"200": _json("The documents", "AttachmentList"),
                              **_errors("401", "404")},
            },
        },
        f"{base}/{{document}}": {
            "parameters": ["id", document],
            "get": {
                "operationId": f"get_{name}_attachment",
                "summary": f"One document of a {label} with its versions",
                "tags": tags, "security": read,
                "responses": {"200": _json("The document", "Attachment"),
                              **_errors("401", "404")},
            },
        },
        f"{base}/{{document}}/content": {
            "parameters": ["id", document],
            "get": {
                "operationId": f"download_{name}_attachment",
                "summary": "Download the current version",
                "tags": tags, "security": read,
                "responses": {"200": binary, **_errors("401", "404")},
            },
        },
        f"{base}/{{document}}/versions": {
            "parameters": ["id", document],
            "get": {
                "operationId": f"list_{name}_attachment_versions",
                "summary": "The versions of a document, newest first",
                "tags": tags, "security": read,
                "responses": {"200": _json("The versions", "AttachmentVersionList"),
                              **_errors("401", "404")},
            },
        },
        f"{base}/{{document}}/versions/{{number}}/content": {
            "parameters": [
                "id", document,
                {"name": "number", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 1}},
            ],
            "get": {
                "operationId": f"download_{name}_attachment_version",
                "summary": "Download one version",
                "tags": tags, "security": read,
                "responses": {"200": binary, **_errors("401", "404")},
            },
        },
    }  # fmt: skip
    if may_update:
        write_errors = _errors("401", "403", "404", "413", "415", "422")
        paths[base]["post"] = {
            "operationId": f"attach_{name}_document",
            "summary": f"Attach a document to a {label}",
            "tags": tags,
            "security": write,
            "requestBody": _upload_body(entity, with_folder=True),
            "responses": {"201": _json("The new document", "Attachment"), **write_errors},
        }
        paths[f"{base}/{{document}}"]["delete"] = {
            "operationId": f"delete_{name}_attachment",
            "summary": "Delete a document with every version",
            "tags": tags,
            "security": write,
            "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404")},
        }
        paths[f"{base}/{{document}}/versions"]["post"] = {
            "operationId": f"add_{name}_attachment_version",
            "summary": "Upload a new version (it becomes the current one)",
            "tags": tags,
            "security": write,
            "requestBody": _upload_body(entity, with_folder=False),
            "responses": {"201": _json("The document", "Attachment"), **write_errors},
        }
    return paths
