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
that is not a JSON object (400/415), a field the actor may not write or a system column in
`values` (422, nothing done), an unknown transition (404), no grant for the action (403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from flask import Response, g

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.block_configs import BulkAction
from portalis.engine.definition.model import Entity

from ..bulk_run import MAX_IDS, BulkResult, not_available, parse_ids, run
from ..problem import ApiProblem, not_found
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
    kind = body.get("action")
    if kind not in ACTIONS:
        raise ApiProblem(400, "bad-request", "action must be update, transition or delete")
    raw_ids = body.get("ids")
    if (
        not isinstance(raw_ids, list)
        or not raw_ids
        or len(raw_ids) > MAX_IDS
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw_ids)
    ):
        raise ApiProblem(400, "bad-request", f"ids must be a list of 1 to {MAX_IDS} integers")
    if not portal.compiled.policy.grants_for(actor, target.name, ACTIONS[kind]):
        raise ApiProblem(403, "forbidden", f"you may not {ACTIONS[kind]} {target.name} records")
    action = _action(portal, actor, target, kind, body)
    locale = str(g.get("locale") or portal.compiled.model.default_locale)
    result = run(portal.store, actor, target, action, parse_ids(raw_ids), locale, name=kind)
    return json_response(result_json(result))


def _action(
    portal: RuntimePortal, actor: Actor, entity: Entity, kind: str, body: dict[str, Any]
) -> BulkAction:
    if kind == "delete":
        return BulkAction("delete")
    if kind == "transition":
        name = body.get("name")
        if not isinstance(name, str) or name not in transition_names(portal, entity):
            raise not_found()
        return BulkAction("transition", transition=name)
    values = body.get("values")
    if not isinstance(values, dict) or not values:
        raise ApiProblem(400, "bad-request", "values must be an object of fields to set")
    loaded = writable_values(portal, actor, entity, "update", values)
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
