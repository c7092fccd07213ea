"""`POST /api/v1/<entity>/bulk`: one change on many records, each checked and written on its own.

```json
{"action": "update", "ids": [12, 13], "values": {"priority": "high"}}
{"action": "transition", "name": "close", "ids": [12, 13]}
{"action": "delete", "ids": [12, 13]}
```

The answer is 200 with `done` (ids) and `refused` (`{id, code, reasons}`): `not-available` for
a record the actor cannot see or may not change (the same for both, so another account's ids
reveal nothing), `refused` with the transition's reason or the field errors otherwise. What is
wrong with the request itself answers as the other writes do: the CSRF header (403), a body
that is not a JSON object (400/415), no grant for the action (403); a body of the wrong
shape — an unknown `action`, `ids` that are not 1 to `MAX_IDS` positive integers, a `name`
that is no transition of the entity, empty `values`, a member the action does not take, a
field the actor may not write or a system column in `values` — answers 422 with `errors` per
member, and nothing is done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from flask import Response, g

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.block_configs import BulkAction
from portalis.engine.definition.fieldtypes.refs import ID_MAX
from portalis.engine.definition.model import Entity

from ..bulk_run import MAX_IDS, BulkResult, not_available, parse_ids, run
from ..problem import ApiProblem
from .bulk_paths import ACTIONS
from .records import json_response, readable_entity
from .views import api_view, transition_names
from .writes import request_json, require_csrf, writable_values

if TYPE_CHECKING:
    from ..registry import RuntimePortal


@api_view
def bulk_api_view(portal: RuntimePortal, actor: Actor, entity: str) -> Response:
    """Apply the body's action to each of its `ids`."""
    target = readable_entity(portal, actor, entity)
    require_csrf()
    body = request_json()
    kind, ids = read_shape(body, transition_names(portal, target))
    if not portal.compiled.policy.grants_for(actor, target.name, ACTIONS[kind]):
        raise ApiProblem(403, "forbidden", f"you may not {ACTIONS[kind]} {target.name} records")
    action = _action(portal, actor, target, kind, body)
    locale = str(g.get("locale") or portal.compiled.model.default_locale)
    result = run(portal.store, actor, target, action, ids, locale, name=kind)
    return json_response(result_json(result))


def read_shape(body: dict[str, Any], transitions: set[str]) -> tuple[str, list[int]]:
    """The body's action and ids when every member has the shape its action needs, else 422
    with a message per wrong member (all of them at once, as a form shows them)."""
    problems: dict[str, tuple[str, str]] = {}
    kind = body.get("action")
    if not isinstance(kind, str) or kind not in ACTIONS:
        problems["action"] = ("invalid-choice", "must be update, transition or delete")
    ids = _ids(body.get("ids"))
    if ids is None:
        problems["ids"] = ("invalid", f"must be a list of 1 to {MAX_IDS} ids (integers ≥ 1)")
    if kind == "transition":
        name = body.get("name")
        if not isinstance(name, str) or name not in transitions:
            problems["name"] = ("invalid-choice", "must be a transition of the entity")
    if kind == "update":
        values = body.get("values")
        if not isinstance(values, dict) or not values:
            problems["values"] = ("invalid", "must be an object of the fields to set")
    taken = _MEMBERS.get(kind, frozenset()) if isinstance(kind, str) else frozenset()
    for member in body.keys() - taken - {"action", "ids"}:
        problems[str(member)] = ("unknown", f"is not a member of a bulk {kind} request")
    if problems or ids is None or not isinstance(kind, str):
        errors = {k: [{"code": c, "message": m}] for k, (c, m) in sorted(problems.items())}
        raise ApiProblem(422, "invalid", "the input was refused", errors=errors)
    return kind, ids


#: Members besides `action` and `ids` that each action takes.
_MEMBERS: Final = {
    "update": frozenset({"values"}),
    "transition": frozenset({"name"}),
    "delete": frozenset[str](),
}


def _ids(raw: Any) -> list[int] | None:
    """1 to `MAX_IDS` ids, each a JSON integer ≥ 1 (`3.0` is the integer 3, as everywhere in
    the API), in the order given without repeats; None when `raw` is not that."""
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_IDS:
        return None
    out: list[int] = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if isinstance(value, float) and not value.is_integer():
            return None
        if not 1 <= value <= ID_MAX:
            return None
        out.append(int(value))
    return parse_ids(out)


def _action(
    portal: RuntimePortal, actor: Actor, entity: Entity, kind: str, body: dict[str, Any]
) -> BulkAction:
    if kind == "delete":
        return BulkAction("delete")
    if kind == "transition":
        return BulkAction("transition", transition=str(body["name"]))
    loaded = writable_values(portal, actor, entity, "update", body["values"])
    return BulkAction("set", values=tuple(loaded.items()))


def result_json(result: BulkResult) -> dict[str, Any]:
    """`{action, done: [ids], refused: [{id, code, reasons}]}`."""
    gone = not_available()
    return {
        "action": result.action,
        "done": [r.id for r in result.done],
        "refused": [
            {
                "id": r.id,
                "code": "not-available" if r.reasons == (gone,) else "refused",
                "reasons": list(r.reasons),
            }
            for r in result.refused
        ],
    }


VIEWS: Final = {"api:bulk": bulk_api_view}
