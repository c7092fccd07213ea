"""The OpenAPI description of `POST /api/v1/<entity>/bulk` (see `api.bulk`)."""

from __future__ import annotations

from typing import Any, Final

from portalis.engine.definition.block_bulk import MAX_BULK_IDS as MAX_IDS
from portalis.engine.definition.model import Entity

from .inputs import JSON_MIMETYPE

#: `action` of the body → the grant it needs.
ACTIONS: Final = {"update": "update", "transition": "transition", "delete": "delete"}


def bulk_paths(entity: Entity, actor_actions: frozenset[str], locale: str) -> dict[str, Any]:
    """`/<entity>/bulk` (POST) when the actor may update, transition or delete some rows."""
    offered = sorted(a for a, grant in ACTIONS.items() if grant in actor_actions)
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
                    "content": {JSON_MIMETYPE: {"schema": _request_schema(offered)}},
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


def _request_schema(actions: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["action", "ids"],
        "properties": {
            "action": {"type": "string", "enum": actions},
            "ids": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "minItems": 1,
                "maxItems": MAX_IDS,
            },
            "name": {"type": "string", "description": "The transition (action: transition)."},
            "values": {
                "type": "object",
                "description": "Fields to set (action: update), as in a PATCH body.",
            },
        },
        "additionalProperties": False,
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
