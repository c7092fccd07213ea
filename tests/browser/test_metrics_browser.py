"""The metrics dashboard in a real browser at phone and desktop widths: the browser picks the
narrow chart on a 375-px screen, chart text stays at 12 CSS px or more at both widths, the
figures tables are accessible (axe-core: no serious or critical violation) and the page logs
no error (a CSP violation would show up there). Screenshots: `screenshot_dir`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portalis.testing.browser import live_server, new_page, screenshot_dir

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

LEDGER = Path(__file__).resolve().parents[1] / "runtime" / "data" / "ledger"

#: (drawing width, text size in the drawing) of the wide and the narrow chart
DRAWINGS = {"wide": (640, 14), "narrow": (340, 15)}


def serious_axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {v['nodes'][0]['target']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def log_error(message: Any, errors: list[str]) -> None:
    """Keep console errors but the favicon probe (the layout declares no icon: 404)."""
    url = str(message.location.get("url") or "")
    if message.type == "error" and not url.endswith("/favicon.ico"):
        errors.append(f"{message.text} ({url})")


def test_dashboard_charts_are_legible_at_375_and_1280(
    portalis_browser: Browser, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    with live_server(LEDGER, directory=tmp_path / "live") as live:
        for width, drawing in ((375, "narrow"), (1280, "wide")):
            with new_page(
                portalis_browser, viewport={"width": width, "height": 900}, locale="en-GB"
            ) as page:
                errors: list[str] = []
                page.on("console", lambda m, seen=errors: log_error(m, seen))
                live.login(page, "alex@ledger.test", "correct horse 42")
                page.goto(live.url("/"))
                charts = page.locator("figure.chart img")
                assert charts.count() == 3
                charts.first.scroll_into_view_if_needed()
                page.wait_for_function(
                    "() => [...document.querySelectorAll('figure.chart img')].every(i => i.complete)"
                )
                for i in range(3):
                    source, shown = charts.nth(i).evaluate(
                        "i => [i.currentSrc, i.getBoundingClientRect().width]"
                    )
                    narrow = charts.nth(i).evaluate(
                        "i => i.parentElement.querySelector('source').srcset"
                    )
                    assert (source == narrow) is (drawing == "narrow"), (width, i)
                    drawn, text = DRAWINGS[drawing]
                    assert text * shown / drawn >= 12, (width, i, shown)
                assert page.locator("table.kpi-table caption").count() == 2
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(shots / f"metrics-{width}.png"), full_page=True)
                if width == 375:
                    assert serious_axe_violations(page) == []
                assert errors == []
