"""OpenAPI paths and schemas of online payments (`/<entity>/{id}/pay`, `…/payments`,
`…/payments/{payment}/refunds`), for entities with `payable:` the actor may read: the list to
every reader, starting a payment with `pay` grants, refunds with `refund` grants.

Request bodies are exact per entity: `provider` is one of the entity's providers, `amount` a
positive decimal text with at most the places of the amount field's currency. Whether an
amount is at most what is open (or left to refund), a part at all or above the minimum
depends on the record; the service answers those with 422 `amount`, which the descriptions
say.
"""

from __future__ import annotations

from typing import Any, Final, get_args

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.fieldtypes.money import currency_places
from portalis.engine.definition.model import Entity
from portalis.engine.payments.records import RefundStatus, Status

from ..problem import PROBLEM_MIMETYPE
from .fields import DECIMAL_TEXT, TEXT_REFUSED, refusing
from .inputs import JSON_MIMETYPE as JSON
from .payment_json import INTEGER_DIGITS, MAX_REASON
from .schemas import ApiSchemas

_PROBLEMS: Final = {
    "400": "BadRequest",
    "401": "Unauthenticated",
    "403": "Forbidden",
    "404": "NotFound",
    "409": "Conflict",
    "413": "TooLarge",
    "415": "UnsupportedMediaType",
    "422": "Unprocessable",
}
_GATEWAY: Final = {
    "502": "the payment provider refused or could not be reached (`retryable` says whether "
    "trying again may help); staff read its message",
    "503": "online payment is not available (the provider's plugin is not loaded)",
}
_MONEY: Final = {"type": "string", "format": "decimal", "pattern": DECIMAL_TEXT}
_STAFF_TEXT: Final = {"type": ["string", "null"], "description": "staff only (else null)"}
_WHEN: Final = {"type": "string", "format": "date-time"}
_REFUND_PROPERTIES: Final[dict[str, Any]] = {
    "id": {"type": "string", "description": "opaque refund id"},
    "amount": _MONEY,
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "status": {"type": "string", "enum": list(get_args(RefundStatus))},
    "reason": _STAFF_TEXT,
    "reference": {**_STAFF_TEXT, "description": "the provider's refund id; staff only"},
    "created_by": {"type": ["integer", "null"], "description": "staff only (else null)"},
    "created_at": _WHEN,
}
_PAYMENT_PROPERTIES: Final[dict[str, Any]] = {
    "id": {"type": "string", "description": "opaque payment id"},
    "status": {"type": "string", "enum": list(get_args(Status))},
    "amount": _MONEY,
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "refunded": {**_MONEY, "description": "the sum of its succeeded refunds"},
    "provider": {"type": "string", "description": "the payment provider's name"},
    "method": {"type": ["string", "null"], "description": "how it was paid (card, …)"},
    "reference": {**_STAFF_TEXT, "description": "the provider's checkout id; staff only"},
    "transaction": {**_STAFF_TEXT, "description": "the provider's payment id; staff only"},
    "reason": {**_STAFF_TEXT, "description": "why it failed, in the provider's words; staff only"},
    "flag": {**_STAFF_TEXT, "description": "why it is flagged; staff only"},
    "created_by": {"type": ["integer", "null"], "description": "id of the payer"},
    "created_at": _WHEN,
    "updated_at": _WHEN,
    "refunds": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/PaymentRefund"},
        "description": "oldest first",
    },
}
_STARTED_PROPERTIES: Final[dict[str, Any]] = {
    **_PAYMENT_PROPERTIES,
    "redirect_url": {"type": "string", "description": "the provider's checkout: send the payer"},
    "expires_at": {**_WHEN, "type": ["string", "null"], "description": "until when it works"},
}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


#: Component schemas shared by every payable entity.
PAYMENT_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "PaymentRefund": _object(_REFUND_PROPERTIES),
    "Payment": _object(_PAYMENT_PROPERTIES),
    "StartedPayment": _object(_STARTED_PROPERTIES),
    "PaymentList": _object(
        {
            "items": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Payment"},
                "description": "newest first",
            }
        }
    ),  # fmt: skip
}


def amount_pattern(places: int) -> str:
    """Positive decimal texts without sign or leading zeros, with at most `places` decimals
    and `INTEGER_DIGITS` digits before the point (what `payment_json.AMOUNT_SYNTAX` reads and
    the currency allows)."""
    whole = f"[1-9][0-9]{{0,{INTEGER_DIGITS - 1}}}"
    if places == 0:
        return f"^{whole}$"
    # below 1: some digit of the (at most `places`) decimals is not zero
    fractions = "|".join(
        "0" * zeros + "[1-9]" + (f"[0-9]{{0,{places - 1 - zeros}}}" if zeros < places - 1 else "")
        for zeros in range(places)
    )
    return f"^({whole}(\\.[0-9]{{1,{places}}})?|0\\.({fractions}))$"


def _amount_places(entity: Entity) -> int:
    """The decimal places of the amount field's currencies (the fewest of several; none when
    each record names its own)."""
    assert entity.payable is not None
    config = entity.fields[entity.payable.amount].config
    allowed = tuple(getattr(config, "allowed", ()))
    return min((currency_places(c) for c in allowed), default=0)


def _amount_schema(entity: Entity, description: str) -> dict[str, Any]:
    return {
        "type": ["string", "null"],
        "format": "decimal",
        "pattern": amount_pattern(_amount_places(entity)),
        "description": description,
    }


def payment_schemas(schemas: ApiSchemas, actor: Actor, entity: Entity) -> dict[str, dict[str, Any]]:
    """`<entity>.pay` and `<entity>.refund`: the request bodies the actor may send."""
    spec = entity.payable
    if spec is None:
        return {}
    policy = schemas.store.policy
    out: dict[str, dict[str, Any]] = {}
    if policy.grants_for(actor, entity.name, "pay"):
        minimum = f", at least {spec.minimum} unless that is all" if spec.minimum else ""
        part = f"any part of it{minimum}" if spec.partial else "only all of it"
        out[f"{entity.name}.pay"] = {
            "type": "object",
            "properties": {
                "amount": _amount_schema(entity, f"default: all that is open; {part} (else 422)"),
                "provider": {
                    "type": ["string", "null"],
                    "enum": [*spec.providers, None],
                    "description": f"default: {spec.providers[0]}",
                },
            },
            "additionalProperties": False,
        }
    if policy.grants_for(actor, entity.name, "refund"):
        reason = refusing({"type": "string", "maxLength": MAX_REASON}, TEXT_REFUSED)
        out[f"{entity.name}.refund"] = {
            "type": "object",
            "properties": {
                "amount": _amount_schema(
                    entity, "default: all that is left; at most that (else 422)"
                ),
                "reason": {"anyOf": [reason, {"type": "null"}], "description": "kept with it"},
            },
            "additionalProperties": False,
        }
    return out


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {
        s: _PROBLEMS.get(s)
        or {"description": _GATEWAY[s], "content": {PROBLEM_MIMETYPE: {"schema": "Problem"}}}
        for s in statuses
    }


def payment_paths(
    schemas: ApiSchemas, actor: Actor, entity: Entity, locale: str
) -> dict[str, dict[str, Any]]:
    """The payment paths of `entity` for `actor` (none unless it is payable)."""
    if entity.payable is None:
        return {}
    name = entity.name
    label = entity.label.get(locale, locale)
    policy = schemas.store.policy
    read: list[dict[str, list[str]]] = [{"session": []}] if actor.is_authenticated else [{}]
    write: list[dict[str, list[str]]] = [{"session": [], "csrf": []}]
    writes = _errors("400", "401", "403", "404", "409", "413", "415", "422", "502", "503")
    paths: dict[str, dict[str, Any]] = {
        f"/{name}/{{id}}/payments": {
            "parameters": ["id"],
            "get": {
                "operationId": f"list_{name}_payments",
                "summary": f"Online payments of a {label}, newest first, with their refunds",
                "tags": [name], "security": read,
                "responses": {"200": _json("The payments", "PaymentList"),
                              **_errors("401", "404")},
            },
        },
    }  # fmt: skip
    if policy.grants_for(actor, name, "pay"):
        started = _json("The payment: send the payer to `redirect_url`", "StartedPayment")
        started["headers"] = {
            "Location": {
                "description": "the portal's page of the payment (it shows its status)",
                "schema": {"type": "string"},
            }
        }
        paths[f"/{name}/{{id}}/pay"] = {
            "parameters": ["id"],
            "post": {
                "operationId": f"pay_{name}",
                "summary": f"Pay a {label} online",
                "description": "Starts a payment at the provider's hosted checkout. 409 "
                "`nothing-to-pay` when nothing is open. The payment is paid when the "
                "provider says so, never because the payer came back.",
                "tags": [name],
                "security": write,
                "parameters": ["IdempotencyKey"],
                "requestBody": {"required": True, "content": {JSON: {"schema": f"{name}.pay"}}},
                "responses": {"201": started, **writes},
            },
        }
    if policy.grants_for(actor, name, "refund"):
        payment = {"name": "payment", "in": "path", "required": True,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 40}}  # fmt: skip
        paths[f"/{name}/{{id}}/payments/{{payment}}/refunds"] = {
            "parameters": ["id", payment],
            "post": {
                "operationId": f"refund_{name}_payment",
                "summary": f"Refund a payment of a {label}",
                "description": "Gives back all or part of a paid payment. 409 "
                "`refund-refused` when it is not paid or nothing is left.",
                "tags": [name],
                "security": write,
                "parameters": ["IdempotencyKey"],
                "requestBody": {"required": True,
                                "content": {JSON: {"schema": f"{name}.refund"}}},
                "responses": {"201": _json("The refund", "PaymentRefund"), **writes},
            },
        }  # fmt: skip
    return paths
