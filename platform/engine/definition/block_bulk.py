"""`bulk:` of a list block: actions on the rows a reader selects.

```yaml
- list:
    entity: ticket
    columns: [subject, status]
    bulk:
      - transition: close
      - {set: {assignee: $actor.id}, label: {en: Assign to me}}
      - export
      - delete
```

The schema of the option and the compile step to `BulkAction`s; the checks a schema cannot
state (the transition exists, the fields may be set to the values, someone may delete) live in
`semantics.bulk`.
"""

from __future__ import annotations

from typing import Any

from .block_configs import BulkAction
from .values import Label

#: Most rows one bulk request may name (a list page shows at most 200).
MAX_BULK_IDS = 500
#: Values of `set:` that stand for the acting user and their account.
ACTOR_VALUES = {"$actor.id": "user", "$actor.account": "account"}

_ACTION: dict[str, Any] = {
    "oneOf": [
        {
            "type": "string",
            "enum": ["export", "delete"],
            "description": "`export`: the selected rows as a CSV file (the columns the reader "
            "may read); `delete`: delete them (only rows the reader may delete).",
        },
        {
            "type": "object",
            "properties": {
                "transition": {
                    "$ref": "#/$defs/name",
                    "description": "A transition of the entity's workflow, taken on every "
                    "selected row where it is available to the reader.",
                },
                "set": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"$ref": "#/$defs/name"},
                    "description": "Fields and the values they are set to; `$actor.id` is "
                    "the acting user, `$actor.account` their account.",
                },
                "label": {
                    "$ref": "#/$defs/label",
                    "description": "The action's name in the menu (default: the transition's "
                    "label, or 'Set <field>').",
                },
            },
            "oneOf": [{"required": ["transition"]}, {"required": ["set"]}],
            "additionalProperties": False,
        },
    ],
}

#: `bulk:` of `- list: …`
BULK: dict[str, Any] = {
    "type": "array",
    "items": _ACTION,
    "minItems": 1,
    "maxItems": 20,
    "description": "Actions on the rows the reader selects (a checkbox per row, 'all on this "
    "page', and an action bar; works without JavaScript). Every row is checked and written on "
    "its own: rows the reader may not act on are reported and left untouched.",
}


def compile_bulk(items: list[Any]) -> tuple[BulkAction, ...]:
    """The runtime's `BulkAction`s."""
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(BulkAction(kind="export" if item == "export" else "delete"))
            continue
        label = Label.of(item["label"]) if "label" in item else None
        if "transition" in item:
            out.append(BulkAction("transition", transition=item["transition"], label=label))
        else:
            out.append(BulkAction("set", values=tuple(item["set"].items()), label=label))
    return tuple(out)
