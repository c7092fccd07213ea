"""OpenAPI paths of the REST API: the operations one actor has on one entity.

`/<entity>` lists (GET) and creates (POST, with create grants); `/<entity>/{id}` reads,
changes (PATCH, with update grants) and deletes (DELETE, with delete grants). List parameters
name only fields the actor may read; errors are shared `components.responses`.
"""

from __future__ import annotations

from typing import Any, Final

from portalis.engine.model import SYSTEM_COLUMNS, Entity
from portalis.engine.permissions import Actor
from portalis.engine.store import RecordStore

from ..problem import PROBLEM_MIMETYPE as PROBLEM
from .inputs import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_SEARCH_CHARS, RESERVED_PARAMS
from .inputs import JSON_MIMETYPE as JSON

#: Error responses: (status, description, schema name).
_ERRORS: Final = {
    "400": ("BadRequest", "malformed request or unknown sort/filter field", "Problem"),
    "401": ("Unauthenticated", "sign in first (anonymous visitors only)", "Problem"),
    "403": ("Forbidden", "not allowed, or missing/invalid X-CSRF-Token", "Problem"),
    "404": ("NotFound", "no such entity or record for this actor", "Problem"),
    "409": ("Conflict", "stale version or concurrent duplicate request", "Problem"),
    "413": ("TooLarge", "the body is too large", "Problem"),
    "415": ("UnsupportedMediaType", "the body is not application/json", "Problem"),
    "422": ("Unprocessable", "field errors, or an Idempotency-Key reused", "ValidationProblem"),
}


def entity_paths(
    store: RecordStore, actor: Actor, entity: Entity, locale: str
) -> dict[str, dict[str, Any]]:
    """`/<entity>` and `/<entity>/{id}` with the operations the actor has."""
    policy = store.policy
    name = entity.name
    plural = entity.plural_label.get(locale, locale)
    label = entity.label.get(locale, locale)
    ref = {"$ref": f"#/components/schemas/{name}"}
    read_security: list[dict[str, list[str]]] = (
        [{"session": []}] if actor.is_authenticated else [{}]
    )
    write_security: list[dict[str, list[str]]] = [{"session": [], "csrf": []}]
    collection: dict[str, Any] = {
        "get": {
            "operationId": f"list_{name}",
            "summary": f"List {plural}",
            "tags": [name],
            "security": read_security,
            "parameters": _list_parameters(store, actor, entity),
            "responses": {
                "200": _json(f"A page of {plural}", {"$ref": f"#/components/schemas/{name}.page"}),
                **_errors("400", "401", "404"),
            },
        }
    }
    if policy.grants_for(actor, name, "create"):
        created = _json(f"The new {label}", ref)
        created["headers"] = {"Location": {"schema": {"type": "string"}}, **_etag()}
        collection["post"] = {
            "operationId": f"create_{name}",
            "summary": f"Create a {label}",
            "tags": [name],
            "security": write_security,
            "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
            "requestBody": _body(f"{name}.create"),
            "responses": {
                "201": created,
                **_errors("400", "401", "403", "404", "409", "413", "415", "422"),
            },
        }
    item: dict[str, Any] = {
        "parameters": [{"$ref": "#/components/parameters/id"}],
        "get": {
            "operationId": f"get_{name}",
            "summary": f"Get a {label}",
            "tags": [name],
            "security": read_security,
            "responses": {"200": _json(f"The {label}", ref, etag=True), **_errors("401", "404")},
        },
    }
    if policy.grants_for(actor, name, "update"):
        item["patch"] = {
            "operationId": f"update_{name}",
            "summary": f"Change a {label}",
            "tags": [name],
            "security": write_security,
            "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
            "requestBody": _body(f"{name}.update"),
            "responses": {
                "200": _json(f"The changed {label}", ref, etag=True),
                **_errors("400", "401", "403", "404", "409", "413", "415", "422"),
            },
        }
    if policy.grants_for(actor, name, "delete"):
        item["delete"] = {
            "operationId": f"delete_{name}",
            "summary": f"Delete a {label}",
            "tags": [name],
            "security": write_security,
            "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
            "responses": {
                "204": {"description": "Deleted"},
                **_errors("400", "401", "403", "404", "409", "422"),
            },
        }
    return {f"/{name}": collection, f"/{name}/{{id}}": item}


def transition_paths(
    store: RecordStore, actor: Actor, entity: Entity, locale: str
) -> dict[str, dict[str, Any]]:
    """`/<entity>/{id}/transitions` (GET) and `/<entity>/{id}/transitions/{transition}`
    (POST, with transition grants) for an entity with workflows."""
    workflows = store.model.workflow_for(entity.name)
    if not workflows:
        return {}
    name = entity.name
    label = entity.label.get(locale, locale)
    read_security: list[dict[str, list[str]]] = (
        [{"session": []}] if actor.is_authenticated else [{}]
    )
    out: dict[str, dict[str, Any]] = {
        f"/{name}/{{id}}/transitions": {
            "parameters": [{"$ref": "#/components/parameters/id"}],
            "get": {
                "operationId": f"transitions_{name}",
                "summary": f"Transitions of a {label}",
                "description": "Every transition of the record's workflows: whether you may "
                "take it now and, if not, why (`reason`, `code`, `details`); its comment mode, "
                "required fields and approval progress.",
                "tags": [name],
                "security": read_security,
                "responses": {
                    "200": _json(
                        f"The transitions of the {label}",
                        {"$ref": "#/components/schemas/TransitionList"},
                        etag=True,
                    ),
                    **_errors("401", "404"),
                },
            },
        }
    }
    if not store.policy.grants_for(actor, name, "transition"):
        return out
    names = sorted({tr.name for wf in workflows for tr in wf.transitions.values()})
    out[f"/{name}/{{id}}/transitions/{{transition}}"] = {
        "parameters": [
            {"$ref": "#/components/parameters/id"},
            {
                "name": "transition",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": names},
            },
        ],
        "post": {
            "operationId": f"transition_{name}",
            "summary": f"Take a transition of a {label}",
            "description": "Takes the transition, or records your approval when it needs "
            "several (`applied: false` until the quorum is reached). Send the `version` you "
            "saw (or If-Match): a stale one gives 409. 403 `transition-unavailable` says why "
            "the transition is not available to you now.",
            "tags": [name],
            "security": [{"session": [], "csrf": []}],
            "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
            "requestBody": _body(f"{name}.transition"),
            "responses": {
                "200": _json(
                    "Applied, or your approval recorded",
                    {"$ref": f"#/components/schemas/{name}.transition_result"},
                    etag=True,
                ),
                **_errors("400", "401", "403", "404", "409", "413", "415", "422"),
            },
        },
    }
    return out


def _list_parameters(store: RecordStore, actor: Actor, entity: Entity) -> list[dict[str, Any]]:
    readable = store.policy.field_mask(actor, entity.name, "read")
    sortable = [*SYSTEM_COLUMNS] + [
        n for n, f in entity.fields.items() if n in readable and f.kind.sortable
    ]
    params: list[dict[str, Any]] = [
        {"$ref": "#/components/parameters/page"},
        {"$ref": "#/components/parameters/page_size"},
        {
            "name": "sort",
            "in": "query",
            "description": "a field to sort by; `-` before it sorts descending",
            "schema": {"type": "string", "enum": [p + n for n in sortable for p in ("", "-")]},
        },
    ]
    if any(n in readable for n in entity.search_fields):
        params.append({"$ref": "#/components/parameters/q"})
    for name, field in entity.fields.items():
        if name in readable and field.kind.filterable and name not in RESERVED_PARAMS:
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "description": "only records with this value (empty: without a value)",
                    "schema": {"type": "string"},
                }
            )
    return params


def component_parameters() -> dict[str, Any]:
    """`components.parameters`: paging, search, If-Match, Idempotency-Key, id."""
    return {
        "id": {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        },
        "page": {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        },
        "page_size": {
            "name": "page_size",
            "in": "query",
            "description": "records per page (larger values are cut to the maximum)",
            "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_PAGE_SIZE},
        },
        "q": {
            "name": "q",
            "in": "query",
            "description": "search words (all must match one of the search fields)",
            "schema": {"type": "string", "maxLength": MAX_SEARCH_CHARS},
        },
        "IfMatch": {
            "name": "If-Match",
            "in": "header",
            "description": 'the version you changed: "<version>" (stale → 409)',
            "schema": {"type": "string"},
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "description": "replays with the same key and body return the first response",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        },
    }


def _json(description: str, schema: dict[str, Any], *, etag: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if etag:
        out["headers"] = _etag()
    return out


def _etag() -> dict[str, Any]:
    return {
        "ETag": {"description": 'the record version, "<version>"', "schema": {"type": "string"}}
    }


def _body(schema: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: {"$ref": f"#/components/responses/{_ERRORS[s][0]}"} for s in statuses}


def component_responses() -> dict[str, Any]:
    """`components.responses`: the problem+json error responses."""
    return {
        name: {
            "description": text,
            "content": {PROBLEM: {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        }
        for name, text, ref in _ERRORS.values()
    }
