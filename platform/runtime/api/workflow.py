"""The workflow part of the REST API: transition lists and transition requests as JSON.

The endpoints are in `views` and `writes`; this module holds what they say and accept.
"""

from __future__ import annotations

from typing import Any, Final

from flask import g

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.model import Entity
from portalis.engine.definition.values import Label
from portalis.engine.flow.workflow import MAX_COMMENT_LENGTH, Availability, Progress
from portalis.engine.flow.workflow_rules import REASON_CODES

from ..problem import ApiProblem
from .fields import BLANK, ApiField, refusing
from .schemas import MAX_VERSION, ApiSchemas

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
        "label": _label(tr.label, tr.name),
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


def _label(value: Label | None, fallback: str) -> str:
    """A definition label in the request's locale (the portal's default, else the name)."""
    if value is None:
        return fallback
    portal = g.get("portal")
    default = portal.compiled.model.default_locale if portal is not None else "en"
    return value.get(str(g.get("locale") or "en"), default) or fallback


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

#: The `comment` of a transition request by the transition's comment mode.
_COMMENTS: Final[dict[str, dict[str, Any]]] = {
    "required": refusing(
        {
            "type": "string",
            "maxLength": MAX_COMMENT_LENGTH,
            "description": "kept in the record's history (this transition needs one)",
        },
        BLANK,
    ),
    "optional": {
        "type": ["string", "null"],
        "maxLength": MAX_COMMENT_LENGTH,
        "description": "kept in the record's history",
    },
    "none": {"type": "null", "description": "this transition takes no comment"},
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
    schemas: ApiSchemas, actor: Actor, entity: Entity
) -> dict[str, dict[str, Any]]:
    """`<entity>.transition.<name>` (the request of each transition: a comment when its mode
    is `required`, none when it is `none`; `values` with the fields it requires, drawn by
    their marshmallow fields) and `<entity>.transition_result`."""
    declared = {
        name: field
        for name, field in schemas[entity.name].update._declared_fields.items()
        if isinstance(field, ApiField)
    }
    out: dict[str, dict[str, Any]] = {}
    for wf in schemas.model.workflow_for(entity.name):
        for tr in wf.transitions.values():
            needed = [n for n in tr.require if n in declared]
            values: dict[str, Any] = {
                "type": "object",
                "description": "the transition's required fields",
                "properties": {n: declared[n].value_schema(required_value=True) for n in needed},
                "additionalProperties": False,
            }
            body: dict[str, Any] = {
                "type": "object",
                "properties": {
                    "version": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_VERSION,
                        "description": "the version you saw (or send If-Match); stale → 409",
                    },
                    "comment": _COMMENTS[tr.comment],
                    "values": values,
                },
                "additionalProperties": False,
            }
            required = (["comment"] if tr.comment == "required" else []) + (
                ["values"] if needed else []
            )
            if needed:
                values["required"] = needed
            if required:
                body["required"] = required
            out[f"{entity.name}.transition.{tr.name}"] = body
    return {
        **out,
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
