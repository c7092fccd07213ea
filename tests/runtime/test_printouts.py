"""Printouts served: the wholesale portal's invoice and statement of account as PDF (lines,
totals in the account's currency, in the reader's language), kept per record version, under
the record's read permission (404 for another account's), offered on the record's page and
attached to the notification mail; the starter's ticket summary shows a customer no field
they may not read. Each PDF is checked as text (`pdftotext`) and page 1 as a picture
(`pdftoppm -png`)."""

from __future__ import annotations

import datetime as dt
import http.server
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.errors import NotFound
from portalis.runtime.printout_pdf import BASE_URL, bundle_file, html_to_pdf
from portalis.runtime.printouts import make_pdf
from portalis.runtime.runtime_tables import printout_cache
from portalis.testing.jobs import run_jobs
from portalis.testing.smtp import SmtpServer
from portalis.testing.web import WebPortal

B2B = Path(__file__).resolve().parents[1] / "engine" / "portals" / "b2b"
DUE = dt.date.today() + dt.timedelta(days=14)

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) is not installed: make system-deps",
)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The PDF's text as `pdftotext -layout` reads it (whitespace collapsed)."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    return " ".join(out.stdout.split())


def page_one_png(data: bytes, tmp_path: Path, name: str) -> Path:
    """Page 1 rendered by `pdftoppm -png` (kept in `tmp_path` to look at)."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(path),
         str(tmp_path / name)],
        check=True,
    )  # fmt: skip
    return tmp_path / f"{name}.png"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.fixture
def web(database_url: str, tmp_path: Path, smtp_server: SmtpServer) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(
        database_url, tmp_path / "instance", B2B, env={"PORTALIS_SMTP_URL": smtp_server.url}
    )
    try:
        yield portal
    finally:
        portal.close()


def invoice(web: WebPortal, account: str = "Acme GmbH") -> int:
    """An invoice with two lines and a part payment, issued by the clerk."""
    cleo = web.actor("cleo@wholesale.test")
    account_id = web.record_id("account", name=account)
    record = web.store.insert(cleo, "invoice", {"account": account_id, "due": DUE})
    for quantity, price, text in (("3", "9.90", "Widget W-100"), ("2.5", "4.75", "Gadget G-200")):
        web.store.insert(
            cleo,
            "invoice_line",
            {"invoice": record.id, "description": text, "quantity": quantity, "price": price},
        )
    web.store.insert(cleo, "payment", {"invoice": record.id, "amount": "10.00"})
    return record.id


def cached_rows(web: WebPortal) -> list[tuple[str, int, int, str]]:
    t = printout_cache.c
    with web.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.printout, t.record_id, t.record_version, t.locale).order_by(t.id)
        ).all()
    return [tuple(r) for r in rows]


def test_a_customer_downloads_their_invoice_as_pdf(web: WebPortal, tmp_path: Path) -> None:
    invoice_id = invoice(web)
    ann = web.client("ann@acme.test")
    page = ann.get(f"/invoices/{invoice_id}")
    link = f"/{web.slug}/_printouts/invoice/{invoice_id}/invoice.pdf"
    assert f'href="{link}"' in page.text and "Download Invoice (PDF)" in page.text
    response = ann.get(f"/_printouts/invoice/{invoice_id}/invoice.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    assert 'filename="INV-' in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    text = pdf_text(response.data, tmp_path)
    assert re.search(r"Invoice INV-\d{4}-\d{5}", text), text
    assert "Widget W-100 3.00 €9.90 €29.70" in text and "Gadget G-200 2.50 €4.75 €11.88" in text
    assert "Total €41.58" in text and "Paid €10.00" in text and "Open amount €31.58" in text
    assert "Acme GmbH" in text
    png = page_one_png(response.data, tmp_path, "invoice")
    width, height = png_size(png)
    assert abs(height / width - 297 / 210) < 0.01  # A4 portrait


def test_the_invoice_reads_in_the_readers_language_and_currency(
    web: WebPortal, tmp_path: Path
) -> None:
    invoice_id = invoice(web, "Globex Inc")
    gus = web.client("gus@globex.test")
    english = pdf_text(gus.get(f"/_printouts/invoice/{invoice_id}/invoice.pdf").data, tmp_path)
    assert "Total $41.58" in english and "€" not in english
    german = gus.get(f"/_printouts/invoice/{invoice_id}/invoice.pdf?lang=de")
    text = pdf_text(german.data, tmp_path)
    assert "Rechnung INV-" in text and "Menge" in text and "41,58 $" in text, text
    assert "Bitte zahlen Sie" in text
    assert DUE.strftime("%d.%m.%Y") in text


def test_the_statement_lists_open_invoices_and_their_payments(
    web: WebPortal, tmp_path: Path
) -> None:
    first, second = invoice(web), invoice(web)
    cleo = web.actor("cleo@wholesale.test")
    web.store.insert(cleo, "payment", {"invoice": second, "amount": "31.58"})  # settles it
    account = web.record_id("account", name="Acme GmbH")
    ann = web.client("ann@acme.test")
    assert f"/_printouts/account/{account}/statement.pdf" in ann.get(f"/accounts/{account}").text
    response = ann.get(f"/_printouts/account/{account}/statement.pdf")
    assert response.status_code == 200
    assert "statement-Acme%20GmbH.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data, tmp_path)
    numbers = re.findall(r"INV-\d{4}-\d{5}", text)
    assert len(numbers) == 1, text  # the settled invoice is not open any more
    assert "€41.58 €10.00 €31.58" in text and "Payment of" in text
    assert "Open balance €31.58" in text
    assert first != second


def test_another_accounts_documents_are_not_found(web: WebPortal) -> None:
    """SECURITY A.21: the printout route answers 404 for what the actor may not read."""
    acme = invoice(web)
    acme_account = web.record_id("account", name="Acme GmbH")
    gus = web.client("gus@globex.test")
    for path in (
        f"/_printouts/invoice/{acme}/invoice.pdf",
        f"/_printouts/account/{acme_account}/statement.pdf",
        f"/_printouts/invoice/{acme}/statement.pdf",  # a printout of another entity
        f"/_printouts/invoice/{acme}/nope.pdf",
        f"/_printouts/nope/{acme}/invoice.pdf",
        f"/_printouts/invoice/{acme + 999}/invoice.pdf",
    ):
        assert gus.get(path).status_code == 404, path
    assert web.client().get(f"/_printouts/invoice/{acme}/invoice.pdf").status_code == 404
    assert cached_rows(web) == []  # nothing was rendered for a refused reader
    assert (
        web.client("cleo@wholesale.test").get(f"/_printouts/invoice/{acme}/invoice.pdf").status_code
        == 200
    )


def test_a_pdf_is_kept_per_record_version(web: WebPortal) -> None:
    invoice_id = invoice(web)
    portal = web.app.extensions["portalis"].registry.require(web.slug)
    ann = web.actor("ann@acme.test")
    first = make_pdf(portal, ann, "invoice", invoice_id, "invoice", "en", store=web.store)
    again = make_pdf(portal, ann, "invoice", invoice_id, "invoice", "en", store=web.store)
    assert not first.cached and again.cached and again.pdf == first.pdf
    german = make_pdf(portal, ann, "invoice", invoice_id, "invoice", "de", store=web.store)
    assert not german.cached and german.pdf != first.pdf
    version = web.store.get(ann, "invoice", invoice_id).version
    assert [r[2] for r in cached_rows(web)] == [version, version]
    cleo = web.actor("cleo@wholesale.test")
    web.store.update(cleo, "invoice", invoice_id, {"due": DUE + dt.timedelta(days=7)})
    changed = make_pdf(portal, ann, "invoice", invoice_id, "invoice", "en", store=web.store)
    assert not changed.cached and changed.pdf != first.pdf
    # the older version's documents are dropped when the new one is kept
    assert [r[2] for r in cached_rows(web)] == [version + 1]
    with pytest.raises(NotFound):
        make_pdf(portal, web.actor("gus@globex.test"), "invoice", invoice_id, "invoice", "en")


def test_the_new_invoice_mail_carries_the_pdf(
    web: WebPortal, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    invoice_id = invoice(web)
    run_jobs(web.app)
    mail = smtp_server.wait_for(to="ann@acme.test")
    assert mail.subject.startswith("Invoice INV-")
    attached = [p for p in mail.message.iter_attachments()]
    assert [p.get_content_type() for p in attached] == ["application/pdf"]
    assert re.fullmatch(r"INV-\d{4}-\d{5}\.pdf", attached[0].get_filename() or "")
    data = attached[0].get_payload(decode=True)
    assert isinstance(data, bytes)
    text = pdf_text(data, tmp_path)
    # made when the mail is sent: the lines added after the invoice are in it
    assert "Widget W-100" in text and "Total €41.58" in text
    assert not smtp_server.to("gus@globex.test")
    assert invoice_id in [r[1] for r in cached_rows(web)]


def test_asvs_8_2_3_a_field_the_reader_may_not_read_is_not_in_the_pdf(
    database_url: str, tmp_path: Path
) -> None:
    """The starter's ticket summary: Nina (customer) may not read the assignee, Sam (the
    agent, and the assignee) may; both read the conversation."""
    web = WebPortal.deploy(database_url, tmp_path / "instance")
    try:
        ticket = web.record_id("ticket", subject="Outage in the order portal")
        path = f"/_printouts/ticket/{ticket}/summary.pdf"
        nina = web.client("nina@globex.test")
        assert f"/{web.slug}{path}" in nina.get(f"/tickets/{ticket}").text
        customer = pdf_text(nina.get(path).data, tmp_path)
        agent = pdf_text(web.client("sam@support.test").get(path).data, tmp_path)
        for text in (customer, agent):
            assert "Outage in the order portal" in text and "Orders fail since 9:00." in text
            assert "Urgent" in text and "Globex Ltd" in text and "Nina Novak" in text
        assert "Assignee Sam Agent" in agent
        assert "Assignee" not in customer  # (Sam still signs his message in the conversation)
        assert web.client("ben@acme.test").get(path).status_code == 404
        png = page_one_png(web.client("sam@support.test").get(path).data, tmp_path, "ticket")
        assert png.stat().st_size > 1000
    finally:
        web.close()


def test_the_pdf_fetches_only_files_of_the_definition(tmp_path: Path) -> None:
    """SECURITY A.34: a printout never reaches the network or the file system."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        html = (
            f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">'
            f'<img src="http://127.0.0.1:{port}/x.png"><img src="file:///etc/hostname">'
            '<link rel="stylesheet" href="style.css"><p class="x">Hello</p>'
        )
        files = {"style.css": ".x { color: red }"}
        pdf = html_to_pdf(html, files, "@page { size: A5 }")
        assert pdf.startswith(b"%PDF-") and "Hello" in pdf_text(pdf, tmp_path)
    finally:
        server.shutdown()
        thread.join(5)
    assert hits == []
    assert bundle_file(files, BASE_URL + "style.css") == (b".x { color: red }", "text/css")
    for url in (
        f"http://127.0.0.1:{port}/x.css",
        "file:///etc/passwd",
        BASE_URL + "../etc/passwd",
        BASE_URL + "%2e%2e/portal.yaml",
        "https://example.org/style.css",
        BASE_URL + "missing.css",
    ):
        with pytest.raises(ValueError):
            bundle_file(files, url)


def test_weasyprint_is_imported_only_to_make_a_pdf() -> None:
    """Starting the app or a worker does not load WeasyPrint (slow, and most processes
    never print)."""
    code = (
        "import sys, portalis.runtime.app, portalis.runtime.job_handlers, "
        "portalis.runtime.printouts; print('weasyprint' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_roles_and_condition_decide_who_may_print(
    database_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    folder = tmp_path / "b2b"
    shutil.copytree(B2B, folder)
    portal = folder / "portal.yaml"
    text = portal.read_text("utf-8")
    text = text.replace(
        '        filename: "statement-{name}.pdf"\n',
        '        filename: "statement-{name}.pdf"\n        roles: [clerk]\n',
    ).replace(
        '        filename: "{number}.pdf"\n',
        '        filename: "{number}.pdf"\n        when: "record.status == \'issued\'"\n',
    )
    portal.write_text(text, "utf-8")
    web = WebPortal.deploy(
        database_url, tmp_path / "instance", folder, env={"PORTALIS_SMTP_URL": smtp_server.url}
    )
    try:
        invoice_id = invoice(web)
        account = web.record_id("account", name="Acme GmbH")
        ann, cleo = web.client("ann@acme.test"), web.client("cleo@wholesale.test")
        statement = f"/_printouts/account/{account}/statement.pdf"
        assert statement not in ann.get(f"/accounts/{account}").text
        assert ann.get(statement).status_code == 404
        assert statement in cleo.get(f"/accounts/{account}").text
        assert cleo.get(statement).status_code == 200
        pdf = f"/_printouts/invoice/{invoice_id}/invoice.pdf"
        assert ann.get(pdf).status_code == 200
        web.store.insert(web.actor("cleo@wholesale.test"), "payment",
                         {"invoice": invoice_id, "amount": "31.58"})  # fmt: skip
        assert (
            web.store.get(web.actor("cleo@wholesale.test"), "invoice", invoice_id)["status"]
            == "paid"
        )
        assert pdf not in ann.get(f"/invoices/{invoice_id}").text
        assert ann.get(pdf).status_code == 404
    finally:
        web.close()
