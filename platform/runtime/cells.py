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

from .display import PLAIN_TEXT, SYSTEM_LABELS, Formatter, short_text
from .registry import RuntimePortal

EMPTY = Markup("")
#: The whitespace of the list template around rows and cells, kept so the page is unchanged.
ROW_OPEN = Markup("\n        <tr>")
ROW_CLOSE = Markup("\n        </tr>")
CELL_CLOSE = Markup("</td>")


#: Renders one present value of a column: (formatter, value, link) → markup.
CellRenderer = Callable[[Formatter, Any, bool], Markup]


@dataclass(frozen=True, slots=True)
class ColumnCells:
    """One column of one entity in one locale: heading, cell opening and fixed markup."""

    name: str
    label: str
    open_cell: Markup
    field: Field | None
    #: finished markup per stored value (choice values, tags, True/False)
    fixed: Mapping[Any, Markup]
    #: the renderer of this column's values, chosen by type when the column is compiled
    render: CellRenderer

    def html(self, fmt: Formatter, record: Record, *, link: bool) -> Markup:
        """The cell's content for `record` (empty when the value is absent or masked)."""
        value = record.values.get(self.name)
        return EMPTY if value is None else self.render(fmt, value, link)


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
    return ColumnCells(name, heading, open_cell, field_, fixed, _renderer(name, field_, fixed))


def _renderer(name: str, field_: Field | None, fixed: Mapping[Any, Markup]) -> CellRenderer:
    """The renderer of a column's values: what `Formatter.value_html` does for its type,
    with the type's branch taken once here instead of once per cell."""
    if field_ is None:
        if name not in SYSTEM_LABELS:
            return lambda fmt, value, link: EMPTY
        if name in ("created_at", "updated_at"):
            return lambda fmt, value, link: fmt.moment_html(value)
        return lambda fmt, value, link: fmt.system_html(name, value)
    kind = field_.type
    if kind == "choice":
        return lambda fmt, value, link: fixed.get(value) or fmt.value_html(field_, value)
    if kind == "bool":
        return lambda fmt, value, link: fixed[bool(value)]
    if kind == "tags":
        return lambda fmt, value, link: Markup(
            "".join(fixed.get(t) or fmt.tag_html(field_, t) for t in value)
        )
    if kind in PLAIN_TEXT:
        return lambda fmt, value, link: short_text(value)
    if kind in ("date", "datetime"):
        return lambda fmt, value, link: fmt.moment_html(value)
    if kind == "ref":
        # a page's rows often name the same few records (one account, one assignee): each
        # reference's markup is made once per page
        def reference(fmt: Formatter, value: Any, link: bool) -> Markup:
            key = (name, value, link)
            found = fmt.memo.get(key)
            if found is None:
                found = fmt.memo[key] = fmt.ref_html(field_, value, link=link)
            return found

        return reference
    return lambda fmt, value, link: fmt.value_html(field_, value, link=link, short=True)


def rows_html(
    columns: Sequence[ColumnCells],
    fmt: Formatter,
    records: Sequence[Record],
    url_of: Callable[[int], str] | None,
    select: Callable[[Record], Markup] | None = None,
) -> Markup:
    """The `<tr>` rows of a list; the first cell links to the record when `url_of` is given,
    and `select` makes a leading cell (the bulk actions' checkbox) when given."""
    if not columns:
        return Markup((ROW_OPEN + ROW_CLOSE) * len(records))
    first, rest = columns[0], columns[1:]
    # a row's markup around its cells, made once per page: each cell's content goes in a `%s`
    # (the static parts' own `%` doubled)
    row = "".join(
        [
            str(ROW_OPEN),
            "%s" if select is not None else "",
            *(str(c.open_cell).replace("%", "%%") + "%s" + str(CELL_CLOSE) for c in columns),
            str(ROW_CLOSE),
        ]
    )
    rows: list[str] = []
    for record in records:
        values = record.values
        value = values.get(first.name)
        url = url_of(record.id) if url_of is not None else None
        if url:
            cell = (None if value is None else first.render(fmt, value, False)) or escape(
                f"#{record.id}"
            )
            head: str = f'<a class="row-link" href="{escape(url)}">{cell}</a>'
        else:
            head = EMPTY if value is None else first.render(fmt, value, True)
        cells = [select(record), head] if select is not None else [head]
        for column in rest:
            value = values.get(column.name)
            cells.append(EMPTY if value is None else column.render(fmt, value, True))
        rows.append(row % tuple(cells))
    # every cell is markup or built from escaped values where it was made: joined as it is,
    # never escaped again
    return Markup("".join(rows))
