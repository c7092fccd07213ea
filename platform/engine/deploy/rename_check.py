"""`renamed_from:` of choice options checked against the live version, when planning.

A rename that no record needs is no step (see `value_renames`): that is what keeps an old
`renamed_from` harmless once deployed. It would also hide a typo — `renamed_from: opne`
would move nothing and leave every `open` record behind with a value no option offers. So a
rename with nothing to move must be explainable by the live version: its field offered the old
value (the records moved away since) or already offers the new one (deployed before).
Otherwise it is a problem at the `renamed_from:` line. Without a live version, or when the
live version has no such field, there is nothing to check against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..definition.bundle import Bundle
from ..definition.fieldtypes import parse_choices
from ..definition.loader import RawPortal, load
from ..portal import CompiledPortal
from ..problems import Problem
from .schema_ops import RENAME_VALUE, Plan


def unknown_renames(
    raw: RawPortal, compiled: CompiledPortal, plan: Plan, live: Bundle | None
) -> list[Problem]:
    """Problems for the renames of `plan.values` that move nothing and that the live
    version (`live`, its bundle) cannot explain."""
    moving = {(op.table, op.column, op.previous) for op in plan.ops if op.kind == RENAME_VALUE}
    idle = [v for v in plan.values if (v.table, v.column, v.old) not in moving]
    if not idle or live is None:
        return []
    live_entities = load(live)[0].data.get("entities") or {}
    problems = []
    for spec in idle:
        field = compiled.model.entities[spec.entity].fields[spec.field]
        offered = _live_values(live_entities, spec.entity, (spec.field, field.renamed_from))
        if offered is None or spec.old in offered or spec.new in offered:
            continue
        options = _options(raw.data, spec.entity, spec.field)
        index = next(
            (i for i, o in enumerate(options) if isinstance(o, Mapping)
             and o.get("value") == spec.new),
            0,
        )  # fmt: skip
        path = ("entities", spec.entity, "fields", spec.field, "options", index, "renamed_from")
        problems.append(
            raw.source.problem(
                "option-rename-unknown",
                f"renamed_from {spec.old!r}: the live {spec.entity}.{spec.field} offers no "
                f"{spec.old!r} and no record holds it",
                path,
                "give the value exactly as the live version has it: " + ", ".join(sorted(offered)),
            )
        )
    return problems


def _options(data: Mapping[str, Any], entity: str, field: str) -> list[Any]:
    spec = ((data.get("entities") or {}).get(entity) or {}).get("fields", {}).get(field) or {}
    options = spec.get("options") if isinstance(spec, Mapping) else None
    return list(options) if isinstance(options, list) else []


def _live_values(
    entities: Mapping[str, Any], entity: str, names: tuple[str, str | None]
) -> set[str] | None:
    """The option values of the live field (found under its new or old name), or None."""
    for name in names:
        if name is None:
            continue
        options = _options({"entities": entities}, entity, name)
        if options:
            return {c.value for c in parse_choices(options)}
    return None
