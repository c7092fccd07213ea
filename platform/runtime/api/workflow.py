"""The workflow part of the REST API: transition lists and transition requests as JSON.

The views live in `api` with the others; this module holds what they say and accept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from portalis.engine.model import Entity, Field
from portalis.engine.store import RecordStore
from portalis.engine.workflow import MAX_COMMENT_LENGTH, Availability, Progress
from portalis.engine.workflow_rules import REASON_CODES

from ..problem import ApiProblem
from ..templating import label

#: The members of a transition request body.
TRANSITION_MEMBERS: Final = frozenset({"version", "comment", "values"})


def transition_input(body: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The `comment` and `values` of a transition request (`version` was taken out by the
    caller); 422 for other members and values of the wrong type."""
    errors: dict[str, list[dict[str, str]]] = {
        key: [{"code": "unknown-field", "message": "not a member of a transition request"}]
        for key in body
        if key not in TRANSITION_MEMBERS
    }
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        errors["comment"] = [{"code": "type", "message": "must be a string or null"}]
    values = body.get("values")
    if values is None:
        values = {}
    elif not isinstance(values, dict):
        errors["values"] = [{"code": "type", "message": "must be an object"}]
        values = {}
    if errors:
        raise ApiProblem(422, "invalid", "the input was refused", errors=errors)
    return comment, values


def transition_json(item: Availability) -> dict[str, Any]:
    """One transition of `GET …/transitions`: what it does, whether the actor may take it
    now (`available`, `reason`, `code`, `details`), what it asks for, its approvals."""
    tr = item.transition
    out: dict[str, Any] = {
        "name": tr.name,
        "label": label(tr.label, tr.name),
        "workflow": item.workflow.name,
        "from": sorted(tr.sources),
        "to": tr.target,
        "available": item.allowed,
        "reason": item.reason,
        "code": item.code,
        "comment": tr.comment,
        "require": list(tr.require),
        "approvals": progress_json(item.progress),
    }
    details = reason_params(item)
    if details:
        out["details"] = details
    return out


def reason_params(item: Availability) -> dict[str, Any]:
    """The parameters of the reason (`condition`, `field`, `given`/`needed`, …)."""
    return {k: v for k, v in item.params.items() if v is not None}


def progress_json(progress: Progress | None) -> dict[str, Any] | None:
    """`{given, needed, approved_by_you}` for a quorum transition, else None."""
    if progress is None:
        return None
    return {"given": progress.given, "needed": progress.needed, "approved_by_you": progress.mine}


# -- OpenAPI ------------------------------------------------------------------------------
_APPROVALS: Final[dict[str, Any]] = {
    "type": ["object", "null"],
    "description": "progress of a transition that needs several approvals (else null)",
    "properties": {
        "given": {"type": "integer", "minimum": 0},
        "needed": {"type": "integer", "minimum": 1},
        "approved_by_you": {"type": "boolean"},
    },
    "required": ["given", "needed", "approved_by_you"],
}

#: Schemas shared by every entity with workflows.
TRANSITION_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "Transition": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "label": {"type": "string"},
            "workflow": {"type": "string"},
            "from": {"type": "array", "items": {"type": "string"}},
            "to": {"type": "string"},
            "available": {"type": "boolean", "description": "whether you may take it now"},
            "reason": {
                "type": "string",
                "description": "why not, in words (`needs role manager`, "
                "`when-condition false: …`); `available` when you may",
            },
            "code": {"type": "string", "enum": list(REASON_CODES)},
            "details": {
                "type": "object",
                "description": "parameters of the reason: condition, field, given, needed, …",
            },
            "comment": {"type": "string", "enum": ["required", "optional", "none"]},
            "require": {
                "type": "array",
                "items": {"type": "string"},
                "description": "fields that must be set (send them in `values`)",
            },
            "approvals": _APPROVALS,
        },
        "required": [
            "name",
            "label",
            "workflow",
            "from",
            "to",
            "available",
            "reason",
            "code",
            "comment",
            "require",
            "approvals",
        ],
    },  # fmt: skip
    "TransitionList": {
        "type": "object",
        "properties": {
            "record": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "version": {"type": "integer", "minimum": 1},
                    "states": {
                        "type": "object",
                        "description": "workflow → current state (readable state fields)",
                        "additionalProperties": {"type": ["string", "null"]},
                    },
                },
                "required": ["id", "version", "states"],
            },
            "transitions": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Transition"},
            },
        },
        "required": ["record", "transitions"],
    },
}


def transition_schemas(
    store: RecordStore,
    entity: Entity,
    locale: str,
    field_schema: Callable[..., dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """`<entity>.transition` (the request) and `<entity>.transition_result`; `values` may
    hold the fields the transitions require (`field_schema` draws each one)."""
    required = {
        name
        for wf in store.model.workflow_for(entity.name)
        for tr in wf.transitions.values()
        for name in tr.require
        if name in entity.fields
    }
    fields: dict[str, Field] = {n: f for n, f in entity.fields.items() if n in required}
    return {
        f"{entity.name}.transition": {
            "type": "object",
            "properties": {
                "version": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "the version you saw (or send If-Match); stale → 409",
                },
                "comment": {
                    "type": ["string", "null"],
                    "maxLength": MAX_COMMENT_LENGTH,
                    "description": "kept in the record's history; required by some "
                    "transitions, refused by those whose comment mode is `none`",
                },
                "values": {
                    "type": "object",
                    "description": "the transition's required fields",
                    "properties": {
                        n: field_schema(f, locale, nullable=True) for n, f in fields.items()
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
        f"{entity.name}.transition_result": {
            "type": "object",
            "properties": {
                "transition": {"type": "string"},
                "applied": {
                    "type": "boolean",
                    "description": "false when your approval was recorded and more are needed",
                },
                "approvals": _APPROVALS,
                "record": {
                    "anyOf": [{"$ref": f"#/components/schemas/{entity.name}"}, {"type": "null"}],
                    "description": "the record afterwards (null when you can no longer read it)",
                },
            },
            "required": ["transition", "applied", "approvals", "record"],
        },
    }
