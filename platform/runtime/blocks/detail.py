"""The `detail` block: one record's readable fields and the actions the actor may take.

Buttons appear only when the action would be allowed: `edit` (a link to the entity's edit
page when the actor may update this record), `delete` (a confirmed POST) and one button per
available workflow transition (with a small form for its `require`d fields). Every action
form carries the record's version, so a stale page gets 409 instead of overwriting.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import render_template
from markupsafe import Markup

from portalis.engine import workflow
from portalis.engine.expressions import EvaluationError
from portalis.engine.model import DetailBlock, Entity, Field
from portalis.engine.permissions import Actor
from portalis.engine.records import Record
from portalis.engine.store import RecordStore

from ..display import Formatter, page_for
from ..templating import label
from ..urls import page_url, portal_url
from ..widgets import WidgetFactory
from .base import BlockContext, BlockType


def field_visible(field: Field, record: Record, actor: Actor) -> bool:
    """False when the field's `visible_when` is false (or cannot be evaluated) for `record`."""
    if field.visible_when is None:
        return True
    try:
        return bool(field.visible_when.test(record=dict(record.values), actor=actor))
    except EvaluationError:
        return False


def record_rights(
    store: RecordStore, actor: Actor, entity: str, record_id: int, actions: tuple[str, ...]
) -> frozenset[str]:
    """Which of `actions` the actor may take on this record (one query for all of them)."""
    policy = store.policy
    flags = [
        sa.case((policy.row_filter(actor, entity, a), 1), else_=0).label(a)
        for a in actions
        if policy.grants_for(actor, entity, a)
    ]
    if not flags:
        return frozenset()
    table = store.tables[entity]
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(*flags).where(table.c.id == record_id)).mappings().first()
    return frozenset(k for k, v in (row or {}).items() if v)


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
        rights = record_rights(ctx.store, ctx.actor, entity.name, record.id, ("update", "delete"))
        return Markup(
            render_template(
                "blocks/detail.html",
                block=ctx.block,
                page_name=ctx.page.name,
                entity=entity,
                record=record,
                items=items,
                meta=self.meta(entity, record, fmt),
                edit_url=self.edit_url(ctx, entity, record, rights),
                delete_url=portal_url(f"/_act/{entity.name}/{record.id}/delete")
                if "delete" in cfg.actions and "delete" in rights
                else None,
                transitions=self.transitions(ctx, entity, record, fmt)
                if "transitions" in cfg.actions
                else [],
                transition_url=portal_url(f"/_act/{entity.name}/{record.id}/transition"),
            )
        )

    def meta(self, entity: Entity, record: Record, fmt: Formatter) -> dict[str, Markup]:
        """Who created the record and when; when it last changed."""
        return {
            "created_by": fmt.html(entity, "created_by", record),
            "created_at": fmt.html(entity, "created_at", record),
            "updated_at": fmt.html(entity, "updated_at", record),
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
        """Available transitions, each with widgets for its required fields."""
        if not ctx.portal.compiled.model.workflow_for(entity.name):
            return []
        factory = WidgetFactory(fmt, f"b{ctx.block.index}")
        out = []
        for item in workflow.available(ctx.store, ctx.actor, entity.name, record.id):
            if not item.allowed:
                continue
            tr = item.transition
            widgets = [
                factory.widget(
                    entity.fields[name],
                    value=record.get(name),
                    name=name,
                    required=True,
                )
                for name in tr.require
                if name in entity.fields
            ]
            for w in widgets:
                w.id = f"b{ctx.block.index}-{tr.name}-{w.name}"
            out.append({"name": tr.name, "label": label(tr.label, tr.name), "widgets": widgets})
        return out
