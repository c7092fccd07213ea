"""OpenAPI paths of the REST API: the operations one actor has on one entity.

`/<entity>` lists (GET) and creates (POST, with create grants); `/<entity>/{id}` reads,
changes (PATCH, with update grants) and deletes (DELETE, with delete grants); an entity with
workflows has `/<entity>/{id}/transitions` (GET) and, with transition grants, one
`/<entity>/{id}/transitions/<name>` (POST) per transition, each with its own request body
(whether it needs a comment, which fields it requires); an entity with `copy:` has
`/<entity>/{id}/copy` (POST) for actors who may create it and its children. List parameters name only fields the
actor may read, each filter with the schema of the text its field type accepts. Component
names (strings) are resolved to `$ref`s by apispec. `allowed_methods` gives the same answer
for `OPTIONS` and 405 responses, so `Allow` and the document agree.
"""

from __future__ import annotations

from typing import Any, Final

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.fieldtypes.refs import ID_MAX
from portalis.engine.definition.model import SYSTEM_COLUMNS, Entity
from portalis.engine.flow.copying import can_copy

from ..problem import PROBLEM_MIMETYPE as PROBLEM
from .fields import ApiField
from .inputs import (
    DEFAULT_PAGE_SIZE,
    IDEMPOTENCY_KEY_PATTERN,
    IF_MATCH_PATTERN,
    MAX_PAGE,
    MAX_PAGE_SIZE_PARAM,
    MAX_SEARCH_CHARS,
    RESERVED_PARAMS,
)
from .inputs import JSON_MIMETYPE as JSON
from .schemas import ApiSchemas

#: Error responses: (status, description, schema name).
_ERRORS: Final = {
    "400": ("BadRequest", "malformed request or unknown sort/filter field", "Problem"),
    "401": ("Unauthenticated", "sign in first (anonymous visitors only)", "Problem"),
    "403": ("Forbidden", "not allowed, or missing/invalid X-CSRF-Token", "Problem"),
    "404": ("NotFound", "no such entity or record for this actor", "Problem"),
    "409": (
        "Conflict",
        "stale version, concurrent duplicate request, or a related record's rule refuses the "
        "change in its current state (`errors`, e.g. a fully booked slot)",
        "ValidationProblem",
    ),
    "413": ("TooLarge", "the body is too large", "Problem"),
    "415": ("UnsupportedMediaType", "the body is not application/json", "Problem"),
    "422": ("Unprocessable", "field errors, or an Idempotency-Key reused", "ValidationProblem"),
}
_WRITE_ERRORS: Final = ("400", "401", "403", "404", "409", "413", "415", "422")
#: The payment endpoints that POST and the action each needs (on a payable entity).
_PAYMENT_ACTIONS: Final = {"api:pay": "pay", "api:payment_refunds": "refund"}


def allowed_methods(schemas: ApiSchemas, actor: Actor, entity: str, endpoint: str) -> list[str]:
    """The methods the document lists for the actor on an API path (with HEAD, OPTIONS)."""
    policy = schemas.store.policy
    methods: list[str] = []
    if endpoint in ("api:collection", "api:item", "api:transitions"):
        methods += ["GET", "HEAD"]
    if endpoint == "api:collection" and policy.grants_for(actor, entity, "create"):
        methods.append("POST")
    if endpoint == "api:item":
        methods += [m for m, a in (("PATCH", "update"), ("DELETE", "delete"))
                    if policy.grants_for(actor, entity, a)]  # fmt: skip
    if endpoint == "api:bulk" and any(
        policy.grants_for(actor, entity, a) for a in ("update", "transition", "delete")
    ):
        methods.append("POST")
    if endpoint.startswith("api:attachment"):
        methods += ["GET", "HEAD"]
        may_update = policy.grants_for(actor, entity, "update")
        if may_update and endpoint in ("api:attachments", "api:attachment_versions"):
            methods.append("POST")
        if may_update and endpoint == "api:attachment":
            methods.append("DELETE")
    if endpoint == "api:payments":
        methods += ["GET", "HEAD"]
    if endpoint in _PAYMENT_ACTIONS and policy.grants_for(
        actor, entity, _PAYMENT_ACTIONS[endpoint]
    ):
        methods.append("POST")
    if endpoint == "api:transition" or (
        endpoint == "api:copy" and can_copy(schemas.store, actor, entity)
    ):
        methods.append("POST")
    return [*methods, "OPTIONS"]


def entity_paths(
    schemas: ApiSchemas, actor: Actor, entity: Entity, locale: str
) -> dict[str, dict[str, Any]]:
    """`/<entity>` and `/<entity>/{id}` with the operations the actor has."""
    policy = schemas.store.policy
    name = entity.name
    plural = entity.plural_label.get(locale, locale)
    label = entity.label.get(locale, locale)
    read_security = _read_security(actor)
    write_security: list[dict[str, list[str]]] = [{"session": [], "csrf": []}]
    collection: dict[str, Any] = {
        "get": {
            "operationId": f"list_{name}",
            "summary": f"List {plural}",
            "tags": [name],
            "security": read_security,
            "parameters": _list_parameters(schemas, actor, entity),
            "responses": {
                "200": _json(f"A page of {plural}", f"{name}.page"),
                **_errors("400", "401", "404"),
            },
        }
    }
    if policy.grants_for(actor, name, "create"):
        created = _json(f"The new {label}", name)
        created["headers"] = {"Location": {"schema": {"type": "string"}}, **_etag()}
        collection["post"] = {
            "operationId": f"create_{name}",
            "summary": f"Create a {label}",
            "tags": [name],
            "security": write_security,
            "parameters": ["IdempotencyKey"],
            "requestBody": _body(f"{name}.create"),
            "responses": {"201": created, **_errors(*_WRITE_ERRORS)},
        }
    item: dict[str, Any] = {
        "parameters": ["id"],
        "get": {
            "operationId": f"get_{name}",
            "summary": f"Get a {label}",
            "tags": [name],
            "security": read_security,
            "responses": {"200": _json(f"The {label}", name, etag=True), **_errors("401", "404")},
        },
    }
    if policy.grants_for(actor, name, "update"):
        item["patch"] = {
            "operationId": f"update_{name}",
            "summary": f"Change a {label}",
            "tags": [name],
            "security": write_security,
            "parameters": ["IfMatch"],
            "requestBody": _body(f"{name}.update"),
            "responses": {
                "200": _json(f"The changed {label}", name, etag=True),
                **_errors(*_WRITE_ERRORS),
            },
        }
    if policy.grants_for(actor, name, "delete"):
        item["delete"] = {
            "operationId": f"delete_{name}",
            "summary": f"Delete a {label}",
            "tags": [name],
            "security": write_security,
            "parameters": ["IfMatch"],
            "responses": {
                "204": {"description": "Deleted"},
                **_errors("400", "401", "403", "404", "409", "422"),
            },
        }
    return {f"/{name}": collection, f"/{name}/{{id}}": item}


def transition_paths(
    schemas: ApiSchemas, actor: Actor, entity: Entity, locale: str
) -> dict[str, dict[str, Any]]:
    """`/<entity>/{id}/transitions` (GET) and `/<entity>/{id}/transitions/<name>` (POST, with
    transition grants) for an entity with workflows."""
    workflows = schemas.model.workflow_for(entity.name)
    if not workflows:
        return {}
    name = entity.name
    label = entity.label.get(locale, locale)
    out: dict[str, dict[str, Any]] = {
        f"/{name}/{{id}}/transitions": {
            "parameters": ["id"],
            "get": {
                "operationId": f"transitions_{name}",
                "summary": f"Transitions of a {label}",
                "description": "Every transition of the record's workflows: whether you may "
                "take it now and, if not, why (`reason`, `code`, `details`); its comment mode, "
                "required fields and approval progress.",
                "tags": [name],
                "security": _read_security(actor),
                "responses": {
                    "200": _json(f"The transitions of the {label}", "TransitionList", etag=True),
                    **_errors("401", "404"),
                },
            },
        }
    }
    if not schemas.store.policy.grants_for(actor, name, "transition"):
        return out
    for transition in sorted({tr.name for wf in workflows for tr in wf.transitions.values()}):
        out[f"/{name}/{{id}}/transitions/{transition}"] = {
            "parameters": ["id"],
            "post": {
                "operationId": f"transition_{name}_{transition}",
                "summary": f"{transition}: a transition of a {label}",
                "description": "Takes the transition, or records your approval when it needs "
                "several (`applied: false` until the quorum is reached). Send the `version` "
                "you saw (or If-Match): a stale one gives 409. 403 `transition-unavailable` "
                "says why the transition is not available to you now.",
                "tags": [name],
                "security": [{"session": [], "csrf": []}],
                "parameters": ["IfMatch"],
                "requestBody": _body(f"{name}.transition.{transition}"),
                "responses": {
                    "200": _json(
                        "Applied, or your approval recorded",
                        f"{name}.transition_result",
                        etag=True,
                    ),
                    **_errors(*_WRITE_ERRORS),
                },
            },
        }
    return out


def copy_paths(
    schemas: ApiSchemas, actor: Actor, entity: Entity, locale: str
) -> dict[str, dict[str, Any]]:
    """`/<entity>/{id}/copy` (POST) for an entity with `copy:` the actor may copy."""
    if not can_copy(schemas.store, actor, entity.name):
        return {}
    name = entity.name
    label = entity.label.get(locale, locale)
    created = _json(f"The copy of the {label}", name)
    created["headers"] = {"Location": {"schema": {"type": "string"}}, **_etag()}
    return {
        f"/{name}/{{id}}/copy": {
            "parameters": ["id"],
            "post": {
                "operationId": f"copy_{name}",
                "summary": f"Copy a {label}",
                "description": "Creates a copy of the record with its children, in one "
                "transaction and with your own rights (no body). Fields you may not write, reset "
                "fields, states and computed fields start afresh; files are not copied.",
                "tags": [name],
                "security": [{"session": [], "csrf": []}],
                "parameters": ["IdempotencyKey"],
                "responses": {"201": created, **_errors("401", "403", "404", "409", "422")},
            },
        }
    }


def _read_security(actor: Actor) -> list[dict[str, list[str]]]:
    return [{"session": []}] if actor.is_authenticated else [{}]


def _list_parameters(schemas: ApiSchemas, actor: Actor, entity: Entity) -> list[Any]:
    readable = schemas.readable(actor, entity.name)
    sortable = [*SYSTEM_COLUMNS] + [
        n for n, f in entity.fields.items() if n in readable and f.kind.sortable and f.in_database
    ]
    params: list[Any] = [
        "page",
        "page_size",
        {
            "name": "sort",
            "in": "query",
            "description": "a field to sort by; `-` before it sorts descending",
            "schema": {"type": "string", "enum": [p + n for n in sortable for p in ("", "-")]},
        },
    ]
    if any(n in readable for n in entity.search_fields):
        params.append("q")
    read_fields = schemas[entity.name].read._declared_fields
    for name, field in entity.fields.items():
        api_field = read_fields.get(name)
        if (
            name in readable
            and field.kind.filterable
            and field.in_database
            and name not in RESERVED_PARAMS
            and isinstance(api_field, ApiField)
        ):
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "description": "only records with this value (empty: without a value)",
                    "schema": api_field.query_schema(),
                }
            )
    return params


def component_parameters() -> dict[str, dict[str, Any]]:
    """`components.parameters`: paging, search, If-Match, Idempotency-Key, id."""
    return {
        "id": {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
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
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE_PARAM,
                "default": DEFAULT_PAGE_SIZE,
            },
        },
        "q": {
            "name": "q",
            "in": "query",
            "description": "search words (all must match one of the search fields)",
            "schema": {"type": "string", "maxLength": MAX_SEARCH_CHARS, "pattern": "^[^\\u0000]*$"},
        },
        "IfMatch": {
            "name": "If-Match",
            "in": "header",
            "description": 'the version you changed: "<version>" (stale → 409)',
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "description": "a fresh key per request: a replay with the same key and body "
            "returns the first response; the same key with another body is refused (422)",
            "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
        },
    }


def _json(description: str, schema: str, *, etag: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if etag:
        out["headers"] = _etag()
    return out


def _etag() -> dict[str, Any]:
    return {
        "ETag": {"description": 'the record version, "<version>"', "schema": {"type": "string"}}
    }


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: _ERRORS[s][0] for s in statuses}


def component_responses() -> dict[str, dict[str, Any]]:
    """`components.responses`: the problem+json error responses."""
    return {
        name: {"description": text, "content": {PROBLEM: {"schema": ref}}}
        for name, text, ref in _ERRORS.values()
    }
