"""The `form` block: create a record, or edit the page's record (`mode: edit`).

Only fields the actor may write become inputs (on edit: fields the grants covering *this*
record let through); the others of the block are shown read-only. The inputs are the
WTForms fields of this version's form class for the block (built when the version was
loaded, see `forms.record`), bound per request with the actor's writable fields only. A failed submission
re-renders with the input kept and errors next to their fields (422); success redirects
(303) with a flash message. Uploads go through `files` (413 past the size limit); edits carry
the record's version, and a stale one answers 409 with a reload prompt.

A new record's inputs start with the field defaults, expression defaults evaluated for the
actor included. Fields with `visible_when`/`required_when` are mirrored in the browser: they
are always rendered (hidden and disabled while invisible), and `static/form-conditions.js`
asks the block (a POST with `_probe`, no write) how the conditions stand for the input so
far — the server's own expressions decide, so the form never disagrees with the store.
Rule messages (`check`) are shown in the reader's locale.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from flask import Response, abort, flash, redirect, render_template
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from portalis.engine.data.currencies import contextual_money, record_currencies
from portalis.engine.data.errors import (
    NON_FIELD,
    FieldMessage,
    Forbidden,
    NotFound,
    OutOfScope,
    StaleRecord,
    ValidationFailed,
)
from portalis.engine.data.line_items import LinesRefused, save_with_lines
from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import FormBlock
from portalis.engine.definition.model import PortalModel
from portalis.engine.flow.rights import record_rights

from ..display import Formatter, page_for
from ..form_errors import error_texts, out_of_scope_errors
from ..forms.base import formdata
from ..forms.record import RecordForm
from ..forms.view import FormRenderer
from ..page_records import page_entity
from ..templating import gettext, label
from ..urls import page_url
from .base import BlockContext, BlockType
from .detail import field_visible
from .form_input import FormPlan, bind, current_values, read, takes_files
from .form_lines import (
    ACTION,
    COUNT,
    FOCUS,
    LinesPlan,
    RowView,
    encode_rows,
    frozen_text,
    lines_plan,
    new_row,
    posted_rows,
    read_rows,
    rearrange,
    row_errors,
    row_views,
    stored_rows,
)
from .form_lines import summary as lines_summary
from .form_quick import QUICK, help_text, merge, typed_lines
from .form_quick import VERB as QUICK_VERB

Errors = dict[str, list[str]]


def conflict_response(reload_url: str) -> Response:
    """409: the record changed since the page was loaded; offer a reload."""
    html = render_template(
        "blocks/conflict.html", title=gettext("Changed by someone else"), reload_url=reload_url
    )
    return Response(html, status=409, mimetype="text/html")


def translate_errors(
    errors: Mapping[str, list[FieldMessage]], locale: str, model: PortalModel | None = None
) -> dict[str, list[str]]:
    """ValidationFailed errors as translated texts per field.

    A failed rule (`check`) speaks with its own localized `message` from the definition (of
    the entity named in its parameters: a parent's rule when a rollup refused the write).
    """
    return error_texts(errors, locale, model)


class FormBlockType(BlockType):
    """Renders and handles `form` blocks."""

    name = "form"

    # -- what the form holds ------------------------------------------------------------
    def plan(self, ctx: BlockContext) -> FormPlan | None:
        """Inputs and read-only fields for the actor; None when the form is not for them."""
        cfg: FormBlock = ctx.block.config
        store = ctx.store
        entity = store.entity(cfg.entity)
        if cfg.mode == "edit":
            record = ctx.record
            if record is None or record.entity != entity.name:
                abort(404)
            rights = record_rights(store, ctx.actor, entity.name, record.id, actions=["update"])
            if not rights.allows("update"):
                abort(403)
            writable = rights.writable
            values = dict(record.values)
        else:
            record = None
            grants = store.policy.grants_for(ctx.actor, entity.name, "create")
            if not grants:
                return None
            writable = store.writable(entity, grants)
            given: dict[str, Any] = {}
            if cfg.parent:
                if ctx.record is None:
                    return None
                given[cfg.parent] = ctx.record.id
            # the defaults the store would use, expression defaults evaluated for this actor
            values = store.initial_values(ctx.actor, entity.name, given)
        plan = FormPlan(entity, cfg.mode, record, values)
        if cfg.parent and cfg.mode == "create" and ctx.record is not None:
            plan.parent = (cfg.parent, ctx.record.id)
        probe = Record(entity.name, values)
        for name in cfg.fields:
            f = entity.fields.get(name)
            if f is None or name == cfg.parent:
                continue
            if name in writable:
                plan.inputs.append(f)
                if f.visible_when is not None or f.required_when is not None:
                    plan.conditional.add(name)
            elif record is not None and name in record and field_visible(f, probe, ctx.actor):
                plan.readonly.append(name)
        states = plan.states(values, ctx.actor)
        if all(not states.get(f.name, {"visible": True})["visible"] for f in plan.inputs):
            return None  # nothing to fill in, and nothing could make a field appear
        shown = {f.name for f in plan.inputs}
        if any(name in shown for name, _ in contextual_money(entity)):
            plan.currencies = record_currencies(store, entity, values)
        return plan

    def probe(self, ctx: BlockContext, plan: FormPlan, form: RecordForm) -> Response:
        """200 JSON `{"fields": {name: {visible, required}}}` for the input so far."""
        states = plan.states(current_values(ctx, plan, form), ctx.actor)
        body = json.dumps({"fields": states}, separators=(",", ":"))
        response = Response(body, mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- GET ------------------------------------------------------------------------------
    def render(self, ctx: BlockContext) -> Markup:
        """The form (with the submitted input and errors after a failed POST)."""
        cfg: FormBlock = ctx.block.config
        if cfg.parent and cfg.mode == "create" and ctx.record is not None and not ctx.form:
            # a child form on its parent's page: the parent's state may refuse new children
            frozen = frozen_text(ctx, cfg.entity, cfg.parent, ctx.record.id)
            if frozen is not None:
                return Markup(
                    '<section class="block block-form" id="block-{}">'
                    '<p class="notice notice-warning">{}</p></section>'
                ).format(ctx.block.index, frozen)
        plan = self.plan(ctx)
        if plan is None:
            return Markup("")
        errors: Mapping[str, list[str]] = ctx.errors or {}
        # a failed submission, or rows rearranged (`form_lines`): the input as it was sent
        submitted = ctx.form
        fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
        renderer = FormRenderer(fmt, f"b{ctx.block.index}")
        form = bind(ctx, plan)
        if submitted:
            form.process(formdata=formdata(submitted))
        else:
            form.process(data=plan.values)
        # after a failed submission the conditions follow what was submitted
        current = current_values(ctx, plan, form) if submitted else plan.values
        states = plan.states(current, ctx.actor)
        widgets = []
        for f in plan.inputs:
            state = states.get(f.name)
            widgets.append(
                renderer.view(
                    form[f.name],
                    f,
                    stored=plan.values.get(f.name),
                    errors=errors.get(f.name),
                    required=state["required"] if state is not None else None,
                    disabled=state is not None and not state["visible"],
                    currency=plan.currencies.get(f.name, ""),
                )
            )
        hidden = {name for name, state in states.items() if not state["visible"]}
        readonly = []
        if plan.record is not None and plan.readonly:
            fmt.prepare(plan.entity, plan.readonly, [plan.record])
            readonly = [
                (fmt.column_label(plan.entity, n), fmt.html(plan.entity, n, plan.record))
                for n in plan.readonly
            ]
        shown = {f.name for f in plan.inputs} - hidden
        top = list(errors.get(NON_FIELD, []))
        for name, msgs in errors.items():
            if name != NON_FIELD and name not in shown and not name.startswith(("lines-", QUICK)):
                top.extend(f"{fmt.column_label(plan.entity, name)}: {m}" for m in msgs)
        lines = lines_plan(ctx, cfg.lines, plan.record.id if plan.record else None)
        rows = []
        if lines is not None:
            top.extend(lines_summary(lines, errors, fmt.label))
            top.extend(errors.get(QUICK, ()))
            rows = self.rows(ctx, lines, plan, renderer, errors)
        if cfg.submit_label is not None:
            submit = label(cfg.submit_label)
        else:
            submit = gettext("Save changes") if plan.mode == "edit" else gettext("Create")
        cancel = None
        if plan.record is not None:
            detail = page_for(ctx.portal, ctx.actor, "detail", plan.entity.name)
            cancel = page_url(detail.name, plan.record.id) if detail is not None else None
        return Markup(
            render_template(
                "blocks/form.html",
                block=ctx.block,
                plan=plan,
                entity=plan.entity,
                widgets=widgets,
                conditional=plan.conditional,
                hidden=hidden,
                readonly=readonly,
                form_errors=top,
                lines=lines,
                rows=rows,
                focus=(ctx.form or {}).get(FOCUS),
                quick_text=(submitted or {}).get(QUICK, ""),
                quick_errors=errors.get(QUICK, []),
                quick_help=help_text(ctx, lines) if lines is not None and lines.spec.quick else "",
                multipart=any(takes_files(form[f.name]) for f in plan.inputs),
                submit_label=submit,
                cancel_url=cancel,
            )
        )

    def rows(
        self,
        ctx: BlockContext,
        lines: LinesPlan,
        plan: FormPlan,
        renderer: FormRenderer,
        errors: Mapping[str, list[str]],
    ) -> list[RowView]:
        """The rows of the form's lines: as posted (after a failed save or a row action),
        else the record's lines (edit) or the first empty rows (create)."""
        if ctx.form is not None and lines.frozen is None:
            rows = posted_rows(ctx.form, lines)
            for row in rows:
                if row.data is None and row.id is None:
                    row.values = new_row(ctx, lines).values
        else:
            rows = stored_rows(ctx, lines, plan.record.id if plan.record else None)
        focus = ctx.form.get(FOCUS) if ctx.form is not None else None
        return row_views(ctx, lines, renderer, rows, errors, focus)

    # -- POST -----------------------------------------------------------------------------
    def handle_post(self, ctx: BlockContext) -> Response | None:
        """Validate and save; None re-renders the page with errors (422)."""
        plan = self.plan(ctx)
        if plan is None:
            abort(403)
        form: MultiDict[str, Any] = MultiDict(ctx.form or {})
        if form.get("_probe"):
            probing = bind(ctx, plan)
            probing.process(formdata=form)
            return self.probe(ctx, plan, probing)
        cfg: FormBlock = ctx.block.config
        lines = lines_plan(ctx, cfg.lines, plan.record.id if plan.record else None)
        if lines is not None and lines.frozen is not None and COUNT not in form:
            # shown, not sent: saving the record leaves its lines as they are (rows sent by
            # a form opened before the state changed go to the store, which refuses changes)
            lines = None
        posted = posted_rows(form, lines) if lines is not None else []
        if lines is not None and lines.spec.quick is not None:
            quick_verb = form.get(ACTION) == QUICK_VERB
            if quick_verb or typed_lines(form):
                posted, quick = merge(ctx, lines, form, posted)
                if quick_verb or quick.errors:  # the rows with the typed ones; nothing saved
                    ctx.form = encode_rows(form, lines, posted, f"b{ctx.block.index}-quick")
                    ctx.form[QUICK] = "\n".join(quick.remaining)
                    ctx.errors = {QUICK: quick.errors} if quick.errors else None
                    return None
        if lines is not None and form.get(ACTION):
            rows, focus = rearrange(ctx, lines, posted, str(form[ACTION]))
            ctx.form = encode_rows(form, lines, rows, focus)
            return None  # the same form again, rows rearranged; nothing saved
        raw, errors = read(ctx, plan, form)
        items = None
        if lines is not None:
            items, row_input_errors = read_rows(ctx, lines, posted)
            errors.update(row_input_errors)
        ctx.form = form
        if errors:
            ctx.errors = errors
            return None
        store, entity = ctx.store, plan.entity
        try:
            if items is not None:
                if plan.parent is not None:
                    raw[plan.parent[0]] = plan.parent[1]
                version = None if plan.record is None else _int(form.get("version"))
                if plan.record is not None and version is None:
                    abort(400)
                record = save_with_lines(
                    store, ctx.actor, entity.name, plan.record.id if plan.record else None,
                    raw, items, expected_version=version,
                )  # fmt: skip
            elif plan.record is None:
                if plan.parent is not None:
                    raw[plan.parent[0]] = plan.parent[1]
                record = store.insert(ctx.actor, entity.name, raw)
            else:
                version = _int(form.get("version"))
                if version is None:
                    abort(400)
                record = store.update(
                    ctx.actor, entity.name, plan.record.id, raw, expected_version=version
                )
        except LinesRefused as exc:
            model = ctx.portal.compiled.model
            ctx.errors = {
                **translate_errors(exc.errors, ctx.locale),
                **row_errors(exc.rows, ctx.locale, model),
            }
            return None
        except ValidationFailed as exc:
            ctx.errors = translate_errors(exc.errors, ctx.locale)
            return None
        except StaleRecord:
            return conflict_response(
                page_url(ctx.page.name, plan.record.id if plan.record else None)
            )
        except OutOfScope as exc:  # a chosen value the grants do not cover: nothing written
            shown = {f.name for f in plan.inputs}
            ctx.errors = out_of_scope_errors(exc, shown, creating=plan.record is None)
            return None
        except Forbidden:
            abort(403)
        except NotFound:
            abort(404)
        if plan.record is None:
            flash(gettext("%(item)s saved.", item=label(entity.label, entity.name)), "success")
        else:
            flash(gettext("Your changes were saved."), "success")
        return cast(Response, redirect(self.target(ctx, record), 303))

    def target(self, ctx: BlockContext, record: Record) -> str:
        """Where a successful submission goes: `redirect`, else back to this page."""
        cfg: FormBlock = ctx.block.config
        model = ctx.portal.compiled.model
        page = model.pages.get(cfg.redirect or "") or ctx.page
        if not page.has_id:
            return page_url(page.name)
        if page_entity(model, page) == record.entity:
            return page_url(page.name, record.id)
        if ctx.record is not None:
            return page_url(page.name, ctx.record.id)
        return page_url(ctx.page.name)


def _int(raw: Any) -> int | None:
    try:
        return int(str(raw))
    except ValueError:
        return None
