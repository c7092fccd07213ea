"""List cells compiled once per portal version and locale.

A `ColumnCells` holds what is constant for one column of one entity in one locale: its heading,
the `<td data-label="…">` that opens its cells and, for choices, tags and yes/no fields, the
finished markup of every value. It is built on first use and kept in the portal version's cache
(a new version builds its own), so a list page looks up no label and formats no constant per
cell. `rows_html` joins a page's rows from these pieces: every value is escaped exactly once,
where its markup is made, and the pieces are concatenated as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from portalis.engine.data.rows import Record
from portalis.engine.definition.model import Entity, Field

from .display import SYSTEM_LABELS, Formatter
from .registry import RuntimePortal

EMPTY = Markup("")
#: The whitespace of the list template around rows and cells, kept so the page is unchanged.
ROW_OPEN = Markup("\n        <tr>")
ROW_CLOSE = Markup("\n        </tr>")
CELL_CLOSE = Markup("</td>")


@dataclass(frozen=True, slots=True)
class ColumnCells:
    """One column of one entity in one locale: heading, cell opening and fixed markup."""

    name: str
    label: str
    open_cell: Markup
    field: Field | None
    #: finished markup per stored value (choice values, tags, True/False)
    fixed: Mapping[Any, Markup]

    def html(self, fmt: Formatter, record: Record, *, link: bool) -> Markup:
        """The cell's content for `record` (empty when the value is absent or masked)."""
        values = record.values
        if self.name not in values:
            return EMPTY
        value = values[self.name]
        if value is None:
            return EMPTY
        field_ = self.field
        if field_ is None:
            return fmt.system_html(self.name, value) if self.name in SYSTEM_LABELS else EMPTY
        kind = field_.type
        if kind == "choice":
            return self.fixed.get(value) or fmt.value_html(field_, value)
        if kind == "bool":
            return self.fixed[bool(value)]
        if kind == "tags":
            return Markup("".join(self.fixed.get(t) or fmt.tag_html(field_, t) for t in value))
        return fmt.value_html(field_, value, link=link, short=True)


def column_cells(portal: RuntimePortal, fmt: Formatter, entity: Entity, name: str) -> ColumnCells:
    """The compiled cells of column `name` in the formatter's locale (built on first use)."""
    key = ("list-cells", entity.name, name, fmt.locale)
    found: ColumnCells | None = portal.cache.get(key)
    if found is None:
        found = _compile(fmt, entity, name)
        portal.cache[key] = found
    return found


def _compile(fmt: Formatter, entity: Entity, name: str) -> ColumnCells:
    heading = fmt.column_label(entity, name)
    open_cell = Markup('\n          <td data-label="{}">').format(heading)
    field_ = None if name in SYSTEM_LABELS else entity.fields.get(name)
    fixed: dict[Any, Markup] = {}
    if field_ is not None and field_.type == "choice":
        for choice in getattr(field_.config, "choices", ()):
            fixed[choice.value] = fmt.value_html(field_, choice.value)
    elif field_ is not None and field_.type == "tags":
        for choice in getattr(field_.config, "choices", ()):
            fixed[choice.value] = fmt.tag_html(field_, choice.value)
    elif field_ is not None and field_.type == "bool":
        fixed = {True: escape(fmt.gettext("Yes")), False: escape(fmt.gettext("No"))}
    return ColumnCells(name, heading, open_cell, field_, fixed)


def rows_html(
    columns: Sequence[ColumnCells],
    fmt: Formatter,
    records: Sequence[Record],
    url_of: Callable[[int], str] | None,
) -> Markup:
    """The `<tr>` rows of a list; the first cell links to the record when `url_of` is given."""
    parts: list[str] = []
    for record in records:
        parts.append(ROW_OPEN)
        url = url_of(record.id) if url_of is not None else None
        for i, column in enumerate(columns):
            parts.append(column.open_cell)
            if i == 0 and url:
                cell = column.html(fmt, record, link=False) or escape(f"#{record.id}")
                parts.append(f'<a class="row-link" href="{escape(url)}">{cell}</a>')
            else:
                parts.append(column.html(fmt, record, link=True))
            parts.append(CELL_CLOSE)
        parts.append(ROW_CLOSE)
    # every part is markup or built from escaped values where it was made: joined as it is,
    # never escaped again
    return Markup("".join(parts))
