"""The b2c portal in a real browser (headless Debian Chromium via Playwright).

A customer signs in through the login page, opens a ticket with a PDF attachment, finds it in
the list, opens it and downloads the file byte for byte; a customer of the other account gets
404 on its URL; the agent sees both accounts' tickets; a German-speaking colleague sees German
labels and dates. Every page is checked for console errors (a CSP violation shows up there).
Screenshots of the main pages at 375 px and 1280 px go to `test-output/screenshots/`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from portalis.testing.browser import LiveServer, new_page

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, ConsoleMessage, Page

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PASSWORDS = {
    "anna@acme.test": "correct horse 42",
    "sam@support.test": "correct horse 43",
    "ben@acme.test": "correct horse 44",
    "nina@globex.test": "correct horse 45",
}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
WIDTHS = {375: 812, 1280: 900}


class Console:
    """Errors a page logs (failed loads, CSP violations, script errors)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.failed: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.request.resource_type} {response.url}")

    def _message(self, message: ConsoleMessage) -> None:
        url = str(message.location.get("url") or "")
        # the layout declares no icon, so Chromium probes /favicon.ico (404): noted, not fatal
        if message.type == "error" and not url.endswith("/favicon.ico"):
            self.errors.append(f"{message.text} ({message.location.get('url')})")


Opener = Callable[..., tuple["Page", Console]]


@pytest.fixture
def signed_in(portalis_browser: Browser, portalis_live_server: LiveServer) -> Iterator[Opener]:
    """`signed_in(email, **context options)` → (page, console) in a fresh browser profile,
    signed in through the login page (anonymous when `email` is None)."""
    with ExitStack() as stack:

        def open_as(email: str | None, **options: Any) -> tuple[Page, Console]:
            page = stack.enter_context(new_page(portalis_browser, **options))
            console = Console(page)
            if email is not None:
                portalis_live_server.login(page, email, PASSWORDS[email])
            return page, console

        yield open_as


def ticket_id(live: LiveServer, subject: str) -> int:
    table = live.compiled.tables["ticket"]
    with live.app.extensions["portalis"].engine.connect() as conn:
        return int(
            conn.execute(sa.select(table.c.id).where(table.c.subject == subject)).scalar_one()
        )


def test_customer_journey(signed_in: Opener, portalis_live_server: LiveServer) -> None:
    live = portalis_live_server
    due = date.today() + timedelta(days=30)
    subject = "Printer jams on page two"

    # -- ben signs in through the login page ----------------------------------------------------
    page, console = signed_in(None)
    page.goto(live.url("/login"))
    assert page.locator("h1").inner_text() == "Sign in"
    page.fill("input[name=email]", "ben@acme.test")
    page.fill("input[name=password]", PASSWORDS["ben@acme.test"])
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    assert page.locator(".user-label").inner_text() == "Ben Ortiz"

    # -- creates a ticket with an attachment ----------------------------------------------------
    page.goto(live.url("/tickets/new"))
    page.fill("input[name=subject]", subject)
    page.fill("textarea[name=body]", "Since Monday every second page jams.")
    page.select_option("select[name=priority]", "high")
    page.fill("input[name=due]", due.isoformat())
    page.set_input_files(
        "input[name=attachment]",
        files=[{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/tickets/\d+(#[\w-]*)?$"))
    ticket_url = page.url.split("#", 1)[0]
    assert "Ticket saved." in page.locator(".notice-success").inner_text()

    # -- finds it in the list and opens it -----------------------------------------------------------
    page.goto(live.url("/tickets"))
    row_link = page.get_by_role("link", name=subject)
    assert row_link.count() == 1
    row_link.click()
    page.wait_for_url(ticket_url)
    assert subject in page.locator("h1").inner_text()
    assert page.locator(".value-priority").inner_text() == "High"

    # -- downloads the attachment ----------------------------------------------------------------
    with page.expect_download() as info:
        page.get_by_role("link", name="invoice.pdf").click()
    download = info.value
    assert download.suggested_filename == "invoice.pdf"
    assert Path(download.path()).read_bytes() == PDF
    assert not console.errors, (console.errors, console.failed)

    # -- a customer of the other account gets 404 ---------------------------------------------------
    nina, nina_console = signed_in("nina@globex.test")
    response = nina.goto(ticket_url)
    assert response is not None and response.status == 404
    assert "Page not found" in nina.locator("h1").inner_text()
    assert subject not in nina.content()
    nina.goto(live.url("/tickets"))
    assert subject not in nina.content()
    assert "Outage in the order portal" in nina.content()

    # -- the agent sees both accounts' tickets ----------------------------------------------------
    sam, sam_console = signed_in("sam@support.test")
    sam.goto(live.url("/tickets"))
    listing = sam.locator("table.data").inner_text()
    for title in (subject, "Invoice 2026-114 is wrong", "Outage in the order portal"):
        assert title in listing
    response = sam.goto(ticket_url)
    assert response is not None and response.status == 200

    # -- German: a colleague picks Deutsch in her profile; a German browser ------------------
    anna, anna_console = signed_in("anna@acme.test")
    anna.goto(live.url("/profile"))
    anna.select_option("select[name=locale]", "de")
    anna.click("form:has(input[name=action][value=details]) button[type=submit]")
    anna.wait_for_selector(".notice-success")  # "Ihr Profil wurde gespeichert." (now German)
    anna.goto(ticket_url)
    assert anna.locator("html").get_attribute("lang") == "de"
    details = anna.locator(".block-detail").inner_text()
    assert "Betreff" in details and "Fällig am" in details and "Priorität" in details
    assert due.strftime("%d.%m.%Y") in details  # e.g. 24.12.2026
    assert "Hoch" in details and "Offen" in details
    assert "Verlauf" in anna.content()  # the conversation block's German title
    german, _ = signed_in(None, locale="de-DE")
    german.goto(live.url("/login"))
    assert german.locator("h1").inner_text() == "Anmelden"
    assert german.locator("label[for=password], label:has-text('Passwort')").count() >= 1
    english, _ = signed_in(None)
    english.goto(live.url("/login?lang=de"))
    assert english.locator("h1").inner_text() == "Anmelden"
    for log in (sam_console, anna_console):
        assert not log.errors, log.errors
    assert [e for e in nina_console.errors if "404" not in e] == []  # her 404 page is expected


# -- screenshots ------------------------------------------------------------------------------
SHOTS = (
    ("login", None, "/login"),
    ("tickets-list", "ben@acme.test", "/tickets"),
    ("ticket-detail", "ben@acme.test", "/tickets/{t1}"),
    ("new-ticket", "ben@acme.test", "/tickets/new"),
    ("dashboard", "sam@support.test", "/dashboard"),
    ("ticket-agent", "sam@support.test", "/tickets/{t1}"),  # transitions and history panel
    ("notifications", "sam@support.test", "/notifications"),
)


def test_screenshots(signed_in: Opener, portalis_live_server: LiveServer) -> None:
    """Full-page PNGs of the main pages at phone and desktop widths, plus layout facts."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    t1 = ticket_id(portalis_live_server, "Invoice 2026-114 is wrong")  # has a conversation
    facts: dict[str, dict[str, Any]] = {}
    for width, height in WIDTHS.items():
        sessions: dict[str | None, tuple[Page, Console]] = {}
        for name, email, path in SHOTS:
            if email not in sessions:
                sessions[email] = signed_in(
                    email, viewport={"width": width, "height": height}, locale="en-GB"
                )
            page, console = sessions[email]
            response = page.goto(portalis_live_server.url(path.format(t1=t1)))
            assert response is not None and response.status == 200, (name, width)
            target = SCREENSHOTS / f"{name}-{width}.png"
            page.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 5_000
            facts[f"{name}-{width}"] = page.evaluate(
                """() => ({
                    scrollWidth: document.documentElement.scrollWidth,
                    viewport: window.innerWidth,
                    stylesheets: document.styleSheets.length,
                    widest: [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                        .slice(0, 5)
                        .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')),
                })"""
            )
            facts[f"{name}-{width}"]["console"] = list(console.errors)
            console.errors.clear()
    (SCREENSHOTS / "layout.json").write_text(json.dumps(facts, indent=1), encoding="utf-8")
    for key, fact in facts.items():
        assert fact["stylesheets"] == 2, (key, fact)  # portalis.css + the theme, none blocked
        assert not fact["console"], (key, fact)
