"""A list block's bulk actions on the page: the checkbox cell of each row and what the
template needs for the action bar (the form's URL, the actions offered to the reader), and
the link to the list's CSV import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import request
from markupsafe import Markup

from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import ListBlock
from portalis.engine.definition.model import Entity

from ..bulk_run import bar_actions
from ..import_run import ImportConfig, import_fields
from ..templating import csrf_input, gettext
from ..urls import portal_url
from .base import BlockContext


@dataclass(frozen=True, slots=True)
class BulkBar:
    """The action bar of a list: where it posts and the (index, label) of its actions."""

    url: str
    actions: list[tuple[int, str]]
    parent_id: int | None


def bulk_bar(ctx: BlockContext, cfg: ListBlock, parent_id: int | None) -> BulkBar | None:
    """The bar when the block declares bulk actions the reader may take, else None."""
    if not cfg.bulk:
        return None
    actions = bar_actions(ctx.store, ctx.actor, cfg)
    if not actions:
        return None
    url = portal_url(f"/_bulk/{ctx.page.name}/{ctx.block.index}")
    return BulkBar(url, actions, parent_id)


def import_url(ctx: BlockContext, cfg: ListBlock) -> str | None:
    """The list's import page when it has `import:` and the reader may create records."""
    if cfg.csv_import is None or cfg.parent:
        return None
    if not import_fields(ctx.store, ctx.actor, ImportConfig(cfg)):
        return None
    return portal_url(f"/_import/{ctx.page.name}/{ctx.block.index}")


def bulk_hidden() -> Markup:
    """The bulk form's session-bound fields: the CSRF token and the page to go back to."""
    back = Markup('<input type="hidden" name="back" value="{}">').format(request.full_path)
    return csrf_input() + back


def select_cell(block_index: int, entity: Entity) -> Callable[[Record], Markup]:
    """The leading cell of a row: its checkbox (`ids`) and its id for "all on this page"
    (`page_ids`), labelled with the record's title."""
    heading = gettext("Select")

    def cell(record: Record) -> Markup:
        title = entity.title_of(record.values)
        return Markup(
            '\n          <td class="select-cell" data-label="{heading}">'
            '<input type="hidden" name="page_ids" value="{id}">'
            '<input type="checkbox" name="ids" value="{id}" id="b{block}-sel-{id}"'
            ' aria-label="{label}"></td>'
        ).format(
            heading=heading,
            id=record.id,
            block=block_index,
            label=gettext("Select %(title)s", title=title),
        )

    return cell
