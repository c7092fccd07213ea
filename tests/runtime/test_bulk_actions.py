"""Bulk actions on list rows (the shop test portal): transitions, set, delete and export on
the rows a reader selects, each row checked on its own — refused rows untouched and named
with the reason, another account's rows "not available" without a trace (SECURITY A.21,
ASVS 8.2.2), exports with the reader's field mask and formula-safe cells. The same through
`POST /api/v1/<entity>/bulk`, where mass assignment is refused before anything is written
(A.28)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.testing.web import PortalClient, WebPortal

SHOP = Path(__file__).parent / "data" / "shop"
#: The shop's list: index of each bulk action in its `bulk:`.
SUBMIT, CANCEL, HIGH, CHECKED, EXPORT, DELETE = range(6)


@pytest.fixture
def shop(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    web = WebPortal.deploy(database_url, tmp_path / "instance", SHOP)
    try:
        yield web
    finally:
        web.close()


def order_rows(web: WebPortal) -> dict[str, dict[str, Any]]:
    """Every order by reference, read without the policy."""
    table = web.compiled.tables["order"]
    with web.engine.connect() as conn:
        return {r["reference"]: dict(r) for r in conn.execute(sa.select(table)).mappings()}


def ids(web: WebPortal, *references: str) -> list[str]:
    rows = order_rows(web)
    return [str(rows[ref]["id"]) for ref in references]


def bulk(client: PortalClient, action: int, selected: list[str], **extra: Any) -> Any:
    return client.post("/_bulk/orders/0", {"action": str(action), "ids": selected, **extra})


def refused_reasons(html: str) -> dict[str, str]:
    """Refused row id → its text on the result page."""
    return dict(re.findall(r'data-bulk-refused="(\d+)">(.*?)</li>', html, re.S))


def done_ids(html: str) -> set[str]:
    return set(re.findall(r'data-bulk-done="(\d+)"', html))


def test_list_offers_checkboxes_and_the_actions_of_the_role(shop: WebPortal) -> None:
    page = shop.client("ben@acme.test").get("/orders").text
    assert 'name="ids"' in page and 'name="page_ids"' in page
    assert 'aria-label="Select Acme draft one"' in page
    bar = re.search(r'<select id="b0-bulk-action" name="action">(.*?)</select>', page, re.S)
    assert bar is not None
    # buyers may not write internal_note: "Mark checked" is not offered to them
    assert "Mark checked" not in bar.group(1)
    assert "Mark high priority" in bar.group(1) and "Delete" in bar.group(1)
    clerk = shop.client("cleo@shop.test").get("/orders").text
    # clerks have no delete grant
    menu = re.search(r'name="action">(.*?)</select>', clerk, re.S)
    assert menu is not None and "Delete" not in menu.group(1) and "Mark checked" in menu.group(1)


def test_bulk_transition_mixed_rows(shop: WebPortal) -> None:
    """submit on two drafts and a submitted order: the drafts are done, the submitted one
    is refused with the guard's reason and stays as it was."""
    client = shop.client("ben@acme.test")
    before = order_rows(shop)
    selected = ids(shop, "Acme draft one", "Acme draft two", "Acme submitted")
    response = bulk(client, SUBMIT, selected)
    assert response.status_code == 200
    assert done_ids(response.text) == set(selected[:2])
    refused = refused_reasons(response.text)
    assert list(refused) == [selected[2]]
    assert "Acme submitted" in refused[selected[2]]
    after = order_rows(shop)
    assert after["Acme draft one"]["status"] == "submitted"
    assert after["Acme draft two"]["status"] == "submitted"
    assert after["Acme submitted"] == before["Acme submitted"]


def test_bulk_transition_when_condition_refuses_with_its_reason(shop: WebPortal) -> None:
    client = shop.client("ben@acme.test")
    selected = ids(shop, "Acme draft one", "Acme draft two")
    response = bulk(client, CANCEL, selected)
    assert done_ids(response.text) == {selected[0]}
    reason = refused_reasons(response.text)[selected[1]]
    assert "condition" in reason and "not available" not in reason
    rows = order_rows(shop)
    assert rows["Acme draft one"]["status"] == "cancelled"
    assert rows["Acme draft two"]["status"] == "draft"


def test_asvs_8_2_2_idor_bulk_foreign_ids_not_available(shop: WebPortal) -> None:
    """Another account's id among the selected rows: reported as not available (no title),
    nothing of it touched; an id that does not exist reads the same."""
    client = shop.client("ben@acme.test")
    before = order_rows(shop)
    own, foreign = ids(shop, "Acme draft one", "Globex secret order")
    for action in (SUBMIT, HIGH, DELETE):
        response = bulk(client, action, [foreign, "999999"])
        assert response.status_code == 200
        refused = refused_reasons(response.text)
        assert set(refused) == {foreign, "999999"}
        assert refused[foreign].replace(foreign, "X") == refused["999999"].replace("999999", "X")
        assert "Globex" not in response.text
        assert not done_ids(response.text)
    assert order_rows(shop) == before
    response = bulk(client, HIGH, [own, foreign])
    assert done_ids(response.text) == {own}
    after = order_rows(shop)
    assert after["Acme draft one"]["priority"] == "high"
    assert after["Globex secret order"] == before["Globex secret order"]


def test_bulk_set_refuses_rows_outside_the_grant(shop: WebPortal) -> None:
    """The clerk may update every order's internal note; the result names each row done."""
    client = shop.client("cleo@shop.test")
    selected = ids(shop, "Acme draft one", "Globex secret order")
    response = bulk(client, CHECKED, selected)
    assert done_ids(response.text) == set(selected)
    rows = order_rows(shop)
    assert rows["Acme draft one"]["internal_note"] == "checked"
    assert rows["Globex secret order"]["internal_note"] == "checked"


def test_bulk_action_not_offered_is_404(shop: WebPortal) -> None:
    """Direct POST of an action the role has no right to (ASVS 8.3.1): 404, nothing done."""
    before = order_rows(shop)
    buyer = shop.client("ben@acme.test")
    assert bulk(buyer, CHECKED, ids(shop, "Acme draft one")).status_code == 404
    clerk = shop.client("cleo@shop.test")
    assert bulk(clerk, DELETE, ids(shop, "Acme draft one")).status_code == 404
    assert bulk(clerk, 99, ids(shop, "Acme draft one")).status_code == 404
    assert clerk.post("/_bulk/orders/7", {"action": "0"}).status_code == 404
    assert clerk.post("/_bulk/nope/0", {"action": "0"}).status_code == 404
    assert order_rows(shop) == before


def test_bulk_delete_only_where_granted(shop: WebPortal) -> None:
    """Buyers may delete drafts of their account only: the submitted order is refused."""
    client = shop.client("ben@acme.test")
    selected = ids(shop, "Acme draft one", "Acme submitted")
    response = bulk(client, DELETE, selected)
    assert done_ids(response.text) == {selected[0]}
    assert "not available" in refused_reasons(response.text)[selected[1]]
    rows = order_rows(shop)
    assert "Acme draft one" not in rows and "Acme submitted" in rows


def test_bulk_all_on_this_page(shop: WebPortal) -> None:
    """Without JavaScript, "all on this page" posts every row id of the page."""
    client = shop.client("ben@acme.test")
    page = client.get("/orders").text
    page_ids = re.findall(r'name="page_ids" value="(\d+)"', page)
    assert sorted(page_ids) == sorted(
        ids(shop, "Acme draft one", "Acme draft two", "Acme submitted")
    )
    response = bulk(client, HIGH, [], scope="page", page_ids=page_ids)
    assert done_ids(response.text) == set(page_ids)


def test_bulk_nothing_selected(shop: WebPortal) -> None:
    response = bulk(shop.client("ben@acme.test"), SUBMIT, [])
    assert response.status_code == 422
    assert "No rows were selected" in response.text


def test_bulk_form_carries_each_sessions_own_token(shop: WebPortal) -> None:
    """Two buyers share the list's kept frame (same roles, same URL): each page's bulk form
    still holds that session's CSRF token, so posting it works (a kept token would be 400)."""
    for email, reference in (
        ("ben@acme.test", "Acme draft one"),
        ("nina@globex.test", "Globex secret order"),
    ):
        client = shop.client(email)
        page = client.get("/orders").text
        form = page[page.index("data-portalis-bulk") :]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        response = client.client.post(
            client.url("/_bulk/orders/0"),
            data={"csrf_token": token.group(1), "action": str(HIGH), "ids": ids(shop, reference)},
        )
        assert response.status_code == 200, email
        assert done_ids(response.text) == set(ids(shop, reference))


def test_bulk_needs_csrf(shop: WebPortal) -> None:
    client = shop.client("ben@acme.test")
    before = order_rows(shop)
    response = client.client.post(
        client.url("/_bulk/orders/0"),
        data={"action": str(SUBMIT), "ids": ids(shop, "Acme draft one")},
    )
    assert response.status_code == 400
    assert order_rows(shop) == before


def test_bulk_export_field_mask_and_formula_cells(shop: WebPortal) -> None:
    """The export holds the selected rows the reader may read, with the columns they may
    read; cells starting with = + - @ are defused."""
    own = ids(shop, "Acme draft one", "Acme submitted")
    foreign = ids(shop, "Globex secret order")
    buyer = bulk(shop.client("ben@acme.test"), EXPORT, own + foreign)
    assert buyer.status_code == 200
    assert buyer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in buyer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(buyer.text)))
    assert rows[0] == ["Reference", "Priority", "Status", "Note"]
    assert [r[0] for r in rows[1:]] == ["Acme draft one", "Acme submitted"]
    assert rows[2][3] == "'+cmd|' /C calc'!A0"
    assert "Globex" not in buyer.text and "HYPERLINK" not in buyer.text
    clerk = bulk(shop.client("cleo@shop.test"), EXPORT, own)
    rows = list(csv.reader(io.StringIO(clerk.text)))
    assert rows[0][-1] == "Internal note"
    assert rows[1][-1] == '\'=HYPERLINK("x")'


def test_bulk_keyboard_and_labels(shop: WebPortal) -> None:
    """The action bar is a labelled group with a labelled select; the header checkbox is
    labelled and hidden until the script shows it; no inline script."""
    page = shop.client("ben@acme.test").get("/orders").text
    assert '<label id="b0-bulk-label" for="b0-bulk-action">' in page
    assert 'data-bulk-all hidden aria-label="Select all on this page"' in page
    assert "bulk-select.js" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)


# -- the REST API ---------------------------------------------------------------------------
def post(client: PortalClient, body: Any, **headers: str) -> Any:
    return client.client.post(
        client.url("/api/v1/order/bulk"),
        json=body,
        headers={"X-CSRF-Token": client.csrf, **headers},
    )


def test_api_bulk_transition_mixed_and_foreign(shop: WebPortal) -> None:
    rows = order_rows(shop)
    before = rows
    client = shop.client("ben@acme.test")
    one, two, submitted, foreign = (
        rows[r]["id"]
        for r in ("Acme draft one", "Acme draft two", "Acme submitted", "Globex secret order")
    )
    response = post(client, {"action": "transition", "name": "cancel",
                             "ids": [one, two, submitted, foreign, 424242]})  # fmt: skip
    assert response.status_code == 200
    body = response.json
    assert body["done"] == [one, submitted]
    refused = {r["id"]: r for r in body["refused"]}
    assert refused[two]["code"] == "refused"
    assert refused[foreign]["code"] == refused[424242]["code"] == "not-available"
    assert refused[foreign]["reasons"] == refused[424242]["reasons"]
    after = order_rows(shop)
    assert after["Globex secret order"] == before["Globex secret order"]
    assert after["Acme draft two"] == before["Acme draft two"]
    assert after["Acme draft one"]["status"] == "cancelled"


def test_api_bulk_update_refuses_unwritable_fields_up_front(shop: WebPortal) -> None:
    client = shop.client("ben@acme.test")
    before = order_rows(shop)
    own = before["Acme draft one"]["id"]
    for values in ({"internal_note": "x"}, {"status": "cancelled"}, {"account": 1}):
        response = post(client, {"action": "update", "ids": [own], "values": values})
        assert response.status_code == 422, values
        assert response.headers["Content-Type"].startswith("application/problem+json")
    assert order_rows(shop) == before
    response = post(client, {"action": "update", "ids": [own], "values": {"note": "bulk"}})
    assert response.json["done"] == [own]
    assert order_rows(shop)["Acme draft one"]["note"] == "bulk"


def test_api_bulk_request_errors(shop: WebPortal) -> None:
    client = shop.client("cleo@shop.test")
    own = order_rows(shop)["Acme draft one"]["id"]
    assert post(client, {"action": "delete", "ids": [own]}).status_code == 403  # no grant
    malformed = [
        ({"action": "transition", "name": "nope", "ids": [own]}, {"name"}),
        ({"action": "explode", "ids": [own]}, {"action"}),
        ({"action": {}, "ids": [1], "name": "", "values": {}}, {"action", "name", "values"}),
        ({"action": "delete", "ids": "1"}, {"ids"}),
        ({"action": "delete", "ids": [0]}, {"ids"}),
        ({"action": "delete", "ids": [1.5]}, {"ids"}),
        ({"action": "delete", "ids": []}, {"ids"}),
        ({"action": "delete", "ids": [own], "name": "cancel"}, {"name"}),
        ({"action": "update", "ids": [True], "values": {"note": "x"}}, {"ids"}),
        ({"action": "update", "ids": [own]}, {"values"}),
        ({"action": "update", "ids": [own], "values": {}}, {"values"}),
        ({"action": "transition", "name": 3, "ids": [own]}, {"name"}),
    ]
    for body, members in malformed:
        response = post(client, body)
        assert response.status_code == 422, body
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert set(response.json["errors"]) == members, body
    # an integral float is the integer it spells, as everywhere in the API
    assert post(client, {"action": "delete", "ids": [float(own)]}).status_code == 403
    no_csrf = client.client.post(
        client.url("/api/v1/order/bulk"), json={"action": "delete", "ids": [own]}
    )
    assert no_csrf.status_code == 403
    assert client.client.post(client.url("/api/v1/nothing/bulk"), json={}).status_code == 404
    assert "Globex secret order" in order_rows(shop)


def test_api_bulk_delete_and_openapi(shop: WebPortal) -> None:
    client = shop.client("ben@acme.test")
    rows = order_rows(shop)
    ids = [rows["Acme draft one"]["id"], rows["Acme submitted"]["id"]]
    response = post(client, {"action": "delete", "ids": ids})
    assert response.json["done"] == [ids[0]]
    assert response.json["refused"][0]["code"] == "not-available"
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/order/bulk"]["post"]
    shapes = operation["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert [s["properties"]["action"]["enum"] for s in shapes] == [
        ["delete"],
        ["transition"],
        ["update"],
    ]
    assert shapes[1]["properties"]["name"]["enum"] == ["cancel", "submit"]
    values = shapes[2]["properties"]["values"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert "note" in document["components"]["schemas"][values]["properties"]
    assert "internal_note" not in document["components"]["schemas"][values]["properties"]
    assert "/product/bulk" not in document["paths"]  # buyers only read products
    options = client.client.options(client.url("/api/v1/order/bulk"))
    assert "POST" in options.headers["Allow"]
