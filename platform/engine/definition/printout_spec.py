"""An entity's `printouts:`: documents generated from a record (an invoice, a statement of
account), each an HTML template of the definition folder rendered to PDF.

The declaration names the template file, the download's file name (a pattern over the
record's fields), the paper, who may print (`roles`, a `when` condition) and the related
records the template lists (`lists:`, each the records of an entity whose ref points at the
printed record, optionally with lists of their own). The runtime renders the template in
Jinja's sandbox with only what the actor may read, turns it into PDF and keeps the result
per record version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..expr.expressions import Expression
from .values import Label, frozen_map

#: Paper sizes a printout may name (CSS `@page` sizes WeasyPrint knows).
PAPER_SIZES: Final = ("A4", "A5", "A3", "letter", "legal")
#: Rows one list of a printout holds at most (a statement is not a data export).
MAX_LIST_ROWS: Final = 500
#: How deep `lists:` may nest (a list of invoices, each with its payments).
MAX_LIST_DEPTH: Final = 2
#: `{field}` placeholders of a file name pattern.
PLACEHOLDER: Final = re.compile(r"\{([a-z][a-z0-9_]{0,39})\}")


@dataclass(frozen=True, slots=True)
class PrintoutList:
    """Related records a printout shows: those of `entity` whose ref `via` points at the
    record above, filtered by `where` (field → value), in `sort` order, with nested `lists`."""

    name: str
    entity: str
    via: str
    where: Mapping[str, Any] = field(default_factory=frozen_map)
    sort: str | None = None
    limit: int = MAX_LIST_ROWS
    lists: tuple[PrintoutList, ...] = ()


@dataclass(frozen=True, slots=True)
class Printout:
    """One printout of an entity."""

    name: str
    label: Label
    #: path of the HTML template inside the definition folder
    template: str
    #: the download's name: `{field}` placeholders filled with the record's values
    filename: str
    paper: str = "A4"
    landscape: bool = False
    #: roles that may print it (None: whoever may read the record)
    roles: frozenset[str] | None = None
    when: Expression | None = None
    lists: tuple[PrintoutList, ...] = ()

    @property
    def page_css(self) -> str:
        """The `@page` rule of the declared paper (a template's own CSS may refine it)."""
        return f"@page {{ size: {self.paper} {'landscape' if self.landscape else 'portrait'} }}"


def compile_lists(raw: Mapping[str, Any] | None) -> tuple[PrintoutList, ...]:
    """The checked `lists:` of a printout (or of a list) as `PrintoutList`s."""
    return tuple(
        PrintoutList(
            name=name,
            entity=str(spec["entity"]),
            via=str(spec["via"]),
            where=frozen_map(dict(spec.get("where") or {})),
            sort=spec.get("sort"),
            limit=int(spec.get("limit", MAX_LIST_ROWS)),
            lists=compile_lists(spec.get("lists")),
        )
        for name, spec in (raw or {}).items()
    )


def compile_printout(
    name: str, raw: Mapping[str, Any], when: Expression | None, fallback: str
) -> Printout:
    """A checked printout declaration; `when` is its compiled condition."""
    roles = raw.get("roles")
    return Printout(
        name=name,
        label=Label.of(raw.get("label"), fallback),
        template=str(raw["template"]),
        filename=str(raw.get("filename") or f"{name}-{{id}}.pdf"),
        paper=str(raw.get("paper", "A4")),
        landscape=raw.get("orientation") == "landscape",
        roles=frozenset(roles) if roles is not None else None,
        when=when,
        lists=compile_lists(raw.get("lists")),
    )
