"""The OpenAPI 3.1 document of a portal's REST API, as one actor sees it.

Derived from the compiled model and the policy, never written by hand: one pair of paths per
entity the actor may read; response schemas list the fields the actor may read, request
schemas the fields they may write (each field type supplies its own `json_schema`). An
anonymous visitor's document shows only what anonymous grants allow. The document depends on
the version and the actor's role set only, so the API caches it per (version, roles).
"""

from __future__ import annotations

from typing import Any, Final

from portalis.engine.model import Entity, Field
from portalis.engine.permissions import Actor
from portalis.engine.store import RecordStore

from ..security import CSRF_HEADER
from .paths import component_parameters, component_responses, entity_paths, transition_paths
from .workflow import TRANSITION_SCHEMAS, transition_schemas

OPENAPI_VERSION: Final = "3.1.0"

#: Schemas of the system columns every record carries.
SYSTEM_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "id": {"type": "integer", "minimum": 1, "readOnly": True},
    "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
    "created_by": {
        "type": ["integer", "null"],
        "minimum": 1,
        "readOnly": True,
        "description": "id of the user who created the record",
    },
    "version": {
        "type": "integer",
        "minimum": 1,
        "readOnly": True,
        "description": 'optimistic-locking version; send it back as If-Match: "<version>"',
    },
}

_PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "stable error code"},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status", "code"],
}

_VALIDATION_SCHEMA: Final[dict[str, Any]] = {
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "object",
                    "description": "messages per field (`__all__`: the whole record)",
                    "additionalProperties": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                            "required": ["code", "message"],
                        },
                    },
                }
            },
            "required": ["errors"],
        },
    ]
}


def openapi_document(
    store: RecordStore,
    actor: Actor,
    *,
    base_url: str,
    cookie_name: str,
    version: int | None,
) -> dict[str, Any]:
    """The whole OpenAPI document for `actor` (paths relative to `base_url`)."""
    model = store.model
    locale = model.default_locale
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Problem": _PROBLEM_SCHEMA, "ValidationProblem": _VALIDATION_SCHEMA}
    for entity in model.entities.values():
        if not store.policy.grants_for(actor, entity.name, "read"):
            continue
        schemas.update(entity_schemas(store, actor, entity, locale))
        paths.update(entity_paths(store, actor, entity, locale))
        workflow_paths = transition_paths(store, actor, entity, locale)
        if workflow_paths:
            paths.update(workflow_paths)
            schemas.update(TRANSITION_SCHEMAS)
            schemas.update(transition_schemas(store, entity, locale, field_schema))
    info: dict[str, Any] = {
        "title": f"{model.title.get(locale, locale)} API",
        "version": str(version if version is not None else 0),
    }
    if model.description is not None:
        info["description"] = model.description.get(locale, locale)
    return {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": component_parameters(),
            "responses": component_responses(),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": cookie_name},
                "csrf": {"type": "apiKey", "in": "header", "name": CSRF_HEADER},
            },
        },
    }


# -- schemas ----------------------------------------------------------------------------
def entity_schemas(
    store: RecordStore, actor: Actor, entity: Entity, locale: str
) -> dict[str, dict[str, Any]]:
    """`<entity>` (read), `<entity>.page`, and `.create`/`.update` where the actor may write."""
    policy = store.policy
    readable = policy.field_mask(actor, entity.name, "read")
    props: dict[str, Any] = {"id": SYSTEM_SCHEMAS["id"]}
    for name, field in entity.fields.items():
        if name in readable:
            always = field.required and field.visible_when is None
            props[name] = field_schema(field, locale, nullable=not always)
    props.update({k: v for k, v in SYSTEM_SCHEMAS.items() if k != "id"})
    out: dict[str, dict[str, Any]] = {
        entity.name: {
            "type": "object",
            "title": entity.label.get(locale, locale),
            "properties": props,
            "required": list(SYSTEM_SCHEMAS),
            "additionalProperties": False,
        },
        f"{entity.name}.page": _page_schema(entity.name),
    }
    create = policy.grants_for(actor, entity.name, "create")
    if create:
        fields = store.writable(entity, create)
        out[f"{entity.name}.create"] = _write_schema(
            entity, fields, locale, required=_create_required(store, actor, entity, fields)
        )
    update = policy.grants_for(actor, entity.name, "update")
    if update:
        schema = _write_schema(entity, store.writable(entity, update), locale, required=[])
        schema["properties"]["version"] = {
            "type": "integer",
            "minimum": 1,
            "description": "expected current version (or send If-Match)",
        }
        out[f"{entity.name}.update"] = schema
    return out


def field_schema(field: Field, locale: str, *, nullable: bool) -> dict[str, Any]:
    """The JSON Schema of one field's value, titled with its label."""
    schema = dict(field.kind.json_schema(field))
    if nullable:
        schema = _nullable(schema)
    schema["title"] = field.label.get(locale, locale)
    if field.help is not None:
        schema["description"] = field.help.get(locale, locale)
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    if isinstance(kind, list):
        return schema if "null" in kind else {**schema, "type": [*kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _write_schema(
    entity: Entity, fields: frozenset[str], locale: str, *, required: list[str]
) -> dict[str, Any]:
    props = {
        name: field_schema(field, locale, nullable=name not in required)
        for name, field in entity.fields.items()
        if name in fields
    }
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _create_required(
    store: RecordStore, actor: Actor, entity: Entity, fields: frozenset[str]
) -> list[str]:
    state = store.state_fields(entity)
    auto_account = entity.account_field if actor.account is not None else None
    return [
        name
        for name, field in entity.fields.items()
        if name in fields
        and field.required
        and field.default is None
        and field.default_expr is None
        and field.visible_when is None
        and name not in state
        and name != auto_account
    ]


def _page_schema(entity: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{entity}"}},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0},
            "total_exact": {"type": "boolean", "description": "false when total is a cap"},
            "has_next": {"type": "boolean"},
        },
        "required": ["items", "page", "page_size", "total", "total_exact", "has_next"],
    }
