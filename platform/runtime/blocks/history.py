"""The history panel of a detail page: who changed what and when, from the audit log.

Shown only to the roles the detail block names (`history: {roles: [...]}`). Each entry says
who acted (for automations: on whose behalf, and through what), when (in the viewer's locale,
like every other date), and what: created, changed fields with old → new, a transition from
→ to with its comment, an approval towards a quorum, deleted. Only fields the viewer may read appear, formatted exactly as
the detail block formats them; an update that touched only hidden fields is left out.

The panel costs a fixed number of queries whatever the number of entries: one for the
entries, one for the actors' names, one per reference field shown and one for file names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import render_template
from markupsafe import Markup

from portalis.engine.data import audit
from portalis.engine.data.rows import Record
from portalis.engine.definition.model import Entity, Field

from ..audit_via import via_text
from ..display import Formatter
from .base import BlockContext

#: The newest entries shown; older ones are summarised as "earlier changes".
HISTORY_LIMIT = 100


@dataclass(slots=True)
class Change:
    """One changed field of an entry, formatted for display."""

    name: str
    label: str
    old: Markup
    new: Markup


@dataclass(slots=True)
class HistoryItem:
    """One entry of the panel."""

    id: int
    action: str
    at: Markup
    who: Markup
    via: str | None = None
    transition: str | None = None
    state_from: Markup | None = None
    state_to: Markup | None = None
    comment: str | None = None
    #: for approvals towards a quorum: (given, needed)
    progress: tuple[int, int] | None = None
    #: for attached documents: the document's name and version
    document: str | None = None
    version: int | None = None
    changes: list[Change] = field(default_factory=list)


def history_visible(ctx: BlockContext) -> bool:
    """True when the viewer holds one of the roles the block shows its history to."""
    roles: frozenset[str] = getattr(ctx.block.config, "history_roles", frozenset())
    return bool(roles & ctx.actor.roles)


def render_history(ctx: BlockContext, entity: Entity, record: Record) -> Markup:
    """The history panel of `record` (empty for viewers whose roles may not see it)."""
    if not history_visible(ctx):
        return Markup("")
    store = ctx.store
    with store.reading() as conn:
        entries = audit.history(
            conn,
            portal=ctx.portal.slug,
            entity=entity.name,
            record_id=record.id,
            limit=HISTORY_LIMIT + 1,
        )
    more = len(entries) > HISTORY_LIMIT
    entries = _current_life(entries[:HISTORY_LIMIT])
    fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
    items = _Builder(ctx, entity, fmt).build(entries)
    return Markup(
        render_template(
            "blocks/history.html", block=ctx.block, entity=entity, items=items, more=more
        )
    )


def _current_life(entries: list[audit.AuditEntry]) -> list[audit.AuditEntry]:
    """Entries since the record's newest create (newest first): SQLite may hand a deleted
    record's id to a new record, and the new one must not inherit the old history."""
    for index, entry in enumerate(entries):
        if entry.action == "create":
            return entries[: index + 1]
    return entries


class _Builder:
    """Turns audit entries into display items for one viewer."""

    def __init__(self, ctx: BlockContext, entity: Entity, fmt: Formatter) -> None:
        self.ctx = ctx
        self.entity = entity
        self.fmt = fmt
        self.readable = ctx.store.policy.field_mask(ctx.actor, entity.name, "read")
        self.model = ctx.portal.compiled.model

    def build(self, entries: list[audit.AuditEntry]) -> list[HistoryItem]:
        """Items for `entries`, with every look-up batched over all of them."""
        revived = [self.values(entry) for entry in entries]
        pseudo = [Record(self.entity.name, side) for pair in revived for side in pair]
        shown = sorted({name for old, new in revived for name in (*old, *new)})
        self.fmt.prepare(self.entity, shown, pseudo)
        ids = [e.actor_id for e in entries if e.actor_id is not None]
        names = self.ctx.store.titles(self.ctx.actor, "user", ids, names_only=True) if ids else {}
        items = []
        for entry, (old, new) in zip(entries, revived, strict=True):
            item = self.item(entry, Record(self.entity.name, old), Record(self.entity.name, new))
            if entry.action == "update" and not item.changes:
                continue  # only fields this viewer may not read changed
            item.who = self.who(entry, names)
            items.append(item)
        return items

    def values(self, entry: audit.AuditEntry) -> tuple[dict[str, Any], dict[str, Any]]:
        """Old and new values of the changed fields this viewer may read, in Python form."""
        return audit.revive_changes(self.ctx.store, self.entity, entry.changes, self.readable)

    def item(self, entry: audit.AuditEntry, old: Record, new: Record) -> HistoryItem:
        """The display item of one entry (`who` is filled in by the caller)."""
        detail = entry.detail
        item = HistoryItem(entry.id, entry.action, self.when(entry.at), Markup(""))
        via = detail.get("via")
        item.via = via_text(str(via), self.fmt) if via else None
        comment = detail.get("comment")
        item.comment = str(comment) if comment else None
        if entry.action.startswith("attachment_"):
            item.document = str(detail.get("name") or "")
            number = detail.get("version")
            item.version = number if isinstance(number, int) else None
        state_field = None
        if entry.action in ("transition", "approve"):
            state_field = self.transition(item, detail)
        if entry.action == "approve":
            given, needed = detail.get("approvals"), detail.get("needed")
            if isinstance(given, int) and isinstance(needed, int):
                item.progress = (given, needed)
        for name in old:
            if name == state_field:
                continue  # shown as the transition's from → to
            fld = self.entity.fields[name]
            item.changes.append(
                Change(
                    name,
                    self.fmt.label(fld.label, name),
                    self.fmt.html(self.entity, name, old, link=False),
                    self.fmt.html(self.entity, name, new, link=False),
                )
            )
        return item

    def transition(self, item: HistoryItem, detail: Any) -> str | None:
        """Fill in the transition's label and states; returns the state field's name."""
        workflow = self.model.workflows.get(str(detail.get("workflow")))
        name = str(detail.get("transition") or "")
        transition = workflow.transitions.get(name) if workflow is not None else None
        item.transition = self.fmt.label(transition.label, name) if transition else name
        if workflow is None:
            return None
        state = self.entity.fields.get(workflow.field)
        if state is not None and workflow.field in self.readable:
            item.state_from = self.state(state, detail.get("from"))
            item.state_to = self.state(state, detail.get("to"))
        return workflow.field

    def state(self, state: Field, value: Any) -> Markup:
        """A workflow state as the detail block shows it (a labelled badge)."""
        if value is None:
            return Markup("")
        return self.fmt.value_html(state, value, link=False)

    def who(self, entry: audit.AuditEntry, names: dict[int, str]) -> Markup:
        """The actor's name; "System" for automations without a user behind them."""
        if entry.actor_id is None:
            name = self.fmt.gettext("System")
        else:
            name = names.get(int(entry.actor_id)) or self.fmt.gettext("Unknown user")
        return Markup("<strong>{}</strong>").format(name)

    def when(self, at: datetime) -> Markup:
        """The entry's time like every other timestamp of the portal, machine-readable too."""
        iso = at.astimezone(UTC).isoformat(timespec="seconds")
        return Markup('<time datetime="{}">{}</time>').format(iso, self.fmt.datetime_text(at))
