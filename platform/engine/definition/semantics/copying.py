"""Semantic checks of `copy:` on entities (copying a record with its children) and of the
detail blocks that offer the copy button.

A copy is made by the user through the record store, so the checks here only refuse what can
never work: children that do not point to the entity, reset fields that do not exist, a
required field reset without a default, a unique field copied as it is (the copy would always
be refused), and a `copy` button on an entity that declares no `copy:`.
"""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath
from .base import Ctx, suggest
from .derived import is_derived


def ref_fields_to(ctx: Ctx, child: str, parent: str) -> list[str]:
    """The ref fields of `child` that point to `parent`, in declaration order."""
    return [
        name
        for name, spec in ctx.fields_of(child).items()
        if isinstance(spec, dict) and spec.get("type") == "ref" and spec.get("to") == parent
    ]


def child_ref(ctx: Ctx, parent: str, item: str) -> tuple[str, str | None]:
    """`order_line` or `order_line.order` → (child entity, its ref field to `parent`); the
    field is None when there is no such single field (the checks report why)."""
    child, _, via = item.partition(".")
    refs = ref_fields_to(ctx, child, parent)
    if via:
        return child, via if via in refs else None
    return child, refs[0] if len(refs) == 1 else None


def check_copies(ctx: Ctx) -> None:
    """Every entity's `copy:`, then the detail blocks that offer `copy`."""
    for name, spec in ctx.entities.items():
        if isinstance(spec, dict) and isinstance(spec.get("copy"), dict):
            _check_copy(ctx, name, spec["copy"])
    for page, pspec in (ctx.data.get("pages") or {}).items():
        for i, block in enumerate(pspec.get("blocks") or []):
            detail = block.get("detail") if isinstance(block, dict) else None
            if not isinstance(detail, dict) or "copy" not in (detail.get("actions") or []):
                continue
            entity = detail.get("entity")
            raw = ctx.entities.get(entity) if isinstance(entity, str) else None
            if isinstance(raw, dict) and "copy" not in raw:
                where: JsonPath = ("pages", page, "blocks", i, "detail", "actions")
                ctx.add(
                    "copy-undeclared",
                    f"{entity} declares no copy:, so there is no copy button to show",
                    (*where, list(detail["actions"]).index("copy")),
                    f"add copy: {{label: ..., children: [...]}} to entity {entity}",
                )


def _check_copy(ctx: Ctx, entity: str, spec: dict[str, Any]) -> None:
    base: JsonPath = ("entities", entity, "copy")
    children: dict[str, str] = {}
    for j, item in enumerate(spec.get("children") or []):
        path: JsonPath = (*base, "children", j)
        child, via = child_ref(ctx, entity, str(item))
        if child not in ctx.entities:
            ctx.add("ref-unknown-entity", f"unknown entity {child!r}", path,
                    suggest(child, ctx.entities))  # fmt: skip
            continue
        refs = ref_fields_to(ctx, child, entity)
        if via is None:
            if not refs:
                ctx.add("copy-child", f"{child} has no ref field to {entity}", path,
                        f"a child points to its parent: add {{type: ref, to: {entity}}} to {child}")  # fmt: skip
            elif "." in str(item):
                ctx.add("copy-child", f"{item!r} is not a ref field of {child} to {entity}", path,
                        suggest(str(item).partition(".")[2], refs))  # fmt: skip
            else:
                ctx.add("copy-child", f"{child} has several ref fields to {entity}", path,
                        "name the one to follow: " + ", ".join(f"{child}.{r}" for r in refs))  # fmt: skip
            continue
        if child == entity:
            ctx.add("copy-child", f"{entity} cannot be copied as its own child", path,
                    "copy children of another entity")  # fmt: skip
            continue
        children[child] = via
    resets: dict[str, set[str]] = {}
    for j, item in enumerate(spec.get("reset") or []):
        path = (*base, "reset", j)
        owner, _, fname = str(item).rpartition(".")
        owner = owner or entity
        if owner != entity and owner not in children:
            ctx.add("copy-reset", f"{owner!r} is not a child copied with {entity}", path,
                    "reset the entity's own fields by name, a child's as <child>.<field>")  # fmt: skip
            continue
        fields = ctx.fields_of(owner)
        if fname not in fields:
            ctx.add("ref-unknown-field", f"{owner} has no field {fname!r}", path,
                    suggest(fname, fields))  # fmt: skip
            continue
        fspec = fields[fname]
        if fspec.get("required") is True and fspec.get("default") is None and not is_derived(fspec):
            ctx.add("copy-reset-required", f"{owner}.{fname} is required and has no default: "
                    "every copy would be refused", path,
                    "give the field a default:, or copy its value")  # fmt: skip
        resets.setdefault(owner, set()).add(fname)
    for owner in [entity, *children]:
        for fname, fspec in ctx.fields_of(owner).items():
            if (
                isinstance(fspec, dict)
                and fspec.get("unique") is True
                and fname not in resets.get(owner, set())
                and fspec.get("type") != "file"
                and not is_derived(fspec)
            ):
                ctx.add("copy-unique", f"{owner}.{fname} is unique: a copy of its value is "
                        "always refused", base,
                        f"add {fname if owner == entity else owner + '.' + fname} to reset:",
                        key=True)  # fmt: skip
