"""`lines:` of a form block: the child records (order lines, invoice items) edited together
with the form's record, saved in one transaction.

```yaml
- form:
    entity: order
    fields: [reference, note]
    lines: {entity: order_line, via: order, fields: [product, quantity, unit_price],
            order_by: position, min: 1, max: 50,
            quick: {field: product, key: sku, quantity: quantity}}
```

The schema of the option, the checks a schema cannot state (the child's ref to the parent,
editable fields, the order field) and the compile step to `FormLines`.
"""

from __future__ import annotations

from typing import Any

from ..problems import JsonPath
from .block_configs import FormLines, QuickEntry
from .model import SYSTEM_COLUMNS
from .sections import SectionContext
from .values import Label

#: Rows one form may hold (the record store's page size: a form is read in one go).
MAX_LINES = 200

#: `lines:` of `- form: …`
LINES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": {"$ref": "#/$defs/name", "description": "The child entity (order_line)."},
        "via": {
            "$ref": "#/$defs/name",
            "description": "The child's ref field to the form's entity (order).",
        },
        "fields": {
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "description": "The child fields edited in each row (columns of the table).",
            "minItems": 1,
            "uniqueItems": True,
        },
        "order_by": {
            "$ref": "#/$defs/name",
            "description": "An int field of the child that holds the row order: rows are "
            "loaded in this order and moving a row up or down rewrites it (1, 2, 3 …).",
        },
        "min": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_LINES,
            "description": "Fewest rows the form may be saved with (default 0).",
        },
        "max": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_LINES,
            "description": f"Most rows (default 100, at most {MAX_LINES}).",
        },
        "title": {"$ref": "#/$defs/label", "description": "Caption of the rows' table."},
        "quick": {
            "type": "object",
            "properties": {
                "field": {
                    "$ref": "#/$defs/name",
                    "description": "The rows' ref field each typed line names a record of "
                    "(product).",
                },
                "key": {
                    "$ref": "#/$defs/name",
                    "description": "The target's field lines name records by (sku); default: "
                    "its title field.",
                },
                "quantity": {
                    "$ref": "#/$defs/name",
                    "description": "The rows' number field the line's second value goes to "
                    "(quantity; 1 when a line has none).",
                },
            },
            "required": ["field"],
            "additionalProperties": False,
            "description": "Quick entry: a text box where people type one row per line, "
            "`<key> <quantity>` (`W-100 5`, also separated by `;`, `,` or a tab); each line "
            "becomes a row, an unknown key is an error on its line.",
        },
    },
    "additionalProperties": False,
    "required": ["entity", "via", "fields"],
    "description": "Child records edited with the form's record (line items): a table of "
    "rows with add, remove and move up/down; parent and rows are saved in one transaction.",
}


def check_lines(ctx: SectionContext, parent: str, lines: dict[str, Any], path: JsonPath) -> None:
    """The child entity, its ref `via` to `parent`, its editable fields and order field."""
    child = str(lines.get("entity"))
    if not ctx.check_entity(child, (*path, "entity")):
        return
    fields = ctx.fields_of(child)
    via = str(lines.get("via"))
    spec = fields.get(via) or {}
    if spec.get("type") != "ref" or spec.get("to") != parent:
        refs = [n for n, f in fields.items() if f.get("type") == "ref" and f.get("to") == parent]
        ctx.problem(
            "block-option",
            f"lines need a ref field of {child} to {parent}; {via!r} is not one",
            (*path, "via"),
            ctx.suggest(via, refs) if refs else f"add a field {{type: ref, to: {parent}}}",
        )
    order_by = lines.get("order_by")
    for i, name in enumerate(lines.get("fields") or []):
        fpath: JsonPath = (*path, "fields", i)
        if name in SYSTEM_COLUMNS or name in (via, order_by):
            ctx.problem(
                "block-option",
                f"{name!r} is set by the form and cannot be a column of the rows",
                fpath,
                "list only fields people type in",
            )
        elif not ctx.check_field(child, name, fpath):
            continue
        elif _derived(fields[name]):
            ctx.problem(
                "block-option",
                f"{child}.{name} is computed and cannot be edited",
                fpath,
                "show it on the detail page instead",
            )
        elif fields[name].get("type") == "file":
            ctx.problem(
                "block-option",
                f"{child}.{name} is a file: rows take no uploads",
                fpath,
                "attach files on the line's own form",
            )
    if order_by is not None and ctx.check_field(child, order_by, (*path, "order_by")):
        if fields[order_by].get("type") != "int" or _derived(fields[order_by]):
            ctx.problem(
                "block-option",
                f"order_by needs a stored int field; {child}.{order_by} is not one",
                (*path, "order_by"),
                "add a field {type: int} such as position",
            )
    if isinstance(lines.get("quick"), dict):
        _check_quick(ctx, child, lines, (*path, "quick"))
    low, high = int(lines.get("min", 0)), int(lines.get("max", 100))
    if low > high:
        ctx.problem("block-option", f"min ({low}) is more than max ({high})", (*path, "min"))


def _check_quick(ctx: SectionContext, child: str, lines: dict[str, Any], path: JsonPath) -> None:
    """`field` is a ref among the rows' fields, `key` a field of its target, `quantity` a
    number field among the rows' fields."""
    quick, fields = lines["quick"], ctx.fields_of(child)
    listed = list(lines.get("fields") or [])
    name = str(quick.get("field"))
    spec = fields.get(name) or {}
    if name not in listed or spec.get("type") != "ref":
        refs = [n for n in listed if (fields.get(n) or {}).get("type") == "ref"]
        ctx.problem(
            "block-option",
            f"quick entry needs a ref field among the rows' fields; {name!r} is not one",
            (*path, "field"),
            ctx.suggest(name, refs) if refs else "add a ref field to fields:",
        )
    elif quick.get("key") is not None:
        ctx.check_field(str(spec.get("to")), str(quick["key"]), (*path, "key"))
    quantity = quick.get("quantity")
    if quantity is not None:
        kind = (fields.get(quantity) or {}).get("type")
        if quantity not in listed or kind not in ("int", "decimal"):
            numbers = [n for n in listed if (fields.get(n) or {}).get("type") in ("int", "decimal")]
            ctx.problem(
                "block-option",
                f"quantity needs an int or decimal field among the rows' fields; "
                f"{quantity!r} is not one",
                (*path, "quantity"),
                ctx.suggest(str(quantity), numbers) if numbers else "",
            )


def _derived(spec: Any) -> bool:
    """True for fields no one types in: computed, rollups, readonly."""
    if not isinstance(spec, dict):
        return False
    return any(key in spec for key in ("compute", "rollup")) or bool(spec.get("readonly"))


def compile_lines(lines: dict[str, Any]) -> FormLines:
    """The runtime's `FormLines`."""
    return FormLines(
        entity=lines["entity"],
        via=lines["via"],
        fields=tuple(lines["fields"]),
        order_by=lines.get("order_by"),
        min=int(lines.get("min", 0)),
        max=int(lines.get("max", 100)),
        title=Label.of(lines["title"]) if "title" in lines else None,
        quick=_compile_quick(lines.get("quick")),
    )


def _compile_quick(quick: Any) -> QuickEntry | None:
    if not isinstance(quick, dict):
        return None
    return QuickEntry(quick["field"], quick.get("key"), quick.get("quantity"))
