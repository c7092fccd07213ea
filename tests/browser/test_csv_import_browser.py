"""A CSV import in a real browser (headless Chromium): a German clerk uploads a semicolon
file with German headers, numbers and dates, keeps the guessed mapping, runs the dry run and
the import — both in the background, batch by batch (the file is larger than the list's
batch), followed on the progress page by its Refresh link — and sees the result; no serious
or critical axe-core violation on any step at 1280 and 375 px, no console error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from portalis.engine.data.system_tables import jobs
from portalis.runtime.job_handlers import stop_embedded_worker
from portalis.testing.browser import (
    LiveServer,
    axe_violations,
    live_server,
    new_page,
    screenshot_dir,
)
from portalis.testing.jobs import run_jobs

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

IMPORTS = Path(__file__).parents[1] / "runtime" / "data" / "imports"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(IMPORTS, directory=tmp_path / "live") as live:
        # the test plays the worker (`drain`): the progress page is seen before the job runs
        assert stop_embedded_worker(live.app)
        yield live


def drain(server: LiveServer) -> None:
    """Run the queued import job as the worker would; it must have finished."""
    engine = server.app.extensions["portalis"].engine
    assert run_jobs(server.app) >= 1
    with engine.connect() as conn:
        failed = (
            conn.execute(sa.select(jobs.c.last_error).where(jobs.c.status != "done"))
            .scalars()
            .all()
        )
    assert not failed, failed


def both_widths(page: Page, shots: Path, name: str) -> None:
    """axe at 1280 and 375 px, with a screenshot of each."""
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        assert axe_violations(page) == [], (name, width)
        page.screenshot(path=str(shots / f"import-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_csv_import_upload_mapping_dry_run_import_progress(
    server: LiveServer, portalis_browser: Browser, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    rows = [f"IMP-{n:03d};Artikel {n};T;{n},50 €;{n};0{1 + n % 9}.12.2026;Ware" for n in range(24)]
    content = "\ufeffArtikelnummer;Bezeichnung;Kategorie;Preis;Bestand;Verfügbar ab;Art\n"
    upload = tmp_path / "artikel.csv"
    upload.write_text(content + "\n".join(rows) + "\n", encoding="utf-8")
    problems: list[str] = []
    with new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as page:
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on(
            "console",
            lambda m: (
                problems.append(f"{m.text} {m.location.get('url')}")
                if m.type == "error" and not str(m.location.get("url")).endswith("/favicon.ico")
                else None
            ),
        )
        server.login(page, "cleo@shop.test", "correct horse 44", next_path="/products")
        page.click("text=CSV importieren")
        assert "Schritt 1 von 3" in page.inner_text("main")
        both_widths(page, shots, "upload")
        page.set_input_files("#import-file", str(upload))
        with page.expect_navigation():
            page.click("button:has-text('Hochladen')")

        # the mapping: German labels matched to fields, with example values
        assert page.input_value("#import-map-3") == "price"
        assert page.input_value("#import-map-5") == "available_from"
        both_widths(page, shots, "mapping")
        with page.expect_navigation():
            page.click("button[value=check]")
        assert page.locator("progress").count() == 1  # 24 rows > batch of 10: background
        both_widths(page, shots, "checking")
        drain(server)
        with page.expect_navigation():
            page.click("#import-refresh")
        assert "keine Probleme" in page.inner_text("main"), page.inner_text("main")
        both_widths(page, shots, "checked")

        with page.expect_navigation():
            page.click("#import-run")
        assert "Import läuft" in page.inner_text("main")
        drain(server)
        with page.expect_navigation():
            page.click("#import-refresh")
        assert "24 Datensätze wurden importiert" in page.inner_text("#import-summary")
        assert page.locator("[data-import-batch]").count() == 3
        both_widths(page, shots, "done")
        page.click("text=Zurück zur Liste")
        assert "IMP-023" in page.inner_text("main") or page.locator("text=IMP-").count() > 0
    assert problems == []
    table = server.compiled.tables["product"]
    engine = server.app.extensions["portalis"].engine
    with engine.connect() as conn:
        made = conn.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.sku.like("IMP-%"))
        ).scalar_one()
    assert made == 24
