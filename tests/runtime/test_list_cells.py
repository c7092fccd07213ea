"""List cells compiled per portal version and locale: no per-cell look-ups, the same markup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import g, render_template_string

from portalis.engine.definition.fieldtypes import Money
from portalis.runtime.blocks.listing import LIST_SYSTEM_COLUMNS
from portalis.runtime.cells import column_cells, rows_html
from portalis.runtime.display import Formatter
from portalis.runtime.urls import page_url
from portalis.testing.web import WebPortal, app_state

#: The list template's rows before cells were compiled: one macro-free loop per cell.
PER_CELL = """<tbody>
        {%- for row in rows %}
        <tr>
          {%- for header, cell in row.cells %}
          <td data-label="{{ header }}">{% if loop.first and row.url %}<a class="row-link" href="{{ row.url }}">{{ cell or ("#" ~ row.id) }}</a>{% else %}{{ cell }}{% endif %}</td>
          {%- endfor %}
        </tr>
        {%- endfor %}"""


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path)
    yield portal
    portal.close()


def add_tickets(web: WebPortal, email: str, count: int) -> None:
    store, actor = web.store, web.actor(email)
    for i in range(count):
        store.insert(actor, "ticket", {"subject": f"Bulk {i:03d}", "priority": "low"})


def count_calls(monkeypatch: pytest.MonkeyPatch, *names: str) -> list[str]:
    """Record every call of the named `Formatter` methods."""
    calls: list[str] = []
    for name in names:
        real = getattr(Formatter, name)

        def counting(self: Formatter, *args: Any, _real: Any = real, _name: str = name) -> Any:
            calls.append(_name)
            return _real(self, *args)

        monkeypatch.setattr(Formatter, name, counting)
    return calls


def test_no_label_look_ups_per_cell_after_warm_up(
    web: WebPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_tickets(web, "anna@acme.test", 60)
    add_tickets(web, "nina@globex.test", 60)
    sam = web.client("sam@support.test")
    assert sam.get("/tickets?size=100&lang=en").status_code == 200  # warm up
    calls = count_calls(monkeypatch, "column_label", "label", "gettext", "choice_label")
    for size in (10, 100):
        html = sam.get(f"/tickets?size={size}").text
        assert html.count('class="row-link"') == size
    assert calls == []
    # another locale compiles its own cells: once per column, not once per row
    html = sam.get("/tickets?size=100&lang=de").text
    assert 'data-label="Betreff"' in html
    assert calls.count("column_label") == 6


def test_cells_are_kept_with_the_portal_version(web: WebPortal) -> None:
    sam = web.client("sam@support.test")
    assert sam.get("/tickets?lang=fr").status_code == 200
    portal = app_state(web.app).registry.require(web.slug)
    cells = portal.cache[("list-cells", "ticket", "priority", "fr")]
    assert cells.label == "Priorité"
    assert 'data-label="Priorité"' in cells.open_cell


@pytest.mark.parametrize("locale", ["en", "de"])
def test_rows_are_the_markup_of_per_cell_rendering(web: WebPortal, locale: str) -> None:
    """Every field type and system column renders as the per-cell template rendered it."""
    anna = web.actor("anna@acme.test")
    web.store.insert(
        anna,
        "ticket",
        {
            "subject": 'Tags <b>&</b> "money"',
            "body": "x" * 300,
            "priority": "urgent",
            "tags": ["billing", "not-a-choice"],
            "amount": Money(Decimal("1234.5"), "EUR"),
            "due": date(2027, 3, 1),
        },
    )
    sam = web.actor("sam@support.test")
    app = web.app
    with app.test_request_context(f"/{web.slug}/tickets"):
        portal = app_state(app).registry.require(web.slug)
        g.portal, g.locale = portal, locale
        entity = portal.compiled.model.entities["ticket"]
        columns = [*entity.fields, *LIST_SYSTEM_COLUMNS]
        records = portal.store.list(sam, "ticket", page_size=50, count=False).records
        fmt = Formatter(portal, sam, locale)
        fmt.prepare(entity, columns, records)
        for linked in (True, False):
            expected = render_template_string(
                PER_CELL,
                rows=[
                    {
                        "id": r.id,
                        "url": page_url("ticket", r.id) if linked else None,
                        "cells": [
                            (
                                fmt.column_label(entity, c),
                                fmt.html(entity, c, r, link=not (linked and i == 0), short=True),
                            )
                            for i, c in enumerate(columns)
                        ],
                    }
                    for r in records
                ],
            )
            cells = [column_cells(portal, fmt, entity, c) for c in columns]
            url_of = (lambda rid: page_url("ticket", rid)) if linked else None
            assert "<tbody>" + str(rows_html(cells, fmt, records, url_of)) == expected
        assert 'class="tag"' in expected and "badge-urgent" in expected and "…" in expected
