"""The `form` block: create a record, or edit the page's record (`mode: edit`).

Only fields the actor may write become inputs (on edit: fields the grants covering *this*
record let through); the others of the block are shown read-only. A failed submission
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
from dataclasses import dataclass, field
from typing import Any, cast

from flask import Response, abort, flash, redirect, render_template
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from portalis.engine.data.errors import (
    NON_FIELD,
    FieldMessage,
    Forbidden,
    NotFound,
    OutOfScope,
    StaleRecord,
    ValidationFailed,
)
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.fields import FieldValueError
from portalis.engine.definition.model import Entity, Field, FormBlock, PortalModel
from portalis.engine.expr.expressions import EvaluationError
from portalis.engine.flow.rights import record_rights

from ..display import Formatter, page_for
from ..files import UploadRejected, UploadTooLarge, files_root, owned_by, save_upload
from ..form_errors import error_texts, out_of_scope_errors
from ..pages import page_entity
from ..templating import gettext, label
from ..urls import page_url
from ..widgets import (
    CLEAR_SUFFIX,
    KEPT_SUFFIX,
    WidgetFactory,
    message_text,
    read_field,
    resolve_ref,
)
from .base import BlockContext, BlockType
from .detail import field_visible

Errors = dict[str, list[str]]


@dataclass(slots=True)
class FormPlan:
    """What one form shows and accepts for the actor."""

    entity: Entity
    mode: str
    record: Record | None
    values: dict[str, Any]
    inputs: list[Field] = field(default_factory=list)
    readonly: list[str] = field(default_factory=list)
    parent: tuple[str, int] | None = None
    #: inputs with visible_when/required_when (mirrored in the browser)
    conditional: set[str] = field(default_factory=set)

    def states(self, values: Mapping[str, Any], actor: Actor) -> dict[str, dict[str, bool]]:
        """`{field: {visible, required}}` of the conditional inputs for `values`."""
        probe = Record(self.entity.name, values)
        out = {}
        for f in self.inputs:
            if f.name in self.conditional:
                visible = field_visible(f, probe, actor)
                out[f.name] = {
                    "visible": visible,
                    "required": visible and field_required(f, probe, actor),
                }
        return out


def conflict_response(reload_url: str) -> Response:
    """409: the record changed since the page was loaded; offer a reload."""
    html = render_template(
        "blocks/conflict.html", title=gettext("Changed by someone else"), reload_url=reload_url
    )
    return Response(html, status=409, mimetype="text/html")


def field_required(f: Field, record: Record, actor: Actor) -> bool:
    """True when the field is required, or its `required_when` holds for `record`."""
    if f.required or f.required_when is None:
        return f.required
    try:
        return bool(f.required_when.test(record=dict(record.values), actor=actor))
    except EvaluationError:
        return False


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
        return plan

    def current_values(
        self, ctx: BlockContext, plan: FormPlan, form: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The record as the submitted input would make it (for the conditions only:
        input that does not clean counts as empty, files keep their current value)."""
        values = dict(plan.values)
        for f in plan.inputs:
            if f.type == "file":
                continue
            try:
                raw = read_field(f, form)
                if f.type == "ref" and isinstance(raw, str):
                    raw = resolve_ref(ctx.store, ctx.actor, getattr(f.config, "to", ""), raw)
                values[f.name] = f.kind.clean(f, raw)
            except (ValueError, FieldValueError):
                values[f.name] = None
        return values

    def probe(self, ctx: BlockContext, plan: FormPlan, form: Mapping[str, Any]) -> Response:
        """200 JSON `{"fields": {name: {visible, required}}}` for the input so far."""
        states = plan.states(self.current_values(ctx, plan, form), ctx.actor)
        body = json.dumps({"fields": states}, separators=(",", ":"))
        response = Response(body, mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- GET ------------------------------------------------------------------------------
    def render(self, ctx: BlockContext) -> Markup:
        """The form (with the submitted input and errors after a failed POST)."""
        plan = self.plan(ctx)
        if plan is None:
            return Markup("")
        cfg: FormBlock = ctx.block.config
        errors: Mapping[str, list[str]] = ctx.errors or {}
        submitted = ctx.form if errors else None
        fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
        factory = WidgetFactory(fmt, f"b{ctx.block.index}")
        # after a failed submission the conditions follow what was submitted
        current = self.current_values(ctx, plan, submitted) if submitted else plan.values
        states = plan.states(current, ctx.actor)
        widgets = []
        for f in plan.inputs:
            state = states.get(f.name)
            w = factory.widget(
                f,
                value=plan.values.get(f.name),
                form=submitted,
                errors=errors.get(f.name),
                required=state["required"] if state is not None else None,
            )
            if state is not None and not state["visible"]:
                w.attrs["disabled"] = "disabled"
            widgets.append(w)
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
            if name != NON_FIELD and name not in shown:
                top.extend(f"{fmt.column_label(plan.entity, name)}: {m}" for m in msgs)
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
                multipart=any(f.type == "file" for f in plan.inputs),
                submit_label=submit,
                cancel_url=cancel,
            )
        )

    # -- POST -----------------------------------------------------------------------------
    def handle_post(self, ctx: BlockContext) -> Response | None:
        """Validate and save; None re-renders the page with errors (422)."""
        plan = self.plan(ctx)
        if plan is None:
            abort(403)
        form: MultiDict[str, Any] = MultiDict(ctx.form or {})
        if form.get("_probe"):
            return self.probe(ctx, plan, form)
        raw, errors = self.read(ctx, plan, form)
        ctx.form = form
        if errors:
            ctx.errors = errors
            return None
        store, entity = ctx.store, plan.entity
        try:
            if plan.record is None:
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

    def read(
        self, ctx: BlockContext, plan: FormPlan, form: MultiDict[str, Any]
    ) -> tuple[dict[str, Any], Errors]:
        """Raw values of the form's inputs (uploads stored), and errors found on the way."""
        raw: dict[str, Any] = {}
        errors: Errors = {}
        for f in plan.inputs:
            if f.name in plan.conditional and f.type != "file" and f.name not in form:
                continue  # hidden in the browser (disabled): the store decides its value
            try:
                if f.type == "file":
                    self.read_file(ctx, plan, f, form, raw)
                    continue
                value = read_field(f, form)
                if f.type == "ref" and isinstance(value, str):
                    value = resolve_ref(ctx.store, ctx.actor, getattr(f.config, "to", ""), value)
                raw[f.name] = value
            except (ValueError, UploadRejected) as exc:
                message = exc.message if isinstance(exc, UploadRejected) else str(exc)
                params = exc.params if isinstance(exc, UploadRejected) else {}
                errors[f.name] = [
                    message_text(ctx.locale, FieldMessage("invalid", message, params))
                ]
        return raw, errors

    def read_file(
        self,
        ctx: BlockContext,
        plan: FormPlan,
        f: Field,
        form: MultiDict[str, Any],
        raw: dict[str, Any],
    ) -> None:
        """Store a new upload, or keep the one uploaded before a failed submission."""
        upload: Any = ctx.files.get(f.name) if ctx.files is not None else None
        if upload is not None and upload.filename:
            try:
                file_id = save_upload(ctx.portal, ctx.actor, f.config, upload, files_root())
            except UploadTooLarge:
                abort(413)
            raw[f.name] = file_id
            form[f.name + KEPT_SUFFIX] = file_id
            return
        kept = form.get(f.name + KEPT_SUFFIX)
        if kept:
            if not owned_by(ctx.store.engine, ctx.portal.slug, str(kept), ctx.actor):
                form.pop(f.name + KEPT_SUFFIX, None)
                raise UploadRejected("file", "the uploaded file is not available; choose it again")
            raw[f.name] = str(kept)
        elif form.get(f.name + CLEAR_SUFFIX) and plan.record is not None:
            raw[f.name] = None

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
