"""Printouts in a real browser (headless Chromium): on an invoice of the wholesale portal a
customer clicks "Download Invoice (PDF)" and gets the invoice as a PDF file with its lines and
totals; the link is keyboard-usable and the pages have no serious or critical axe-core
violation. Screenshots at 1280 and 375 px go to `screenshot_dir` (PORTALIS_SCREENSHOTS to
look at them)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
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

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

B2B = Path(__file__).resolve().parents[1] / "engine" / "portals" / "b2b"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(B2B, directory=tmp_path / "live") as live:
        yield live


def test_a_customer_downloads_an_invoice_pdf(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path
) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed: make system-deps")
    shots = screenshot_dir(tmp_path)
    store = server.compiled.store(server.app.extensions["portalis"].engine)
    system = Actor.system()
    accounts = {r["name"]: r.id for r in store.list(system, "account").records}
    invoice = store.insert(
        system, "invoice",
        {"account": accounts["Acme GmbH"], "due": dt.date.today() + dt.timedelta(days=30)},
    )  # fmt: skip
    for text, quantity, price in (("Widget W-100", "12", "9.90"), ("Gizmo Z-300", "1", "80.00")):
        store.insert(
            system, "invoice_line",
            {"invoice": invoice.id, "description": text, "quantity": quantity, "price": price},
        )  # fmt: skip
    with new_page(
        portalis_browser, viewport={"width": 1280, "height": 900}, accept_downloads=True
    ) as page:
        server.login(page, "ann@acme.test", "correct horse 42", next_path=f"/invoices/{invoice.id}")
        link = page.get_by_role("link", name="Download Invoice (PDF)")
        assert link.is_visible()
        assert axe_violations(page) == []
        screenshots(page, shots, "printout-invoice-page")
        page.set_viewport_size({"width": 1280, "height": 900})
        with page.expect_download() as info:
            link.focus()  # keyboard-usable: Enter on the focused link downloads
            page.keyboard.press("Enter")
        download = info.value
        page.goto(server.url(f"/accounts/{accounts['Acme GmbH']}"))
        statement = page.get_by_role("link", name="Download Statement of account (PDF)")
        assert statement.is_visible()
        assert axe_violations(page) == []
        screenshots(page, shots, "printout-account-page")
        assert download.suggested_filename.startswith("INV-")
        assert download.suggested_filename.endswith(".pdf")
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", str(saved), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    assert "Widget W-100 12.00 €9.90 €118.80" in flat and "Total €198.80" in flat, flat
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(saved),
         str(shots / "printout-invoice-pdf")],
        check=True,
    )  # fmt: skip
    assert (shots / "printout-invoice-pdf.png").stat().st_size > 1000
