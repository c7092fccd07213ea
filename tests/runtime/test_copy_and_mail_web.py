"""Actions that reach further, over HTTP on SQLite and PostgreSQL: the detail page's copy
button (a CSRF-protected POST that lands on the copy with a flash), the copy endpoint of the
REST API, and notification mails in each recipient's locale through a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.outbox.worker import Worker
from portalis.runtime.mail import MAIL_JOB, mail_handler
from portalis.testing.portals import b2c_with
from portalis.testing.smtp import SmtpServer
from portalis.testing.web import PortalClient, WebPortal

#: The test portal of tests/engine/test_flow_actions.py: files added to the b2c blueprint.
DATA = Path(__file__).resolve().parents[1] / "engine" / "data" / "actions"
API = "/api/v1"


def deploy(database_url: str, tmp_path: Path, env: dict[str, str] | None = None) -> WebPortal:
    files = {p.relative_to(DATA).as_posix(): p.read_text("utf-8") for p in DATA.rglob("*.yaml")}
    folder = b2c_with(tmp_path / "definition", files=files, invoices=False)  # its own invoices
    return WebPortal.deploy(database_url, tmp_path / "instance", folder, env=env)


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = deploy(database_url, tmp_path)
    yield portal
    portal.close()


def acme(web: WebPortal) -> int:
    return web.record_id("account", name="Acme GmbH")


def order(web: WebPortal, lines: int = 2) -> int:
    sam = web.actor("sam@support.test")
    record = web.store.insert(sam, "sales_order", {"account": acme(web), "number": "A-1"})
    for i in range(lines):
        web.store.insert(sam, "sales_order_line", {"order": record.id, "product": f"Widget {i}"})
    return record.id


def count(web: WebPortal, entity: str) -> int:
    table = web.compiled.tables[entity]
    with web.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def api_post(client: PortalClient, path: str) -> object:
    return client.client.post(client.url(API + path), headers={"X-CSRF-Token": client.csrf})


# -- the copy button ---------------------------------------------------------------------------
def test_copy_button_copies_and_lands_on_the_copy(web: WebPortal) -> None:
    source = order(web)
    ben = web.client("ben@acme.test")
    page = ben.get(f"/orders/{source}")
    assert page.status_code == 200
    form = re.search(
        r'<form method="post" action="([^"]+/copy)"[^>]*>(.*?)</form>', page.text, re.S
    )
    assert form is not None and "Repeat order</button>" in form.group(2)
    assert 'name="csrf_token"' in form.group(2)
    response = ben.post(f"/_act/sales_order/{source}/copy", {"_page": "order"})
    assert response.status_code == 303
    copy = int(response.headers["Location"].rsplit("/", 1)[1])
    assert copy != source and response.headers["Location"].endswith(f"/orders/{copy}")
    landed = ben.get(f"/orders/{copy}")
    assert "Order copied: this is the copy." in landed.text
    assert count(web, "sales_order") == 2 and count(web, "sales_order_line") == 4
    # German readers get the German button
    anna = web.client("anna@acme.test")
    assert "Bestellung wiederholen</button>" in anna.get(f"/orders/{source}").text


def test_copy_needs_csrf_read_and_create_rights(web: WebPortal) -> None:
    source = order(web)
    ben = web.client("ben@acme.test")
    forged = ben.client.post(ben.url(f"/_act/sales_order/{source}/copy"), data={})
    assert forged.status_code in (400, 403)
    nina = web.client("nina@globex.test")  # another account: the order does not exist for her
    assert nina.post(f"/_act/sales_order/{source}/copy").status_code == 404
    assert "/copy" not in nina.get(f"/orders/{source}").text
    invoice = web.store.insert(
        web.actor("sam@support.test"), "invoice",
        {"number": "R-1", "account": acme(web), "total": "5.00", "open_amount": "5"},
    ).id  # fmt: skip
    assert ben.post(f"/_act/invoice/{invoice}/copy").status_code == 404  # no copy: declared
    assert count(web, "sales_order") == 1


def test_copy_refused_by_a_child_goes_back_and_writes_nothing(web: WebPortal) -> None:
    source = order(web)
    table = web.compiled.tables["sales_order_line"]
    with web.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.order == source).values(quantity=5000))
    ben = web.client("ben@acme.test")
    response = ben.post(f"/_act/sales_order/{source}/copy", {"_page": "order"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/orders/{source}")
    assert count(web, "sales_order") == 1 and count(web, "sales_order_line") == 2


# -- the API -----------------------------------------------------------------------------------
def test_api_copy(web: WebPortal) -> None:
    source = order(web)
    ben = web.client("ben@acme.test")
    response = api_post(ben, f"/sales_order/{source}/copy")
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    body = response.json  # type: ignore[attr-defined]
    assert body["status"] == "draft" and body["number"] is None and body["id"] != source
    assert response.headers["Location"].endswith(f"{API}/sales_order/{body['id']}")  # type: ignore[attr-defined]
    assert count(web, "sales_order_line") == 4
    nina = web.client("nina@globex.test")
    assert api_post(nina, f"/sales_order/{source}/copy").status_code == 404  # type: ignore[attr-defined]
    no_csrf = ben.client.post(ben.url(f"{API}/sales_order/{source}/copy"))
    assert no_csrf.status_code == 403
    invoice = web.store.insert(
        web.actor("sam@support.test"), "invoice",
        {"number": "R-1", "account": acme(web), "total": "5.00", "open_amount": "5"},
    ).id  # fmt: skip
    assert api_post(ben, f"/invoice/{invoice}/copy").status_code == 404  # type: ignore[attr-defined]
    # with an Idempotency-Key a retried copy is the first one, not a third order
    once = {"X-CSRF-Token": ben.csrf, "Idempotency-Key": "repeat-order-1"}
    first = ben.client.post(ben.url(f"{API}/sales_order/{source}/copy"), headers=once)
    again = ben.client.post(ben.url(f"{API}/sales_order/{source}/copy"), headers=once)
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert count(web, "sales_order") == 3
    document = ben.get(f"{API}/openapi.json").json
    assert "post" in document["paths"]["/sales_order/{id}/copy"]
    assert "/invoice/{id}/copy" not in document["paths"]
    assert count(web, "sales_order") == 3


# -- mails in the recipient's locale -----------------------------------------------------------
def test_notification_mails_in_each_recipients_locale(
    database_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    web = deploy(database_url, tmp_path, env={"PORTALIS_SMTP_URL": smtp_server.url})
    try:
        sam = web.client("sam@support.test")
        invoice = web.store.insert(
            web.actor("sam@support.test"), "invoice",
            {"number": "R-7", "account": acme(web), "total": "79.00", "open_amount": "79",
             "due": "2026-10-31"},
        ).id  # fmt: skip
        response = sam.client.patch(
            sam.url(f"{API}/invoice/{invoice}"), json={"open_amount": "0"},
            headers={"X-CSRF-Token": sam.csrf},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json["status"] == "paid"  # the automation took `pay` in the same write
        settings = web.app.extensions["portalis"].settings
        assert Worker(web.engine, {MAIL_JOB: mail_handler(settings)}, batch=50).run_once() >= 2
        german = smtp_server.wait_for(to="anna@acme.test")
        assert german.language == "de"
        assert german.subject == "Bezahlt: R-7 (79,00 €)"
        assert "über 79,00\xa0€, fällig am 31.10.2026, ist paid." in german.text
        assert "79,00\xa0€" in german.html and "31.10.2026" in german.html
        english = smtp_server.wait_for(to="ben@acme.test")
        assert english.language == "en"
        assert english.subject == "Paid: R-7 (€79.00)"
        assert "over €79.00, due Oct 31, 2026, is paid." in english.text
    finally:
        web.close()
