"""Semantic checks of `printouts:` on entities and of notifications that attach them.

The schema fixes the shapes; here: the template is a file of the definition folder and valid
Jinja (its error located at the template's own line), the roles exist, the file name pattern
names fields of the entity, each list names an entity with a ref `via` back to the record
above and filters by fields that entity has, and a notification attaches only printouts
that some entity declares.
"""

from __future__ import annotations

from typing import Any

from ...expr.textmpl import TemplateProblem, compile_markup
from ...problems import JsonPath
from ..model import SYSTEM_COLUMNS
from ..printout_spec import MAX_LIST_DEPTH, PLACEHOLDER
from .base import Ctx, check_role_refs, suggest


def check_printouts(ctx: Ctx) -> None:
    """Every entity's `printouts:`, then the `attach:` of every notification."""
    declared: set[str] = set()
    for entity, spec in ctx.entities.items():
        printouts = spec.get("printouts") if isinstance(spec, dict) else None
        if not isinstance(printouts, dict):
            continue
        for name, printout in printouts.items():
            declared.add(name)
            _check_printout(ctx, entity, name, printout)
    for note, spec in (ctx.data.get("notifications") or {}).items():
        for i, name in enumerate((spec or {}).get("attach") or ()):
            if name not in declared:
                ctx.add(
                    "printout-unknown",
                    f"no entity declares a printout {name!r}",
                    ("notifications", note, "attach", i),
                    suggest(name, declared) or "declare it under printouts: of the entity",
                )


def _check_printout(ctx: Ctx, entity: str, name: str, spec: dict[str, Any]) -> None:
    path: JsonPath = ("entities", entity, "printouts", name)
    check_role_refs(ctx, spec.get("roles") or (), (*path, "roles"))
    template = str(spec["template"])
    source = ctx.bundle.files.get(template)
    if source is None:
        ctx.add(
            "printout-template-missing",
            f"the template {template!r} is not a file of the definition folder",
            (*path, "template"),
            suggest(template, [f for f in ctx.bundle.files if f.endswith((".html", ".htm"))])
            or "add the HTML file, e.g. printouts/invoice.html",
        )
    else:
        try:
            compile_markup(source)
        except TemplateProblem as exc:
            line = f" (line {exc.line} of {template})" if exc.line else ""
            ctx.add(
                "printout-template",
                f"the template does not compile: {exc}{line}",
                (*path, "template"),
                "templates use Jinja syntax: {{ record.number }}, {% for l in lists.lines %}",
            )
    fields = set(ctx.fields_of(entity)) | set(SYSTEM_COLUMNS)
    for placeholder in PLACEHOLDER.findall(str(spec.get("filename") or "")):
        if placeholder not in fields:
            ctx.add(
                "printout-filename",
                f"the file name names {placeholder!r}, which {entity} does not have",
                (*path, "filename"),
                suggest(placeholder, fields),
            )
    _check_lists(ctx, entity, spec.get("lists") or {}, (*path, "lists"), 1)


def _check_lists(ctx: Ctx, parent: str, lists: dict[str, Any], path: JsonPath, depth: int) -> None:
    for name, spec in lists.items():
        here: JsonPath = (*path, name)
        if depth > MAX_LIST_DEPTH:
            ctx.add(
                "printout-list-depth",
                f"lists nest {MAX_LIST_DEPTH} levels deep at most",
                here,
                "list the records at an upper level instead",
            )
            continue
        entity = str(spec["entity"])
        if entity not in ctx.entities:
            ctx.add(
                "ref-unknown-entity",
                f"unknown entity {entity!r}",
                (*here, "entity"),
                suggest(entity, ctx.entities),
            )
            continue
        fields = ctx.fields_of(entity)
        via = fields.get(str(spec["via"]))
        if not isinstance(via, dict) or via.get("type") != "ref" or via.get("to") != parent:
            refs = [n for n, f in fields.items() if isinstance(f, dict) and f.get("to") == parent]
            ctx.add(
                "printout-list-via",
                f"{entity}.{spec['via']} is not a ref field to {parent}",
                (*here, "via"),
                f"use via: {refs[0]}" if refs else f"{entity} has no ref field to {parent}",
            )
        known = set(fields) | set(SYSTEM_COLUMNS)
        for field in spec.get("where") or {}:
            if field not in fields:
                ctx.add(
                    "printout-list-field",
                    f"{entity} has no field {field!r}",
                    (*here, "where", field),
                    suggest(field, fields),
                    key=True,
                )
        sort = str(spec.get("sort") or "id").lstrip("-")
        if sort not in known:
            ctx.add(
                "printout-list-field",
                f"{entity} has no field {sort!r} to sort by",
                (*here, "sort"),
                suggest(sort, known),
            )
        _check_lists(ctx, entity, spec.get("lists") or {}, (*here, "lists"), depth + 1)
