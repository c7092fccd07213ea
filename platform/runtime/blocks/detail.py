"""The `detail` block: one record's readable fields and the actions the actor may take.

Buttons appear only when the action would be allowed: `edit` (a link to the entity's edit
page when the actor may update this record), `delete` (a confirmed POST), `copy` (a POST that
copies the record with its children, when the actor may create them all) and one button per
available workflow transition, with a small form for its comment (`required` when the
transition requires one) and its `require`d fields, and its approval progress ("1 of 2
approvals"). Transitions the actor could take in principle but not now — a false condition,
someone else's assignment, their own record, an approval already given — are shown disabled
with the reason. Transition forms post to the page itself (`handle_post`), so a refused form
comes back with what was typed; every action form carries the record's version, so a stale
page gets 409 instead of overwriting. The history panel follows for the roles the block
names (`history: {roles: [...]}`). The entity's printouts the actor may print are offered as
PDF downloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from flask import Response, abort, flash, redirect, render_template
from markupsafe import Markup

from portalis.engine.data.errors import (
    NON_FIELD,
    Forbidden,
    NotFound,
    StaleRecord,
    ValidationFailed,
)
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import DetailBlock
from portalis.engine.definition.flow_model import Transition
from portalis.engine.definition.model import Entity, Field
from portalis.engine.expr.expressions import EvaluationError
from portalis.engine.flow import workflow
from portalis.engine.flow.copying import can_copy
from portalis.engine.flow.rights import record_rights
from portalis.engine.flow.workflow import COMMENT_KEY

from ..display import Formatter, page_for
from ..forms.base import formdata
from ..forms.view import FormRenderer
from ..printouts import printout_url, printouts_offered
from ..templating import gettext, label
from ..transition_form import (
    done_message,
    error_lines,
    progress_text,
    read_submission,
    reason_text,
    transition_conflict,
    transition_form,
    transition_name,
    translated,
)
from ..urls import page_url, portal_url
from .base import BlockContext, BlockType
from .history import render_history


def field_visible(field: Field, record: Record, actor: Actor) -> bool:
    """False when the field's `visible_when` is false (or cannot be evaluated) for `record`."""
    if field.visible_when is None:
        return True
    try:
        return bool(field.visible_when.test(record=dict(record.values), actor=actor))
    except EvaluationError:
        return False


class DetailBlockType(BlockType):
    """Renders `detail` blocks."""

    name = "detail"

    def render(self, ctx: BlockContext) -> Markup:
        """The record's fields as a description list, with its action buttons."""
        cfg: DetailBlock = ctx.block.config
        record = ctx.record
        if record is None or record.entity != cfg.entity:
            return Markup("")
        entity = ctx.store.entity(cfg.entity)
        names = cfg.fields or tuple(entity.fields)
        shown = [
            n
            for n in names
            if n in record
            and (n not in entity.fields or field_visible(entity.fields[n], record, ctx.actor))
        ]
        fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
        fmt.prepare(entity, [*shown, "created_by"], [record])
        items = [
            {"name": n, "label": fmt.column_label(entity, n), "value": fmt.html(entity, n, record)}
            for n in shown
        ]
        offered = ("update", "delete")  # transitions have their own, more detailed answer
        rights = record_rights(ctx.store, ctx.actor, entity.name, record.id, actions=offered)
        allowed = rights.actions
        return Markup(
            render_template(
                "blocks/detail.html",
                block=ctx.block,
                page_name=ctx.page.name,
                entity=entity,
                record=record,
                items=items,
                meta=self.meta(entity, record, fmt),
                edit_url=self.edit_url(ctx, entity, record, allowed),
                delete_url=portal_url(f"/_act/{entity.name}/{record.id}/delete")
                if "delete" in cfg.actions and "delete" in allowed
                else None,
                copy=self.copy_button(ctx, entity, record),
                transitions=self.transitions(ctx, entity, record, fmt)
                if "transitions" in cfg.actions
                else [],
                transition_url=page_url(ctx.page.name, record.id),
                history=render_history(ctx, entity, record),
                printouts=[
                    {
                        "label": label(p.label, p.name),
                        "url": printout_url(entity.name, record.id, p.name),
                    }
                    for p in printouts_offered(ctx.store, ctx.actor, record)
                ],
            )
        )

    def meta(self, entity: Entity, record: Record, fmt: Formatter) -> dict[str, Markup]:
        """Who created the record and when; when it last changed."""
        return {
            "created_by": fmt.html(entity, "created_by", record),
            "created_at": fmt.html(entity, "created_at", record),
            "updated_at": fmt.html(entity, "updated_at", record),
        }

    def copy_button(
        self, ctx: BlockContext, entity: Entity, record: Record
    ) -> dict[str, str] | None:
        """The copy button's URL and text, when the block offers `copy` and the actor may
        create the copy and its children."""
        cfg: DetailBlock = ctx.block.config
        if "copy" not in cfg.actions or entity.copy is None:
            return None
        if not can_copy(ctx.store, ctx.actor, entity.name):
            return None
        return {
            "url": portal_url(f"/_act/{entity.name}/{record.id}/copy"),
            "label": label(entity.copy.label, "") or gettext("Copy"),
        }

    def edit_url(
        self, ctx: BlockContext, entity: Entity, record: Record, rights: frozenset[str]
    ) -> str | None:
        """The edit page of this record, when there is one and the actor may update it."""
        cfg: DetailBlock = ctx.block.config
        if "edit" not in cfg.actions or "update" not in rights:
            return None
        page = page_for(ctx.portal, ctx.actor, "edit", entity.name)
        return page_url(page.name, record.id) if page is not None else None

    def transitions(
        self, ctx: BlockContext, entity: Entity, record: Record, fmt: Formatter
    ) -> list[dict[str, Any]]:
        """The transitions to show: available ones with their comment box and required
        fields, and those the actor could take in principle but not now (condition false,
        not the assignee, already approved, …) disabled with the reason."""
        if not ctx.portal.compiled.model.workflow_for(entity.name):
            return []
        renderer = FormRenderer(fmt, f"b{ctx.block.index}")
        draft = ctx.form if ctx.errors is not None and ctx.form is not None else None
        drafted = transition_name(draft) if draft is not None else ""
        errors = ctx.errors or {}
        out = []
        for item in workflow.available(ctx.store, ctx.actor, entity.name, record.id):
            if not item.allowed and not item.eligible:
                continue
            tr = item.transition
            mine = draft if drafted == tr.name else None
            progress = item.progress
            # a refused form stays open with what was typed, even when the transition has
            # just become unavailable (its reason is then the form's error)
            shown = item.allowed or mine is not None
            entry: dict[str, Any] = {
                "name": tr.name,
                "label": label(tr.label, tr.name),
                "allowed": shown,
                "reason": None if item.allowed else reason_text(item, entity),
                "progress": progress_text(progress) if progress is not None else None,
                "approved": progress is not None and progress.mine,
                "comment": tr.comment,
                "comment_id": f"b{ctx.block.index}-{tr.name}-comment",
                "comment_errors": errors.get(COMMENT_KEY, []) if mine is not None else [],
                "form_errors": [],
                "open": mine is not None,
                "widgets": [],
            }
            if shown:
                self.transition_inputs(ctx, renderer, entity, record, tr, mine, entry)
            if mine is not None:
                entry["form_errors"] = self.form_errors(entity, tr.comment, entry, errors)
            out.append(entry)
        return out

    def transition_inputs(
        self,
        ctx: BlockContext,
        renderer: FormRenderer,
        entity: Entity,
        record: Record,
        tr: Transition,
        mine: Mapping[str, Any] | None,
        entry: dict[str, Any],
    ) -> None:
        """The inputs of a transition's form (its required fields and its comment), showing
        the record's values, or what was typed into a refused form with its errors."""
        form = transition_form(ctx.portal, entity, tr, ctx.locale)
        if mine is not None:
            form.process(formdata=formdata(mine))
        else:
            form.process(data=dict(record.values))
        errors = (ctx.errors or {}) if mine is not None else {}
        entry["widgets"] = [
            renderer.view(
                form[name],
                entity.fields[name],
                stored=record.get(name),
                errors=errors.get(name),
                required=True,
                id=f"b{ctx.block.index}-{tr.name}-{name}",
            )
            for name in tr.require
            if name in entity.fields and name in form
        ]
        if COMMENT_KEY in form and tr.comment != "none":
            comment = form[COMMENT_KEY]
            comment.id = entry["comment_id"]
            failed = bool(entry["comment_errors"])
            entry["comment_control"] = comment.widget(
                comment,
                required=tr.comment == "required",
                aria_invalid="true" if failed else None,
                aria_describedby=f"{comment.id}-error" if failed else None,
            )

    def form_errors(
        self, entity: Entity, comment: str, entry: dict[str, Any], errors: Mapping[str, list[str]]
    ) -> list[str]:
        """The errors of a refused transition form not shown next to one of its inputs:
        the form's own, and those of fields it has no input for (`Label: message`)."""
        covered = {w.field_name for w in entry["widgets"]}
        if comment != "none":
            covered.add(COMMENT_KEY)
        out = list(errors.get(NON_FIELD, []))
        for name, messages in errors.items():
            if name != NON_FIELD and name not in covered:
                out.extend(error_lines(entity, {name: messages}))
        return out

    # -- POST -------------------------------------------------------------------------------
    def handle_post(self, ctx: BlockContext) -> Response | None:
        """A transition form of this block: take it and go back to the record; a refused
        form (missing comment or field) re-renders the page with what was typed and the
        errors; a stale version answers 409 showing the comment."""
        cfg: DetailBlock = ctx.block.config
        record = ctx.record
        form = ctx.form or {}
        if record is None or record.entity != cfg.entity or "transitions" not in cfg.actions:
            abort(404)
        store = ctx.store
        entity = store.entity(cfg.entity)
        try:
            _, tr = workflow.find(store, entity, transition_name(form))
        except NotFound:
            abort(404)
        sub = read_submission(ctx.portal, ctx.actor, entity, tr, form, ctx.locale)
        here = page_url(ctx.page.name, record.id)
        if sub.errors:
            ctx.errors = sub.errors
            return None
        try:
            outcome = workflow.take(
                store, ctx.actor, entity.name, record.id, tr.name,
                expected_version=sub.version, values=sub.values, comment=sub.comment,
            )  # fmt: skip
        except NotFound:
            abort(404)
        except workflow.TransitionUnavailable as exc:
            if not exc.availability.eligible:
                abort(403)
            # not available any more (its condition turned false, …): say why, keep the input
            ctx.errors = {NON_FIELD: [reason_text(exc.availability, entity)]}
            return None
        except Forbidden:
            abort(403)
        except StaleRecord:
            return transition_conflict(here, entity, tr, sub)
        except ValidationFailed as exc:
            ctx.errors = translated(exc.errors, ctx.locale)
            return None
        flash(done_message(outcome), "success")
        if outcome.record is None:  # the new state put the record out of the actor's reach
            listing = page_for(ctx.portal, ctx.actor, "list", entity.name)
            target = page_url(listing.name) if listing else portal_url("/")
            return cast(Response, redirect(target, 303))
        return cast(Response, redirect(here, 303))
