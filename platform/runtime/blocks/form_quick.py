"""Quick entry of a form's lines (`lines: {quick: …}`): bulk ordering by SKU and quantity.

The rows' table gets a text box, one row per line: `W-100 5`, `W-100;5`, `W-100,5` or a tab
between key and quantity (no quantity: 1). "Add to the rows" (`_lines=quick`) turns each line
into a new row — the record found by its key through the record store with the actor's read
rights, so a record they may not read is "not found" like one that does not exist — and
keeps only the lines it could not use in the box, each with its error, saving nothing.
Saving the form with lines still in the box does the same first, and saves parent, rows and
typed lines in the parent form's one transaction only when every line was found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from portalis.engine.data.csv_values import RefResolver, number_text
from portalis.engine.data.errors import FieldMessage

from ..templating import gettext, label
from ..widgets import message_text
from .base import BlockContext
from .form_lines import LinesPlan, Row, new_row

#: The text box's input name (outside `lines-…`: the rows' own inputs).
QUICK = "quick-lines"
#: The row action that adds the typed lines.
VERB = "quick"
#: Most lines read from the box.
MAX_LINES = 500
_SPLIT = re.compile(r"\s*[;,\t]\s*|\s+")


@dataclass(slots=True)
class QuickResult:
    """The rows made of the typed lines, the lines left in the box and their errors."""

    rows: list[Row] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def typed_lines(form: Mapping[str, Any]) -> list[str]:
    """The non-empty lines of the box, at most `MAX_LINES`."""
    text = str(form.get(QUICK) or "")
    return [line.strip() for line in text.splitlines() if line.strip()][:MAX_LINES]


def read_quick(ctx: BlockContext, plan: LinesPlan, lines: list[str], room: int) -> QuickResult:
    """New rows for `lines` (at most `room` of them); lines that name no record, carry no
    number or do not fit stay in the box with their error ("Line 2: …")."""
    quick = plan.spec.quick
    assert quick is not None
    ref = plan.entity.fields[quick.field]
    refs = RefResolver(ctx.store, ctx.actor, {quick.field: quick.key} if quick.key else {})
    out = QuickResult()
    for number, line in enumerate(lines, start=1):
        parts = _SPLIT.split(line, maxsplit=1)
        key, amount = parts[0], (parts[1] if len(parts) > 1 else "1").strip() or "1"
        problem = None
        quantity = number_text(amount, ctx.locale) if quick.quantity else None
        if quick.quantity and quantity is None:
            problem = gettext("%(value)s is not a quantity", value=amount)
        found = refs.resolve(ref, key)
        if isinstance(found, FieldMessage):
            problem = message_text(ctx.locale, found)
        elif problem is None and len(out.rows) >= room:
            problem = gettext("no room for more rows")
        if problem is not None:
            out.remaining.append(line)
            out.errors.append(gettext("Line %(n)s (%(text)s): %(problem)s", n=number, text=line,
                                      problem=problem))  # fmt: skip
            continue
        data: MultiDict[str, Any] = MultiDict({quick.field: str(found)})
        if quick.quantity and quantity is not None:
            data[quick.quantity] = quantity
        row = new_row(ctx, plan)
        row.data = _with_defaults(plan, row, data)
        out.rows.append(row)
    return out


def _with_defaults(plan: LinesPlan, row: Row, data: MultiDict[str, Any]) -> MultiDict[str, Any]:
    """The row's other inputs keep their defaults (a posted row shows only what was sent)."""
    for f in plan.inputs:
        if f.name not in data and row.values.get(f.name) is not None:
            data[f.name] = str(row.values[f.name])
    return data


def blank(row: Row, plan: LinesPlan) -> bool:
    """True for a new row without the quick entry's record (the form's first empty rows):
    typed lines take its place."""
    quick = plan.spec.quick
    if row.id is not None or quick is None:
        return False
    return row.data is None or not str(row.data.get(quick.field) or "").strip()


def help_text(ctx: BlockContext, plan: LinesPlan) -> str:
    """What the box takes, naming the key field (SKU)."""
    quick = plan.spec.quick
    assert quick is not None
    ref = plan.entity.fields[quick.field]
    what = label(ref.label, ref.name)
    if quick.key:
        key = ctx.store.entity(str(ref.config.to)).fields.get(quick.key)
        what = label(key.label, key.name) if key is not None else quick.key
    return gettext(
        "One row per line: %(what)s and quantity, e.g. “%(example)s”.",
        what=what,
        example="A-100 5",
    )


def merge(
    ctx: BlockContext, plan: LinesPlan, form: Mapping[str, Any], rows: list[Row]
) -> tuple[list[Row], QuickResult]:
    """`rows` with the typed lines added as rows (replacing blank new rows when any were)."""
    typed = typed_lines(form)
    kept = [r for r in rows if not blank(r, plan)]
    result = read_quick(ctx, plan, typed, plan.spec.max - len(kept))
    if not result.rows:
        return rows, result
    return kept + result.rows, result
