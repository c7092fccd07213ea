"""Refused forms in a real browser (headless Chromium, the b2c blueprint): a customer who
chooses an account outside their create scope sees the reason under the account picker with
everything typed kept, and closing a ticket that a rule of the entity refuses shows the rule's
message in the opened transition form. Both are announced (aria-describedby, role="alert");
screenshots at 1280 and 375 px go to `screenshot_dir` (PORTALIS_SCREENSHOTS to look at them)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from portalis.testing.browser import LiveServer, live_server, new_page, screenshot_dir, screenshots
from portalis.testing.portals import BLUEPRINTS

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PASSWORD = "correct horse 44"  # ben@acme.test, a customer of Acme
ACCOUNTS_READ = "      - {roles: [agent], actions: [read], scope: all}\n  user:"
NEW_TICKET = "fields: [subject, body, priority, amount, tags, due, attachment], redirect: ticket}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """b2c where customers may read every account and choose one on the new ticket form."""
    folder = Path(shutil.copytree(BLUEPRINTS / "b2c", tmp_path / "b2c"))
    people = folder / "entities" / "people.yaml"
    pages = folder / "pages" / "tickets.yaml"
    people.write_text(
        people.read_text("utf-8").replace(
            ACCOUNTS_READ, ACCOUNTS_READ.replace("[agent]", "[agent, customer]")
        ),
        "utf-8",
    )
    pages.write_text(
        pages.read_text("utf-8").replace(NEW_TICKET, NEW_TICKET.replace("]", ", account]")),
        "utf-8",
    )
    with live_server(folder, directory=tmp_path / "live") as live:
        yield live


def shoot(page: Page, folder: Path, name: str) -> None:
    screenshots(page, folder, f"review-10-{name}")


def test_refused_forms_say_why(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    engine = server.app.extensions["portalis"].engine
    tickets = server.compiled.tables["ticket"]
    with engine.begin() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(tickets)).scalar_one()
        # a resolved ticket whose due date has passed: the `check` rule refuses closing it
        conn.execute(
            sa.update(tickets)
            .where(tickets.c.subject == "Cannot download my contract")
            .values(status="resolved", due=date.today() - timedelta(days=2))
        )
        contract = conn.execute(
            sa.select(tickets.c.id).where(tickets.c.subject == "Cannot download my contract")
        ).scalar_one()
    with new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as page:
        server.login(page, "ben@acme.test", PASSWORD, next_path="/tickets/new")
        page.fill("#b0-subject", "Printer on fire")
        page.fill("#b0-body", "Smoke from tray 2")
        page.select_option("#b0-account", label="Globex Ltd")
        with page.expect_navigation():
            page.click("form.form-grid button[type=submit]")
        error = page.locator("#b0-account-error")
        assert error.is_visible()
        assert error.inner_text() == "You cannot create a record with this value."
        assert page.get_attribute("#b0-account", "aria-describedby") == "b0-account-error"
        assert page.input_value("#b0-subject") == "Printer on fire"
        assert page.input_value("#b0-body") == "Smoke from tray 2"
        shoot(page, shots, "out-of-scope")
        with engine.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(tickets)).scalar_one() == count
            )

        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(server.url(f"/tickets/{contract}"))
        with page.expect_navigation():
            page.click("form.inline button:has-text('Close')")
        alert = page.locator(".transition-form[open] [role=alert]")
        assert alert.is_visible()
        assert alert.inner_text().strip() == "The due date is in the past"
        shoot(page, shots, "refused-transition")
