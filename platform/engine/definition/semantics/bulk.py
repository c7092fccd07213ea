"""Semantic checks of `bulk:` on list blocks: a transition must belong to the entity's
workflows, `set:` must name stored fields people may type in with values they can hold, and
`delete` needs a grant that lets someone delete the entity. Twice the same action is refused:
the menu would show it twice."""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath
from ..block_bulk import ACTOR_VALUES
from ..model import SYSTEM_COLUMNS
from .base import Ctx, suggest
from .derived import is_derived, literal_problem


def check_bulk(ctx: Ctx) -> None:
    """Every list block's `bulk:`."""
    for page, pspec in (ctx.data.get("pages") or {}).items():
        for i, block in enumerate(pspec.get("blocks") or []):
            options = block.get("list") if isinstance(block, dict) else None
            if not isinstance(options, dict) or not isinstance(options.get("bulk"), list):
                continue
            entity = options.get("entity")
            if not isinstance(entity, str) or entity not in ctx.entities:
                continue  # the list's own check reports it
            path: JsonPath = ("pages", page, "blocks", i, "list", "bulk")
            seen: dict[str, int] = {}
            for j, item in enumerate(options["bulk"]):
                key = _check_item(ctx, entity, item, (*path, j))
                if key in seen:
                    ctx.add(
                        "bulk-action",
                        f"this bulk action repeats entry {seen[key] + 1}",
                        (*path, j),
                        "list each action once",
                    )
                seen.setdefault(key, j)


def _check_item(ctx: Ctx, entity: str, item: Any, path: JsonPath) -> str:
    """Check one entry; its identity (for the repeat check)."""
    if item == "delete":
        if not _grants(ctx, entity, "delete"):
            ctx.add(
                "bulk-action",
                f"no role may delete a {entity}, so bulk delete would refuse every row",
                path,
                f"grant actions: [delete] on {entity}, or drop delete",
            )
        return "delete"
    if not isinstance(item, dict):
        return str(item)
    if "transition" in item:
        name = str(item["transition"])
        names = _transitions(ctx, entity)
        if name not in names:
            ctx.add(
                "bulk-action",
                f"{entity} has no workflow transition {name!r}",
                (*path, "transition"),
                suggest(name, names) or f"add a workflow on {entity} with this transition",
            )
        return f"transition:{name}"
    values = item.get("set") or {}
    fields = ctx.fields_of(entity)
    for fname, value in values.items():
        fpath: JsonPath = (*path, "set", fname)
        spec = fields.get(fname)
        if not isinstance(spec, dict) or fname in SYSTEM_COLUMNS:
            ctx.add(
                "bulk-action",
                f"{entity} has no field {fname!r} to set",
                fpath,
                suggest(fname, fields),
                key=True,
            )
        elif is_derived(spec) or spec.get("readonly") or spec.get("type") == "file":
            ctx.add(
                "bulk-action",
                f"{entity}.{fname} is computed, read-only or a file and cannot be set",
                fpath,
                key=True,
            )
        elif fname in _state_fields(ctx, entity):
            ctx.add(
                "bulk-action",
                f"{entity}.{fname} is a workflow state and changes by transitions only",
                fpath,
                "offer the transition instead: - transition: <name>",
                key=True,
            )
        elif isinstance(value, str) and value.startswith("$actor"):
            wanted = ACTOR_VALUES.get(value)
            if wanted is None or spec.get("type") != "ref" or spec.get("to") != wanted:
                ctx.add(
                    "bulk-action",
                    f"{value!r} cannot be the value of {entity}.{fname}",
                    fpath,
                    "use $actor.id for a ref to user, $actor.account for a ref to account",
                )
        else:
            why = literal_problem(ctx, fname, spec, value)
            if why is not None:
                ctx.add("bulk-action", f"{entity}.{fname}: {why}", fpath)
    return "set:" + ",".join(sorted(map(str, values)))


def _state_fields(ctx: Ctx, entity: str) -> set[str]:
    """The state fields of the workflows on `entity`."""
    return {
        str(spec.get("field"))
        for spec in (ctx.data.get("workflows") or {}).values()
        if isinstance(spec, dict) and spec.get("entity") == entity
    }


def _transitions(ctx: Ctx, entity: str) -> list[str]:
    """Names of the transitions of the workflows on `entity`."""
    names: list[str] = []
    for spec in (ctx.data.get("workflows") or {}).values():
        if isinstance(spec, dict) and spec.get("entity") == entity:
            for tr in spec.get("transitions") or []:
                if isinstance(tr, dict) and isinstance(tr.get("name"), str):
                    names.append(tr["name"])
    return names


def _grants(ctx: Ctx, entity: str, action: str) -> bool:
    """True when some grant of `entity` includes `action`."""
    grants = (ctx.entities.get(entity) or {}).get("permissions") or []
    return any(isinstance(g, dict) and action in (g.get("actions") or []) for g in grants)
