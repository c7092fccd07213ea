"""Repeating an order in a real browser (headless Chromium): the order page offers "Repeat
order" to a customer, the button copies the order with its lines and opens the copy with a
flash message; both pages have no serious or critical axe-core violation. Screenshots at 1280
and 375 px go to `screenshot_dir` (PORTALIS_SCREENSHOTS to look at them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from portalis.engine.data.permissions import Actor
from portalis.testing.browser import (
    LiveServer,
    axe_violations,
    live_server,
    new_page,
    screenshot_dir,
    screenshots,
)
from portalis.testing.portals import b2c_with

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

#: The test portal of tests/engine/test_flow_actions.py: files added to the b2c blueprint.
DATA = Path(__file__).resolve().parents[1] / "engine" / "data" / "actions"
PASSWORD = "correct horse 44"  # ben@acme.test, a customer of Acme


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    files = {p.relative_to(DATA).as_posix(): p.read_text("utf-8") for p in DATA.rglob("*.yaml")}
    folder = b2c_with(tmp_path / "definition", files=files, invoices=False)  # its own invoices
    with live_server(folder, directory=tmp_path / "live") as live:
        yield live


def test_a_customer_repeats_an_order(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    engine = server.app.extensions["portalis"].engine
    store = server.compiled.store(engine)
    accounts = {r["name"]: r.id for r in store.list(Actor.system(), "account").records}
    order = store.insert(
        Actor.system(), "sales_order",
        {"account": accounts["Acme GmbH"], "number": "A-100", "note": "Deliver to gate 3"},
    )  # fmt: skip
    for product, quantity, amount in (("Blue widget", 4, "12.50"), ("Red widget", 1, "40.00")):
        store.insert(
            Actor.system(), "sales_order_line",
            {"order": order.id, "product": product, "quantity": quantity, "amount": amount},
        )  # fmt: skip
    with new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as page:
        server.login(page, "ben@acme.test", PASSWORD, next_path=f"/orders/{order.id}")
        button = page.get_by_role("button", name="Repeat order")
        assert button.is_visible()
        assert axe_violations(page) == []
        screenshots(page, shots, "copy-source")
        page.set_viewport_size({"width": 1280, "height": 900})
        button.focus()  # keyboard-usable: Enter on the focused button submits the form
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert f"/orders/{order.id}" not in page.url and "/orders/" in page.url
        assert page.get_by_text("Order copied: this is the copy.").is_visible()
        assert page.get_by_role("cell", name="Blue widget").is_visible()
        assert axe_violations(page) == []
        screenshots(page, shots, "copy-landed")
    assert store.count(Actor.system(), "sales_order") == (2, True)
    with new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as page:
        # anna reads German: the button is the definition's German label
        server.login(page, "anna@acme.test", "correct horse 42", next_path=f"/orders/{order.id}")
        assert page.get_by_role("button", name="Bestellung wiederholen").is_visible()
        screenshots(page, shots, "copy-source-de")
