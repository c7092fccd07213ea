"""A schema plan as the plan page shows it: the steps grouped (additive, removals that lose no
data, destructive), each destructive step with a consent token and a label naming the data
that will go ("drop field ticket.priority: 1,234 values").

A consent token is a hash of what the step does (not of its row count, which drifts while the
page is open), so a consent given on the page covers exactly the steps it listed: publishing
plans again and refuses when a destructive step has no matching consent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from portalis.engine.deploy.schema_ops import Plan, SchemaOp
from portalis.runtime.i18n import format_number
from portalis.runtime.templating import gettext as _
from portalis.runtime.templating import ngettext


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the plan: its CLI line, and for destructive steps a token and a label."""

    line: str
    token: str = ""
    consent: str = ""


@dataclass(frozen=True, slots=True)
class PlanView:
    """The plan's steps, grouped."""

    additive: tuple[Step, ...]
    removals: tuple[Step, ...]
    destructive: tuple[Step, ...]

    @property
    def empty(self) -> bool:
        """True when the live schema matches the draft already."""
        return not (self.additive or self.removals or self.destructive)

    @property
    def tokens(self) -> frozenset[str]:
        """The consent tokens publishing needs."""
        return frozenset(step.token for step in self.destructive)


def token(op: SchemaOp) -> str:
    """The consent token of a step."""
    return hashlib.sha256(repr(op.key()).encode()).hexdigest()[:20]


def plan_view(plan: Plan, entities: Iterable[str], locale: str) -> PlanView:
    """Group and label the steps of `plan`; `entities` are the entity names of the live and
    the new model, to name a table by its entity (the table's own name otherwise)."""
    names = sorted(set(entities), key=len, reverse=True)

    def where(op: SchemaOp) -> str:
        table = next((e for e in names if op.table.endswith("__" + e)), op.table)
        return f"{table}.{op.column}" if op.column else table

    def consent(op: SchemaOp) -> str:
        n = op.rows or 0
        rows, what = format_number(n, locale), where(op)
        if op.kind == "drop_table":
            return ngettext(
                "drop entity %(what)s: %(rows)s row", "drop entity %(what)s: %(rows)s rows",
                n, what=what, rows=rows,
            )  # fmt: skip
        if op.kind == "drop_column":
            return ngettext(
                "drop field %(what)s: %(rows)s value", "drop field %(what)s: %(rows)s values",
                n, what=what, rows=rows,
            )  # fmt: skip
        if op.kind == "alter_type":
            return ngettext(
                "change the type of field %(what)s: %(rows)s value",
                "change the type of field %(what)s: %(rows)s values",
                n, what=what, rows=rows,
            )  # fmt: skip
        if op.kind == "set_not_null":
            return ngettext(
                "make field %(what)s required: %(rows)s empty row",
                "make field %(what)s required: %(rows)s empty rows",
                n, what=what, rows=rows,
            )  # fmt: skip
        return _("%(step)s: data at risk", step=op.describe())

    def steps(ops: Iterable[SchemaOp]) -> tuple[Step, ...]:
        return tuple(Step(op.describe()) for op in ops)

    return PlanView(
        additive=steps(plan.additive),
        removals=steps(plan.removals),
        destructive=tuple(Step(op.describe(), token(op), consent(op)) for op in plan.destructive),
    )
