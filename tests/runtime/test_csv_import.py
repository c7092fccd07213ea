"""CSV import on a list (`import:`; the imports test portal): upload with the file
discipline, column mapping guessed from headers and labels, the dry run with per-row errors,
the import in one transaction — or, for files larger than a batch, in the background batch by
batch with a progress page — every row through the record store with the importer's rights
(SECURITY A.21 IDOR, A.22 field masks, A.39 upload limits, A.27 all-or-nothing)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.runtime import import_state
from portalis.testing.jobs import run_jobs
from portalis.testing.web import PortalClient, WebPortal

IMPORTS = Path(__file__).parent / "data" / "imports"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance", IMPORTS)
    try:
        yield portal
    finally:
        portal.close()


def rows(web: WebPortal, entity: str) -> dict[str, dict[str, Any]]:
    table = web.compiled.tables[entity]
    key = "sku" if entity == "product" else "reference"
    with web.engine.connect() as conn:
        return {r[key]: dict(r) for r in conn.execute(sa.select(table)).mappings()}


def upload(client: PortalClient, page: str, content: str | bytes, name: str = "items.csv") -> Any:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        f"/_import/{page}/0",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def started(client: PortalClient, page: str, content: str | bytes, name: str = "x.csv") -> str:
    """Upload and return the import page's path."""
    response = upload(client, page, content, name)
    assert response.status_code == 303, response.text
    location = response.headers["Location"]
    return location[location.index("/_import/") :]


def mapping_of(html: str) -> dict[str, str]:
    """Column index → the field selected for it on the mapping page."""
    out = {}
    for i, body in re.findall(r'<select name="map-(\d+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        out[i] = chosen.group(1) if chosen else ""
    return out


def problems(html: str) -> list[tuple[str, str, str]]:
    return [
        (line, re.sub(r"<[^>]+>", "", col), re.sub(r"<[^>]+>", "", text))
        for line, col, text in re.findall(
            r'data-import-problem="(\d+)"><td[^>]*>\d+</td><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td>',
            html,
        )
    ]


GERMAN = (
    "\ufeffArtikelnummer;Bezeichnung;Kategorie;Preis;Bestand;Verfügbar ab;Art\n"
    "SKU-201;Hammer;T;1.234,50 €;12;07.12.2026;Ware\n"
    "SKU-202;Teddy;Y;9,99;3;2026-12-24;Dienstleistung\n"
)


def test_german_file_is_mapped_checked_and_imported_in_one_go(web: WebPortal) -> None:
    """Semicolons, a BOM, German labels as headers, 1.234,50 and 07.12.2026 in a German
    reader's file: mapped by label, the dry run writes nothing, the import creates both."""
    clerk = web.client("cleo@shop.test")
    list_page = clerk.get("/products").text
    assert 'href="/import-test/_import/products/0"' in list_page
    path = started(clerk, "products", GERMAN)
    page = clerk.get(path)
    assert page.status_code == 200
    assert mapping_of(page.text) == {
        "0": "sku", "1": "name", "2": "category", "3": "price", "4": "stock",
        "5": "available_from", "6": "kind",
    }  # fmt: skip
    form = {f"map-{i}": v for i, v in mapping_of(page.text).items()}
    checked = clerk.post(path, {**form, "step": "check"})
    assert checked.status_code == 303
    result = clerk.get(path).text
    assert 'id="import-run"' in result and "2" in result
    assert "SKU-201" not in rows(web, "product")  # a dry run keeps nothing
    done = clerk.post(path, {"step": "import"})
    assert done.status_code == 303
    assert "import-summary" in clerk.get(path).text
    made = rows(web, "product")
    hammer, teddy = made["SKU-201"], made["SKU-202"]
    price = web.store.get(web.actor("cleo@shop.test"), "product", hammer["id"]).get("price")
    assert (price.amount, price.currency) == (Decimal("1234.50"), "EUR")
    assert hammer["stock"] == 12 and str(hammer["available_from"])[:10] == "2026-12-07"
    assert teddy["kind"] == "service" and str(teddy["available_from"])[:10] == "2026-12-24"
    categories = web.compiled.tables["category"]
    with web.engine.connect() as conn:
        tools = conn.execute(sa.select(categories.c.id).where(categories.c.code == "T")).scalar()
    assert hammer["category"] == tools


def test_dry_run_names_row_column_and_the_form_error(web: WebPortal) -> None:
    clerk = web.client("cleo@shop.test")
    content = (
        "sku,name,category,stock\n"
        "SKU-100,Duplicate,T,1\n"  # line 2: the SKU exists
        "SKU-301,,T,1\n"  # line 3: name is required
        "SKU-302,Ok,NOPE,abc\n"  # line 4: unknown category, stock no number
        "SKU-303,Fine,Y,-1\n"  # line 5: below min
        "SKU-304,Good,T,5\n"
    )
    path = started(clerk, "products", content)
    form = {f"map-{i}": v for i, v in mapping_of(clerk.get(path).text).items()}
    assert clerk.post(path, {**form, "step": "check"}).status_code == 303
    html = clerk.get(path).text
    found = problems(html)
    lines = {line for line, _, _ in found}
    assert lines == {"2", "3", "4", "5"}
    by_line = {(line, col) for line, col, _ in found}
    assert ("3", "name") in by_line and ("4", "category") in by_line
    assert ("4", "stock") in by_line and ("5", "stock") in by_line
    assert 'id="import-run"' not in html  # no import while rows would be refused
    # a forced import is refused too: nothing is written
    assert clerk.post(path, {"step": "import"}).status_code == 303
    assert "SKU-304" not in rows(web, "product")


def test_mapping_can_be_changed_and_is_checked(web: WebPortal) -> None:
    clerk = web.client("cleo@shop.test")
    path = started(clerk, "products", "Code,Title\nSKU-401,Saw\n")
    assert mapping_of(clerk.get(path).text) == {"0": "", "1": ""}
    missing = clerk.post(path, {"map-0": "sku", "map-1": "", "step": "check"})
    # (Cleo reads German)
    assert missing.status_code == 422 and "Bezeichnung ist Pflicht" in missing.text
    twice = clerk.post(path, {"map-0": "sku", "map-1": "sku", "step": "check"})
    assert twice.status_code == 422 and "für mehr als eine Spalte" in twice.text
    # a field the actor may not import is no choice at all
    assert clerk.post(path, {"map-0": "id", "map-1": "name", "step": "check"}).status_code == 400
    assert clerk.post(path, {"map-0": "sku", "map-1": "name", "step": "check"}).status_code == 303
    clerk.post(path, {"step": "import"})
    assert rows(web, "product")["SKU-401"]["name"] == "Saw"


def test_large_file_runs_in_batches_with_a_progress_page(web: WebPortal) -> None:
    """25 rows with batches of 10: the dry run and the import run on the worker; the page
    shows the progress with a Refresh link, then each batch's outcome."""
    clerk = web.client("cleo@shop.test")
    lines = ["sku,name,stock"] + [f"B-{n:03d},Item {n},{n}" for n in range(25)]
    lines[18] = "B-017,,1"  # file line 19 (in the second batch) has no name
    path = started(clerk, "products", "\n".join(lines) + "\n")
    form = {f"map-{i}": v for i, v in mapping_of(clerk.get(path).text).items()}
    assert clerk.post(path, {**form, "step": "check"}).status_code == 303
    waiting = clerk.get(path).text
    assert 'id="import-refresh"' in waiting and "<progress" in waiting
    run_jobs(web.app)
    checked = clerk.get(path).text
    assert [line for line, _, _ in problems(checked)] == ["19"]
    # the corrected file
    lines[18] = "B-017,Item 17,17"
    path = started(clerk, "products", "\n".join(lines) + "\n")
    clerk.post(path, {**form, "step": "check"})
    run_jobs(web.app)
    assert clerk.post(path, {"step": "import"}).status_code == 303
    assert "import-refresh" in clerk.get(path).text
    assert not any(k.startswith("B-") for k in rows(web, "product"))
    run_jobs(web.app)
    done = clerk.get(path).text
    assert done.count("data-import-batch") == 3
    assert sum(k.startswith("B-") for k in rows(web, "product")) == 25


def test_buyer_imports_into_own_account_without_the_clerk_field(web: WebPortal) -> None:
    """The account is the buyer's whatever the file says; internal_note is not offered and
    cannot be mapped (A.22)."""
    ben = web.client("ben@acme.test")
    assert ben.get("/products").text.count("_import/") == 0  # buyers may not create products
    assert ben.get("/_import/products/0").status_code == 404
    path = started(ben, "orders", "reference,note,internal_note\nPO-1,first,sneaky\n")
    page = ben.get(path).text
    assert 'value="internal_note"' not in page
    assert ben.post(path, {"map-0": "reference", "map-1": "note", "map-2": "internal_note",
                           "step": "check"}).status_code == 400  # fmt: skip
    ben.post(path, {"map-0": "reference", "map-1": "note", "map-2": "", "step": "check"})
    ben.post(path, {"step": "import"})
    order = rows(web, "order")["PO-1"]
    accounts = web.compiled.tables["account"]
    with web.engine.connect() as conn:
        acme = conn.execute(sa.select(accounts.c.id).where(accounts.c.name == "Acme GmbH")).scalar()
    assert order["account"] == acme and order["internal_note"] is None


def test_asvs_8_2_2_idor_import_of_another_user_is_404(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    path = started(ben, "orders", "reference\nPO-9\n")
    nina = web.client("nina@globex.test")
    assert nina.get(path).status_code == 404
    assert nina.post(path, {"map-0": "reference", "step": "check"}).status_code == 404
    assert web.client().get(path).status_code in (302, 303, 404)
    clerk = web.client("cleo@shop.test")
    assert clerk.get(path).status_code == 404
    assert ben.get(path.replace("/orders/", "/products/")).status_code == 404
    assert ben.get("/_import/orders/0/not-an-import").status_code == 404
    assert ben.get("/_import/orders/7").status_code == 404
    assert ben.get("/_import/nopage/0").status_code == 404


def test_asvs_5_2_upload_discipline(web: WebPortal) -> None:
    clerk = web.client("cleo@shop.test")
    assert upload(clerk, "products", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "x.csv").status_code == 422
    assert upload(clerk, "products", "sku\nA\n", "x.exe").status_code == 422
    latin = "sku,name\nA-1,Müller\n".encode("latin-1")
    refused = upload(clerk, "products", latin, "x.csv")
    assert refused.status_code == 422 and "UTF-8" in refused.text
    assert upload(clerk, "products", "sku,name\n", "x.csv").status_code == 422
    big = "sku,name\n" + "A,B\n" * (20 * 1024 * 1024 // 4 + 1)
    assert upload(clerk, "products", big, "x.csv").status_code == 413
    assert not web.client("cleo@shop.test").get("/products").text.count("import-error")


def test_csrf_is_required(web: WebPortal) -> None:
    clerk = web.client("cleo@shop.test")
    clerk.csrf = "wrong"
    assert upload(clerk, "products", "sku,name\nA,B\n").status_code in (400, 403)


def test_background_import_of_a_user_disabled_meanwhile_writes_nothing(web: WebPortal) -> None:
    """The job acts as the uploader as they are when it runs: disabled → nothing imported."""
    clerk = web.client("cleo@shop.test")
    lines = ["sku,name"] + [f"D-{n:03d},Item {n}" for n in range(15)]
    path = started(clerk, "products", "\n".join(lines) + "\n")
    assert clerk.post(path, {"map-0": "sku", "map-1": "name", "step": "check"}).status_code == 303
    run_jobs(web.app)
    assert clerk.post(path, {"step": "import"}).status_code == 303
    users = web.compiled.tables["user"]
    with web.engine.begin() as conn:
        conn.execute(
            users.update().where(users.c.email == "cleo@shop.test").values(is_active=False)
        )
    run_jobs(web.app)
    assert not any(k.startswith("D-") for k in rows(web, "product"))
    with web.engine.connect() as conn:
        item = import_state.load(conn, web.slug, path.rsplit("/", 1)[1])
    assert item is not None and item.status == "done" and item.created == 0
    assert item.problems[0].message.code == "forbidden"
