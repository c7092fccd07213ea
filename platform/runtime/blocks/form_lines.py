"""The rows of a form's `lines:` (an order's order lines), drawn as a table and read back.

Every row is a set of inputs named `lines-<n>-<field>` with the line's id and version in
hidden inputs, and `lines-count` says how many rows were sent. Adding, removing and moving a
row are submit buttons (`_lines` = `add`, `remove:<n>`, `up:<n>`, `down:<n>`): the block
re-renders the form with the posted values rearranged and saves nothing, so the table works
without JavaScript and with the keyboard alone; focus lands on the row acted on. Saving
hands every row to `engine.data.line_items.save_with_lines` (one transaction with the
parent). Errors of a row are keyed `lines-<n>-<field>` (`lines-<n>` for the row as a whole).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import abort
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from portalis.engine.data.currencies import contextual_money, record_currencies
from portalis.engine.data.errors import NON_FIELD, FieldMessage
from portalis.engine.data.line_items import LineItems, LineRow, existing_lines
from portalis.engine.data.parent_state import state_refusal
from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import FormLines
from portalis.engine.definition.block_lines import MAX_LINES
from portalis.engine.definition.model import Entity, Field, PortalModel

from ..form_errors import error_texts, state_refusal_text
from ..forms.record import RecordForm, portal_forms
from ..forms.view import FieldView, FormRenderer
from ..templating import gettext, label
from .base import BlockContext
from .form_input import input_context, store_value

#: The submit button's name that rearranges rows instead of saving.
ACTION = "_lines"
#: The hidden input with the number of rows sent.
COUNT = "lines-count"
#: Where a row action puts the id of the control to focus (read only to compare with ids).
FOCUS = "_focus"

Errors = dict[str, list[str]]


def key(row: int, name: str = "") -> str:
    """The input name of `name` in row `row` (`lines-2-quantity`), or the row's error key."""
    return f"lines-{row}-{name}" if name else f"lines-{row}"


@dataclass(slots=True)
class Row:
    """One row: an existing line (id, version) or a new one, with what it shows — the
    posted input (`data`), else the stored or default values."""

    id: int | None = None
    version: int | None = None
    data: MultiDict[str, Any] | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class LinesPlan:
    """The child entity and the row inputs the actor may write."""

    spec: FormLines
    entity: Entity
    inputs: list[Field]
    #: why the rows cannot change now (a parent-state grant refuses), shown instead of inputs
    frozen: str | None = None
    #: the rows' currency of money inputs that take it from context (through the parent)
    currencies: dict[str, str] = field(default_factory=dict)

    def title(self) -> str:
        """The table's caption."""
        if self.spec.title is not None:
            return label(self.spec.title)
        return label(self.entity.plural_label, self.entity.name)


def lines_plan(
    ctx: BlockContext, spec: FormLines | None, parent_id: int | None = None
) -> LinesPlan | None:
    """The rows' inputs for the actor (fields some create or update grant lets through);
    None when there are no lines or the actor may write none of their fields. For an
    existing parent whose state refuses new lines (`when` of a parent scope), `frozen` holds
    the definition's message: the rows are shown, not offered for editing."""
    if spec is None:
        return None
    store, policy = ctx.store, ctx.store.policy
    entity = store.entity(spec.entity)
    grants = (
        *policy.grants_for(ctx.actor, entity.name, "create"),
        *policy.grants_for(ctx.actor, entity.name, "update"),
    )
    writable = store.writable(entity, grants)
    inputs = [entity.fields[n] for n in spec.fields if n in writable]
    if not inputs:
        return None
    plan = LinesPlan(spec, entity, inputs)
    if parent_id is not None:
        plan.frozen = frozen_text(ctx, entity.name, spec.via, parent_id)
        if contextual_money(entity):  # the rows of one parent share its context
            plan.currencies = record_currencies(store, entity, {spec.via: parent_id})
    return plan


def frozen_text(ctx: BlockContext, entity: str, via: str, parent_id: int) -> str | None:
    """Why the actor may add no `entity` to the parent `parent_id` (its ref `via`) in the
    parent's present state — the definition's message — or None when they may, or when a
    parent-state grant is not the reason."""
    store, policy = ctx.store, ctx.store.policy
    if all(g.scope.when is None for g in policy.grants_for(ctx.actor, entity, "create")):
        return None  # no grant depends on the parent's state: no query
    probe = {via: parent_id}
    with store.reading() as conn:
        lookup = store.lookup(conn)
        if policy.matching_grants(ctx.actor, "create", entity, probe, lookup=lookup):
            return None
        grant = state_refusal(policy, ctx.actor, "create", entity, probe, lookup)
    return None if grant is None else state_refusal_text(grant)


# -- rows ---------------------------------------------------------------------------------
def stored_rows(ctx: BlockContext, plan: LinesPlan, parent_id: int | None) -> list[Row]:
    """The rows a GET shows: the parent's lines (edit), else `min` new rows."""
    if parent_id is not None:
        lines = existing_lines(ctx.store, ctx.actor, plan.spec, parent_id)
        return [Row(r.id, r.version, None, r.values) for r in lines]
    return [new_row(ctx, plan) for _ in range(plan.spec.min)]


def new_row(ctx: BlockContext, plan: LinesPlan) -> Row:
    """An empty row with the child's defaults."""
    return Row(values=ctx.store.initial_values(ctx.actor, plan.entity.name))


def posted_rows(form: Mapping[str, Any], plan: LinesPlan) -> list[Row]:
    """The rows of a submission, in the order sent (at most `MAX_LINES` + 1 are read)."""
    posted = form if isinstance(form, MultiDict) else MultiDict(form)
    count = max(0, min(_int(posted.get(COUNT)) or 0, MAX_LINES + 1))
    rows = []
    for n in range(count):
        data: MultiDict[str, Any] = MultiDict()
        for f in plan.inputs:
            if key(n, f.name) in posted:
                data.setlist(f.name, posted.getlist(key(n, f.name)))
        row_id = _int(posted.get(key(n, "id")))
        rows.append(Row(row_id, _int(posted.get(key(n, "version"))), data or None))
    return rows


def rearrange(
    ctx: BlockContext, plan: LinesPlan, rows: list[Row], action: str
) -> tuple[list[Row], str]:
    """`rows` after the row action `action`, and the id of the control to focus next."""
    verb, _, arg = action.partition(":")
    n = _int(arg)
    prefix = f"b{ctx.block.index}"
    if verb == "add" and len(rows) < plan.spec.max:
        rows.append(new_row(ctx, plan))
        return rows, f"{prefix}-{key(len(rows) - 1, plan.inputs[0].name)}"
    if n is None or not 0 <= n < len(rows):
        abort(400)
    if verb == "remove":
        del rows[n]
        if rows:
            return rows, f"{prefix}-remove-{min(n, len(rows) - 1)}"
        return rows, f"{prefix}-add"
    if verb == "up" and n > 0:
        rows[n - 1], rows[n] = rows[n], rows[n - 1]
        return rows, f"{prefix}-up-{n - 1}" if n > 1 else f"{prefix}-down-0"
    if verb == "down" and n < len(rows) - 1:
        rows[n], rows[n + 1] = rows[n + 1], rows[n]
        last = n + 1 == len(rows) - 1
        return rows, f"{prefix}-up-{n + 1}" if last else f"{prefix}-down-{n + 1}"
    abort(400)


def encode_rows(
    form: MultiDict[str, Any], plan: LinesPlan, rows: list[Row], focus: str
) -> MultiDict[str, Any]:
    """`form` with its rows replaced by `rows` (renumbered) and the control to focus."""
    out: MultiDict[str, Any] = MultiDict(
        [(k, v) for k, v in form.items(multi=True) if not k.startswith("lines-") and k != ACTION]
    )
    out[COUNT] = str(len(rows))
    out[FOCUS] = focus
    for n, row in enumerate(rows):
        if row.id is not None:
            out[key(n, "id")] = str(row.id)
            out[key(n, "version")] = "" if row.version is None else str(row.version)
        for name in row.data or ():
            out.setlist(key(n, name), row.data.getlist(name) if row.data else [])
    return out


def bind_row(ctx: BlockContext, plan: LinesPlan, n: int, row: Row) -> RecordForm:
    """The inputs of row `n`, holding the posted input or the row's values."""
    cls = portal_forms(ctx.portal).record_form(plan.entity, plan.spec.fields)
    form = cls(ctx.locale, only={f.name for f in plan.inputs}, prefix=f"lines-{n}-")
    if row.data is not None:
        prefixed: MultiDict[str, Any] = MultiDict()
        for name in row.data:
            prefixed.setlist(key(n, name), row.data.getlist(name))
        form.process(formdata=prefixed)
    else:
        form.process(data=row.values)
    return form


def read_rows(ctx: BlockContext, plan: LinesPlan, rows: list[Row]) -> tuple[LineItems, Errors]:
    """The rows as the record store takes them, and the input errors found on the way."""
    reading = input_context(ctx)
    items = []
    errors: Errors = {}
    for n, row in enumerate(rows):
        form = bind_row(ctx, plan, n, row)
        form.validate()
        values: dict[str, Any] = {}
        for f in plan.inputs:
            bound = form[f.name]
            if bound.errors:
                errors[key(n, f.name)] = list(bound.errors)
                continue
            try:
                values[f.name] = store_value(bound, reading)
            except ValueError as exc:
                errors[key(n, f.name)] = [str(exc)]
        items.append(LineRow(values, row.id, row.version))
    return LineItems(plan.spec, tuple(items)), errors


def row_errors(
    rows: Mapping[int, Mapping[str, list[FieldMessage]]], locale: str, model: PortalModel
) -> Errors:
    """The record store's errors of each row, translated, under the rows' error keys."""
    out: Errors = {}
    for n, errors in rows.items():
        texts = error_texts(errors, locale, model)
        for name, messages in errors.items():
            translated = [state_text(model, locale, m) or t for m, t in zip(messages, texts[name])]
            out[key(n) if name == NON_FIELD else key(n, name)] = translated
    return out


def state_text(model: PortalModel, locale: str, message: FieldMessage) -> str | None:
    """The definition's own message of a parent-state refusal, in the reader's locale."""
    if message.code != "parent-state":
        return None
    entity = model.entities.get(str(message.params.get("entity")))
    for grant in entity.grants if entity is not None else ():
        if grant.index == message.params.get("grant") and grant.scope.message is not None:
            return grant.scope.message.get(locale, model.default_locale)
    return None


# -- drawing ------------------------------------------------------------------------------
@dataclass(slots=True)
class RowView:
    """One row as the template draws it."""

    number: int
    id: int | None
    version: int | None
    cells: list[FieldView]
    errors: list[str]
    #: the values shown instead of inputs when the rows cannot change (`LinesPlan.frozen`)
    texts: list[Markup] = field(default_factory=list)


def row_views(
    ctx: BlockContext,
    plan: LinesPlan,
    renderer: FormRenderer,
    rows: list[Row],
    errors: Mapping[str, list[str]],
    focus: str | None,
) -> list[RowView]:
    """Every row's cells: the inputs labelled "Quantity, row 2", with their errors."""
    views = []
    if plan.frozen is not None:
        records = [Record(plan.entity.name, row.values) for row in rows]
        fmt = renderer.formatter
        fmt.prepare(plan.entity, [f.name for f in plan.inputs], records)
        return [
            RowView(n + 1, row.id, row.version, [], [], [
                fmt.html(plan.entity, f.name, record) for f in plan.inputs
            ])
            for n, (row, record) in enumerate(zip(rows, records, strict=True))
        ]  # fmt: skip
    for n, row in enumerate(rows):
        form = bind_row(ctx, plan, n, row)
        cells = []
        for f in plan.inputs:
            cell_id = f"{renderer.id_prefix}-{key(n, f.name)}"
            cells.append(
                renderer.view(
                    form[f.name],
                    f,
                    stored=row.values.get(f.name),
                    errors=errors.get(key(n, f.name)),
                    id=cell_id,
                    autofocus=cell_id == focus,
                    currency=plan.currencies.get(f.name, ""),
                )
            )
        views.append(RowView(n + 1, row.id, row.version, cells, list(errors.get(key(n), ()))))
    return views


def summary(plan: LinesPlan, errors: Mapping[str, list[str]], fmt_label: Any) -> list[str]:
    """The rows' errors for the form's error summary: "Row 2, Quantity: …"."""
    names = {f.name: fmt_label(f.label, f.name) for f in plan.inputs}
    out: list[str] = []
    for error_key, messages in errors.items():
        if not error_key.startswith("lines-"):
            continue
        _, number, *rest = error_key.split("-", 2)
        n = (_int(number) or 0) + 1
        where = gettext("Row %(n)s", n=n)
        if rest and rest[0] in names:
            where = gettext("Row %(n)s, %(field)s", n=n, field=names[rest[0]])
        out.extend(f"{where}: {m}" for m in messages)
    return out


def _int(raw: Any) -> int | None:
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return None
