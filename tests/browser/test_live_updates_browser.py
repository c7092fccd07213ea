"""Live updates in a real browser (headless Chromium, two browser contexts): while Ben keeps
his ticket open, the agent replies in the conversation and resolves the ticket; within 15
seconds and without a reload Ben's page shows the reply (announced through the polite live
region), the new status with its transitions, and the bell's unread count. No serious or
critical axe-core violation at 1280 and 375 px. Screenshots go to `screenshot_dir`
(PORTALIS_SCREENSHOTS to look at them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from portalis.engine.flow import workflow
from portalis.testing.browser import (
    LiveServer,
    axe_violations,
    live_server,
    new_page,
    screenshot_dir,
    screenshots,
)
from portalis.testing.portals import actor_for, b2c_with

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

#: The promise to the user: news shows within 15 s (the test portal asks every 2 s).
WITHIN_MS = 15_000
REPLY = "We refunded the duplicate charge today."
SAID = """
window.__said = [];
new MutationObserver(function () {
  var text = document.getElementById("live-status").textContent;
  if (text) { window.__said.push(text); }
}).observe(document.getElementById("live-status"), {childList: true, characterData: true, subtree: true});
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    folder = b2c_with(tmp_path / "b2c")
    root = folder / "portal.yaml"
    text = root.read_text(encoding="utf-8")
    assert "live_updates: {interval_seconds: 10}" in text
    root.write_text(text.replace("interval_seconds: 10", "interval_seconds: 2"), encoding="utf-8")
    with live_server(folder, directory=tmp_path / "live") as live:
        yield live


def test_open_ticket_shows_reply_status_and_bell_without_reload(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    engine = server.app.extensions["portalis"].engine
    store = server.compiled.store(engine)
    table = server.compiled.tables["ticket"]
    with engine.connect() as conn:
        ticket = conn.execute(
            table.select().where(table.c.subject == "Cannot download my contract")
        ).one()
    path = f"/tickets/{ticket.id}"
    with (
        new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as ben,
        new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as agent,
    ):
        server.login(ben, "ben@acme.test", "correct horse 44", next_path=path)
        conversation = ben.locator("#block-2")
        assert REPLY not in conversation.inner_text()
        assert ben.locator(".bell-badge").count() == 0
        ben.evaluate("window.__sameDocument = true")  # gone if the page reloads
        ben.evaluate(SAID)  # what the polite live region announces, in order

        server.login(agent, "sam@support.test", "correct horse 43", next_path=path)
        agent.get_by_role("textbox", name="Message").fill(REPLY)
        with agent.expect_navigation():
            agent.get_by_role("button", name="Send message").click()
        sam = actor_for(engine, server.compiled, "sam@support.test")
        workflow.transition(store, sam, "ticket", ticket.id, "start")
        workflow.transition(
            store, sam, "ticket", ticket.id, "resolve", values={"resolution": "Refunded."}
        )

        # Ben's open page: the reply, the status and the bell, all without a reload
        ben.locator("#block-2 tbody tr", has_text=REPLY).wait_for(timeout=WITHIN_MS)
        ben.locator("#block-0", has_text="Resolved").wait_for(timeout=WITHIN_MS)
        badge = ben.locator(".usermenu .bell .bell-badge")
        badge.wait_for(timeout=WITHIN_MS)
        assert badge.inner_text() == "1"
        bell = ben.locator(".usermenu a.bell")
        assert bell.get_attribute("aria-label") == "Notifications, 1 unread"
        assert ben.evaluate("window.__sameDocument === true")
        # the new status offers its transitions (a customer may close a resolved ticket)
        assert ben.locator("#block-0").get_by_role("button", name="Close").count() == 1
        # messages stay in order: the reply is the last row of the conversation
        rows = ben.locator("#block-2 tbody tr")
        assert REPLY in rows.nth(rows.count() - 1).inner_text()
        assert ben.locator("#live-status").get_attribute("aria-live") == "polite"
        # the region is emptied first and filled a moment later: wait for both announcements
        ben.wait_for_function(
            "window.__said.some(s => s.includes('New in Conversation:'))"
            " && window.__said.some(s => s.includes('Notifications, 1 unread'))",
            timeout=WITHIN_MS,
        )
        said = ben.evaluate("window.__said")
        assert any("New in Conversation:" in s and REPLY in s for s in said), said
        assert any("Notifications, 1 unread" in s for s in said), said
        assert axe_violations(ben) == []
        ben.set_viewport_size({"width": 375, "height": 812})
        assert axe_violations(ben) == []
        screenshots(ben, shots, "live-updates-ticket")
