"""Sequence fields over HTTP (SQLite and PostgreSQL): forms never offer the number and ignore
one that is posted, the API refuses it (422 `not-writable`, as for computed fields) and
answers it, lists show, search and sort it, the edit form shows it read-only.

The portal is tests/engine/portals/numbering; the store's clock is set to 2091, so the
records created here are numbered from 1 whatever year the seed data was loaded in.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portalis.engine.data import store as store_module
from portalis.testing.web import PortalClient, WebPortal

FOLDER = Path(__file__).parent.parent / "engine" / "portals" / "numbering"
WHEN = datetime(2091, 4, 2, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def web(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebPortal]:
    folder = tmp_path / "numbering"
    shutil.copytree(FOLDER, folder)
    portal = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    monkeypatch.setattr(store_module, "utcnow", lambda: WHEN)
    yield portal
    portal.close()


@pytest.fixture
def clara(web: WebPortal) -> PortalClient:
    return web.client("clara@numbering.test")


def number_of(web: WebPortal, customer: str) -> str:
    record = web.store.get(
        web.actor("clara@numbering.test"), "invoice", web.record_id("invoice", customer=customer)
    )
    return str(record["number"])


def test_asvs_8_2_3_the_create_form_has_no_number_and_ignores_a_posted_one(
    web: WebPortal, clara: PortalClient
) -> None:
    page = clara.get("/invoices/new")
    assert page.status_code == 200
    assert 'name="customer"' in page.text and 'name="number"' not in page.text
    posted = clara.post(
        "/invoices/new", {"_block": "0", "customer": "Initech", "number": "INV-1999-00001"}
    )
    assert posted.status_code == 303
    assert number_of(web, "Initech") == "INV-2091-00001"


def test_asvs_8_2_3_the_edit_form_shows_the_number_read_only(
    web: WebPortal, clara: PortalClient
) -> None:
    clara.post("/invoices/new", {"_block": "0", "customer": "Initech"})
    invoice = web.record_id("invoice", customer="Initech")
    page = clara.get(f"/invoices/{invoice}/edit")
    assert page.status_code == 200
    assert "INV-2091-00001" in page.text and 'name="number"' not in page.text
    changed = clara.post(
        f"/invoices/{invoice}/edit",
        {"_block": "0", "version": "1", "customer": "Initech AG", "number": "INV-1999-00001"},
    )
    assert changed.status_code == 303
    assert number_of(web, "Initech AG") == "INV-2091-00001"


def test_asvs_8_2_3_the_api_refuses_a_number_and_answers_it(
    web: WebPortal, clara: PortalClient
) -> None:
    api, headers = clara.url("/api/v1/invoice"), {"X-CSRF-Token": clara.csrf}
    refused = clara.client.post(
        api, json={"customer": "Globex", "number": "INV-1999-00001"}, headers=headers
    )
    assert refused.status_code == 422
    assert "not-writable" in refused.text
    created = clara.client.post(api, json={"customer": "Globex"}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["number"] == "INV-2091-00001"
    patched = clara.client.patch(
        f"{api}/{body['id']}", json={"number": "INV-2091-00009"}, headers=headers
    )
    assert patched.status_code == 422
    assert clara.client.get(f"{api}/{body['id']}").get_json()["number"] == "INV-2091-00001"
    spec = clara.client.get(clara.url("/api/v1/openapi.json")).get_json()
    schemas = spec["components"]["schemas"]
    create = next(v for k, v in schemas.items() if k.startswith("invoice") and "create" in k)
    assert "number" not in create.get("properties", {})


def test_lists_show_search_and_sort_numbers(web: WebPortal, clara: PortalClient) -> None:
    for customer in ("Initech", "Umbrella"):
        clara.post("/invoices/new", {"_block": "0", "customer": customer})
    listing = clara.get("/invoices").text
    shown = re.findall(r"INV-\d{4}-\d{5}", listing)
    assert shown[:2] == ["INV-2091-00002", "INV-2091-00001"]  # sort: -number
    assert len(shown) == 4  # and the two seeded invoices
    found = clara.get("/invoices", query_string={"q": "2091-00002"}).text
    assert "Umbrella" in found and "Initech" not in found
    detail = clara.get(f"/invoices/{web.record_id('invoice', customer='Umbrella')}").text
    assert "INV-2091-00002" in detail
