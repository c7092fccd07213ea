"""When a timer fires: `after` the record entered its state, or `before` a date in the record.

`before: 24h, of: starts_at` counts back from a date or datetime field of the workflow's own
record ("your appointment is tomorrow"). A moment held by a related record (the slot's start)
is brought onto the record by a stored computed field (`compute: "record.slot.starts_at"`),
which is also what the record's transition guards can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ...problems import JsonPath
from .base import Ctx, suggest

#: Field types a timer may count back from.
MOMENT_TYPES: Final = frozenset({"date", "datetime"})


def timer_name(raw: Mapping[str, Any]) -> str:
    """A timer's default name: `<state>_<after>`, or `<state>_<before>_before_<of>`."""
    if "of" in raw:
        return f"{raw['state']}_{raw.get('before', '')}_before_{raw['of']}"
    return f"{raw['state']}_{raw.get('after', '')}"


def check_moment(ctx: Ctx, entity: str, spec: Mapping[str, Any], path: JsonPath) -> None:
    """Exactly one of `after` and `before`/`of`; `of` a date or datetime field of `entity`."""
    if ("after" in spec) == ("before" in spec):
        ctx.add(
            "timer-moment",
            "a timer fires after: a stay in the state, or before: a date of the record",
            path,
            "give after: 48h, or before: 24h with of: <date or datetime field>",
        )
    of = spec.get("of")
    if of is None:
        return
    fields = ctx.fields_of(entity)
    moments = sorted(n for n, f in fields.items() if f.get("type") in MOMENT_TYPES)
    spec_of = fields.get(of)
    if spec_of is None:
        ctx.add("ref-unknown-field", f"unknown field {of!r} of {entity}", (*path, "of"),
                suggest(of, moments))  # fmt: skip
    elif spec_of.get("type") not in MOMENT_TYPES:
        ctx.add(
            "timer-moment",
            f"{entity}.{of} is a {spec_of.get('type')} field, not a date or datetime",
            (*path, "of"),
            suggest(of, moments)
            if moments
            else "copy the moment onto the record: {type: datetime, compute: record.<ref>.<field>}",
        )
