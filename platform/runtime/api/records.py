"""What the API's views share: the entity a request names, the version's schemas, records as
JSON and the JSON responses that carry them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from flask import Response, current_app

from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.model import Entity

from ..problem import not_found, unauthorized
from ..urls import portal_url
from .fields import ApiFields
from .inputs import JSON_MIMETYPE
from .schemas import ApiSchemas

if TYPE_CHECKING:
    from ..context import AppState
    from ..registry import RuntimePortal

API_PREFIX: Final = "/api/v1"


def readable_entity(portal: RuntimePortal, actor: Actor, name: str) -> Entity:
    """The entity when the actor may read some of it; else 404 (401 for anonymous actors)."""
    entity = portal.compiled.model.entities.get(name)
    if entity is None:
        raise not_found()
    if not portal.compiled.policy.grants_for(actor, entity.name, "read"):
        raise not_found() if actor.is_authenticated else unauthorized()
    return entity


def api_schemas(portal: RuntimePortal) -> ApiSchemas:
    """The version's marshmallow schemas (built on its first API request)."""
    app_state: AppState = current_app.extensions["portalis"]
    api_fields = app_state.extra.get("api:fields")
    if not isinstance(api_fields, ApiFields):
        api_fields = ApiFields.from_plugins(app_state.pm)
        app_state.extra["api:fields"] = api_fields
    return ApiSchemas.of(portal.cache, portal.store, api_fields)


def record_json(
    portal: RuntimePortal, actor: Actor, entity: Entity, record: Record
) -> dict[str, Any]:
    """A record as JSON: `id`, the readable fields (each type's marshmallow field), system
    columns."""
    schemas = api_schemas(portal)
    return schemas[entity.name].dump(schemas.readable(actor, entity.name), [record])[0]


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response from Flask's JSON provider."""
    return Response(current_app.json.dumps(body), status=status, mimetype=JSON_MIMETYPE)


def record_response(
    portal: RuntimePortal, actor: Actor, entity: Entity, record: Record
) -> Response:
    """200 with the record and its version as ETag."""
    response = json_response(record_json(portal, actor, entity, record))
    response.set_etag(str(record.version))
    return response


def created_response(entity: Entity, body: dict[str, Any], record_id: int) -> Response:
    """201 with the new record, its Location and ETag."""
    response = json_response(body, 201)
    response.headers["Location"] = portal_url(f"{API_PREFIX}/{entity.name}/{record_id}")
    response.set_etag(str(body["version"]))
    return response


def no_content() -> Response:
    """204 without a body (and without a Content-Type)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response
