"""An order and its lines edited in one form in a real browser (headless Chromium), with the
keyboard alone: rows added and moved by their buttons (focus follows the row), a refused row
shown next to its inputs, then saved with the total — no serious or critical axe-core
violation at 1280 and 375 px, no console error."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from portalis.engine.flow import workflow
from portalis.testing.browser import (
    LiveServer,
    axe_violations,
    live_server,
    new_page,
    screenshot_dir,
)
from portalis.testing.portals import actor_for

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

ORDERS = Path(__file__).parents[1] / "engine" / "data" / "orders"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(ORDERS, directory=tmp_path / "live") as live:
        yield live


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def press(page: Page, selector: str) -> None:
    """Focus a button and press Enter: the form is sent and the page comes back."""
    page.focus(selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_order_with_lines_by_keyboard(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    problems: list[str] = []
    with new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as page:
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error"
                and not str(m.location.get("url")).endswith("/favicon.ico")
                and "422" not in m.text
                else None
            ),
        )
        server.login(page, "ann@acme.test", "correct horse 42", next_path="/orders/new")
        page.fill("#b0-reference", "K-1")
        page.select_option("#b0-account", label="Acme GmbH")
        page.select_option("#b0-lines-0-product", label="Bolt")
        page.fill("#b0-lines-0-quantity", "4")
        page.fill("#b0-lines-0-unit_price", "0.25")

        press(page, "#b0-add")
        assert focused(page) == "b0-lines-1-product"  # focus lands in the new row
        assert page.input_value("#b0-reference") == "K-1"  # nothing typed is lost
        page.keyboard.type("Gear")  # a select picks by typing
        page.fill("#b0-lines-1-quantity", "1000")
        page.fill("#b0-lines-1-unit_price", "999.99")

        press(page, "#b0-up-1")
        assert focused(page) == "b0-down-0"  # the moved row's other button
        assert page.input_value("#b0-lines-0-quantity") == "1000"
        assert page.input_value("#b0-lines-1-quantity") == "4"
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / "form-lines-1280.png"), full_page=True)

        # the order's rule refuses the big row: the error sits in that row, nothing is saved
        press(page, "#block-0 button.btn-primary")
        assert "An order may total at most 100000" in page.inner_text("#block-0 .form-error")
        assert page.locator("tr.lines-row.has-error").count() == 1
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / "form-lines-error-1280.png"), full_page=True)
        page.set_viewport_size({"width": 375, "height": 800})
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / "form-lines-error-375.png"), full_page=True)

        page.fill("#b0-lines-0-quantity", "2")
        press(page, "#block-0 button.btn-primary")
        assert "/orders/" in page.url and "Order saved." in page.inner_text("main")
        page.screenshot(path=str(shots / "form-lines-saved-375.png"), full_page=True)

        # once submitted, the lines are shown read-only with the definition's message
        order = int(page.url.split("#")[0].rsplit("/", 1)[-1])
        store = server.compiled.store(server.app.extensions["portalis"].engine)
        clerk = actor_for(
            server.app.extensions["portalis"].engine, server.compiled, "cleo@shop.test"
        )
        workflow.transition(store, clerk, "order", order, "submit")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(server.url(f"/orders/{order}/edit"))
        assert "no longer a draft" in page.inner_text(".form-lines")
        assert page.locator(".form-lines input, .form-lines button").count() == 0
        assert axe_violations(page) == []
        page.screenshot(path=str(shots / "form-lines-frozen-1280.png"), full_page=True)
    assert problems == []
    table = server.compiled.tables["order"]
    engine = server.app.extensions["portalis"].engine
    with engine.connect() as conn:
        total = conn.execute(sa.select(table.c.total).where(table.c.reference == "K-1")).scalar()
    assert Decimal(total) == Decimal("2000.98")
