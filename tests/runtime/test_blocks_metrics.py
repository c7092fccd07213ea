"""The metrics block: actor-scoped KPI values and script-free server-rendered charts."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.runtime.blocks.metrics import clean_svg
from portalis.testing.web import WebPortal

NOTES = Path(__file__).parent / "data" / "blocks_notes"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path)
    yield portal
    portal.close()


def kpis(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'<h2 class="kpi-label">([^<]+)</h2>\s*<p class="kpi-value">([^<]+)</p>', html)
    )


def charts(html: str) -> list[str]:
    uris = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    return [base64.b64decode(u).decode("utf-8") for u in uris]


def test_kpis_are_actor_scoped(web: WebPortal) -> None:
    sam = web.client("sam@support.test").get("/dashboard")
    assert sam.status_code == 200
    values = kpis(sam.text)
    assert values["All tickets"] == "4"
    assert values["Tickets by status"] == "4"
    anna = kpis(web.client("anna@acme.test").get("/dashboard").text)  # account admin, de
    assert anna["Alle Tickets"] == "2"
    assert anna["Tickets nach Priorität"] == "2"
    assert web.client("nina@globex.test").get("/dashboard").status_code == 403


def test_charts_are_svg_without_script(web: WebPortal) -> None:
    html = web.client("sam@support.test").get("/dashboard").text
    svgs = charts(html)
    assert len(svgs) == 2
    for svg in svgs:
        assert svg.startswith("<svg") and "<script" not in svg.lower()
        assert "http://" not in svg.replace("http://www.w3.org/", "").replace(
            "http://pygal.org", ""
        ).replace("http://github.com/Kozea/pygal", "")
    assert "In progress" in svgs[0]  # group labels are the choice labels
    assert "<script" not in html.lower()
    # the figures are also a table, for screen readers and without images
    assert "<td>Urgent</td><td>1</td>" in html


def test_group_labels_translated(web: WebPortal) -> None:
    html = web.client("anna@acme.test").get("/dashboard").text
    assert "<td>Offen</td><td>2</td>" in html
    assert "Offen" in charts(html)[0]


def test_money_sum_in_portal_currency(database_url: str, tmp_path: Path) -> None:
    notes = WebPortal.deploy(database_url, tmp_path, NOTES)
    try:
        mo = kpis(notes.client("mo@notes.test").get("/stats").text)
        assert mo == {"Notes": "1", "Cost": "€12.50", "By kind": "1"}
        jo = notes.client("jo@notes.test").get("/stats").text
        assert kpis(jo) == {"Notes": "1", "Cost": "€0.00", "By kind": "1"}
        assert "<polyline" in charts(jo)[0] or "line" in charts(jo)[0]
    finally:
        notes.close()


def test_clean_svg_removes_scripts_and_handlers() -> None:
    dirty = '<svg onload="alert(1)"><script>alert(2)</script><SCRIPT type="x">y</SCRIPT ><g/></svg>'
    assert clean_svg(dirty) == "<svg><g/></svg>"
