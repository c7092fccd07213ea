"""Attaching documents to a ticket in a real browser (headless Chromium), at 1280 and 375 px:
a customer attaches a log to their ticket in the Logs folder, uploads a new version of it and
opens its version history — plain forms, no JavaScript needed — and every page has no serious
or critical axe-core violation. Screenshots go to `screenshot_dir` (PORTALIS_SCREENSHOTS)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from portalis.testing.browser import LiveServer, axe_violations, new_page, screenshot_dir
from portalis.testing.portals import actor_for

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PASSWORD = "correct horse 44"  # ben@acme.test, a customer of Acme who reads English


def shoot(page: Page, path: Path) -> None:
    """A full-page screenshot from the top (the sticky header stays at the top)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)


@pytest.mark.parametrize("width", [1280, 375])
def test_a_customer_attaches_and_versions_a_document(
    portalis_live_server: LiveServer, portalis_browser: Browser, tmp_path: Path, width: int
) -> None:
    server = portalis_live_server
    shots = screenshot_dir(tmp_path)
    engine = server.app.extensions["portalis"].engine
    store = server.compiled.store(engine)
    ben = actor_for(engine, server.compiled, "ben@acme.test")
    account = store.list(ben, "account").records[0].id
    ticket = store.insert(ben, "ticket", {"subject": f"App crashes at {width}", "account": account})
    first, second = tmp_path / "crash.log", tmp_path / "crash-2.log"
    first.write_text("10:00 ERROR crash\n", encoding="utf-8")
    second.write_text("10:00 ERROR crash\n10:05 ERROR again\n", encoding="utf-8")
    with new_page(portalis_browser, viewport={"width": width, "height": 900}) as page:
        server.login(page, "ben@acme.test", PASSWORD, next_path=f"/tickets/{ticket.id}")
        block = page.locator(".block-attachments")
        assert block.get_by_text("No documents yet.").is_visible()
        block.get_by_label("Attach a file").set_input_files(str(first))
        block.get_by_label("Folder").select_option(label="Logs")
        with page.expect_navigation():
            block.get_by_role("button", name="Upload", exact=True).click()
        assert page.get_by_text("“crash.log” was attached.").is_visible()
        logs = block.locator(".attachment-folder", has_text="Logs")
        assert logs.get_by_role("link", name="crash.log").is_visible()
        assert axe_violations(page) == []
        shoot(page, shots / f"attachments-attached-{width}.png")
        # a new version, from the document's own disclosure
        logs.locator("summary", has_text="New version").click()
        logs.get_by_label("New version of “crash.log”").set_input_files(str(second))
        with page.expect_navigation():
            logs.get_by_role("button", name="Upload version").click()
        assert page.get_by_text("Version 2 of “crash-2.log” was uploaded.").is_visible()
        logs = page.locator(".block-attachments .attachment-folder", has_text="Logs")
        logs.locator("summary", has_text="2 versions").click()
        history = logs.locator(".version-list")
        assert history.get_by_role("link", name="Version 2").is_visible()
        assert history.get_by_role("link", name="Version 1").is_visible()
        assert history.get_by_text("Ben Ortiz").first.is_visible()
        with page.expect_download() as download:
            history.get_by_role("link", name="Version 1").click()
        assert Path(download.value.path()).read_text(encoding="utf-8") == "10:00 ERROR crash\n"
        # the delete button asks first
        logs.locator("summary", has_text="Delete").click()
        assert logs.get_by_text("Delete “crash-2.log” and all 2 versions?").is_visible()
        assert axe_violations(page) == []
        shoot(page, shots / f"attachments-versions-{width}.png")
