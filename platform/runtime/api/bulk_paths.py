"""The OpenAPI description of `POST /api/v1/<entity>/bulk` (see `api.bulk`)."""

from __future__ import annotations

from typing import Any, Final

from portalis.engine.definition.block_bulk import MAX_BULK_IDS as MAX_IDS
from portalis.engine.definition.fieldtypes.refs import ID_MAX
from portalis.engine.definition.model import Entity

from .inputs import JSON_MIMETYPE

#: `action` of the body → the grant it needs.
ACTIONS: Final = {"update": "update", "transition": "transition", "delete": "delete"}


def bulk_paths(
    entity: Entity,
    actor_actions: frozenset[str],
    locale: str,
    *,
    transitions: set[str],
    values: str | None,
) -> dict[str, Any]:
    """`/<entity>/bulk` (POST) when the actor may update, transition or delete some rows.

    `transitions` are the entity's transition names; `values` the component of the fields
    the actor may set (None: none, so no update is offered)."""
    offered = sorted(
        a
        for a, grant in ACTIONS.items()
        if grant in actor_actions
        and (a != "transition" or transitions)
        and (a != "update" or values is not None)
    )
    if not offered:
        return {}
    label = entity.plural_label.get(locale, locale)
    return {
        f"/{entity.name}/bulk": {
            "post": {
                "operationId": f"bulk_{entity.name}",
                "summary": f"Change many {label} at once",
                "description": "Applies one action to each record of `ids`, each in its own "
                "transaction. `done` lists the changed ids; `refused` the others with a code "
                "(`not-available`: no such record for you, or not yours to change; `refused`: "
                "a transition's condition or a field error) and the reasons.",
                "tags": [entity.name],
                "security": [{"session": [], "csrf": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        JSON_MIMETYPE: {
                            "schema": request_schema(offered, sorted(transitions), values)
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "What was done and what was refused",
                        "content": {JSON_MIMETYPE: {"schema": RESULT_SCHEMA}},
                    },
                    **{
                        s: {"$ref": f"#/components/responses/{n}"}
                        for s, n in (
                            ("400", "BadRequest"),
                            ("401", "Unauthenticated"),
                            ("403", "Forbidden"),
                            ("404", "NotFound"),
                            ("415", "UnsupportedMediaType"),
                            ("422", "Unprocessable"),
                        )
                    },
                },
            }
        }
    }


def request_schema(
    actions: list[str], transitions: list[str], values: str | None
) -> dict[str, Any]:
    """One body shape per action (`oneOf`, told apart by `action`): exactly what
    `api.bulk.read_shape` accepts, so a body the document allows is never refused as such."""
    ids = {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
        "minItems": 1,
        "maxItems": MAX_IDS,
    }
    members: dict[str, dict[str, Any]] = {
        "delete": {},
        "transition": {"name": {"type": "string", "enum": transitions}},
        "update": {
            "values": {
                "allOf": [{"$ref": f"#/components/schemas/{values}"}],
                "minProperties": 1,
                "description": "The fields to set, as in a PATCH body.",
            }
        },
    }
    return {
        "oneOf": [
            {
                "type": "object",
                "title": action,
                "required": ["action", "ids", *members[action]],
                "properties": {
                    "action": {"type": "string", "enum": [action]},
                    "ids": ids,
                    **members[action],
                },
                "additionalProperties": False,
            }
            for action in actions
        ]
    }


RESULT_SCHEMA: Final = {
    "type": "object",
    "required": ["action", "done", "refused"],
    "properties": {
        "action": {"type": "string"},
        "done": {"type": "array", "items": {"type": "integer"}},
        "refused": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "code", "reasons"],
                "properties": {
                    "id": {"type": "integer"},
                    "code": {"type": "string", "enum": ["not-available", "refused"]},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
