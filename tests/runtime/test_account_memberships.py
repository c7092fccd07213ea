"""A user who belongs to several accounts switches between them; the active account scopes
the pages, the REST API and the roles (b2c: lena belongs to Acme and, as a customer, Globex).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.accounts.memberships import user_memberships
from portalis.engine.data.system_tables import audit, memberships
from portalis.runtime.active_account import ACCOUNT_HEADER
from portalis.testing.portals import BLUEPRINTS
from portalis.testing.web import PortalClient, WebPortal, count_selects

LENA = "lena@acme.test"
BEN = "ben@acme.test"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "i")
    yield portal
    portal.close()


def _ids(web: WebPortal) -> dict[str, int]:
    return {
        "acme": web.record_id("account", name="Acme GmbH"),
        "globex": web.record_id("account", name="Globex Ltd"),
        "t1": web.record_id("ticket", subject="Invoice 2026-114 is wrong"),
        "t3": web.record_id("ticket", subject="Change of delivery address"),
    }


def _subjects(browser: PortalClient) -> set[str]:
    listing = browser.get("/api/v1/ticket")
    assert listing.status_code == 200, listing.text
    return {row["subject"] for row in listing.json["items"]}


def _switch(browser: PortalClient, account: int) -> int:
    return browser.post("/account/switch", {"account": str(account)}).status_code


def test_a21_member_of_two_accounts_sees_the_active_accounts_records_only(web: WebPortal) -> None:
    ids = _ids(web)
    lena = web.client(LENA)
    # the home account first: Acme's tickets, Globex's are not there
    assert "Invoice 2026-114 is wrong" in _subjects(lena)
    assert "Change of delivery address" not in _subjects(lena)
    assert lena.get(f"/tickets/{ids['t3']}").status_code == 404
    page = lena.get("/tickets").text
    assert 'id="account-switch"' in page and f'action="/{web.slug}/account/switch"' in page
    assert re.search(rf'<option value="{ids["acme"]}" selected>Acme GmbH</option>', page)

    response = lena.post("/account/switch", {"account": str(ids["globex"])})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/{web.slug}/")
    # Globex is active: its tickets in the list, the detail page and the API; Acme's are gone
    assert "Change of delivery address" in _subjects(lena)
    assert "Invoice 2026-114 is wrong" not in _subjects(lena)
    assert lena.get(f"/tickets/{ids['t3']}").status_code == 200
    assert lena.get(f"/tickets/{ids['t1']}").status_code == 404
    assert lena.get(f"/api/v1/ticket/{ids['t1']}").status_code == 404
    page = lena.get("/tickets").text
    assert "Change of delivery address" in page and "Invoice 2026-114" not in page
    assert re.search(rf'<option value="{ids["globex"]}" selected>Globex Ltd</option>', page)
    # a new ticket is Globex's
    created = lena.client.post(
        lena.url("/api/v1/ticket"),
        data=json.dumps({"subject": "Filed for Globex"}),
        headers={"X-CSRF-Token": lena.csrf, "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    with web.engine.connect() as conn:
        events = conn.execute(
            sa.select(audit.c.detail).where(audit.c.action == "account_switch")
        ).all()
    assert [e.detail["account"] for e in events] == [ids["globex"]]

    # and back home
    assert _switch(lena, ids["acme"]) == 303
    assert "Invoice 2026-114 is wrong" in _subjects(lena)
    assert "Filed for Globex" not in _subjects(lena)


def test_a21_switching_to_an_account_one_does_not_belong_to_is_404(web: WebPortal) -> None:
    ids = _ids(web)
    ben = web.client(BEN)
    assert _switch(ben, ids["globex"]) == 404
    assert _switch(ben, 999_999) == 404
    assert ben.post("/account/switch", {"account": "x"}).status_code == 404
    assert ben.get("/account/switch").status_code == 405
    # nothing changed: still Acme's tickets only, and no switcher for a one-account user
    assert "Change of delivery address" not in _subjects(ben)
    assert 'id="account-switch"' not in ben.get("/tickets").text
    # signed out: to the login page
    anonymous = web.client()
    anonymous.sync_csrf()
    response = anonymous.post("/account/switch", {"account": str(ids["acme"])})
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


def test_a21_api_header_names_the_account_of_one_request(web: WebPortal) -> None:
    ids = _ids(web)
    lena = web.client(LENA)
    globex = {ACCOUNT_HEADER: str(ids["globex"])}
    listing = lena.get("/api/v1/ticket", headers=globex)
    assert {r["subject"] for r in listing.json["items"]} >= {"Change of delivery address"}
    assert "Invoice 2026-114 is wrong" not in {r["subject"] for r in listing.json["items"]}
    assert lena.get(f"/api/v1/ticket/{ids['t3']}", headers=globex).status_code == 200
    # the header is for that request only: the session's account is still Acme
    assert "Invoice 2026-114 is wrong" in _subjects(lena)
    # an account the user does not belong to, or no account id at all: 404
    ben = web.client(BEN)
    assert (
        ben.get("/api/v1/ticket", headers={ACCOUNT_HEADER: str(ids["globex"])}).status_code == 404
    )
    assert ben.get("/api/v1/ticket", headers={ACCOUNT_HEADER: "globex"}).status_code == 404
    assert ben.get("/api/v1/ticket", headers={ACCOUNT_HEADER: str(ids["acme"])}).status_code == 200


def test_a21_an_ended_membership_sends_the_session_back_home(web: WebPortal) -> None:
    ids = _ids(web)
    lena = web.client(LENA)
    assert _switch(lena, ids["globex"]) == 303
    uid = web.record_id("user", email=LENA)
    with web.engine.begin() as conn:
        conn.execute(
            memberships.delete().where(
                memberships.c.user_id == uid, memberships.c.account_id == ids["globex"]
            )
        )
    assert "Invoice 2026-114 is wrong" in _subjects(lena)
    assert lena.get(f"/tickets/{ids['t3']}").status_code == 404


def test_redeploy_adds_home_memberships_and_keeps_the_others(
    web: WebPortal, database_url: str, tmp_path: Path
) -> None:
    ids = _ids(web)
    lena = web.record_id("user", email=LENA)
    ben = web.record_id("user", email=BEN)
    with web.engine.begin() as conn:
        # as before memberships existed: no home rows at all
        conn.execute(
            memberships.delete().where(
                memberships.c.account_id == ids["acme"], memberships.c.user_id.in_([lena, ben])
            )
        )
    WebPortal.deploy(database_url, tmp_path / "j", BLUEPRINTS / "b2c", seed=False).close()
    with web.engine.connect() as conn:
        found = {m.account: m for m in user_memberships(conn, web.compiled, lena)}
        assert [m.account for m in user_memberships(conn, web.compiled, ben)] == [ids["acme"]]
    assert set(found) == {ids["acme"], ids["globex"]}
    assert found[ids["acme"]].home and found[ids["acme"]].roles == ("customer",)
    assert not found[ids["globex"]].home


def test_switched_pages_keep_a_constant_number_of_queries(web: WebPortal) -> None:
    ids = _ids(web)
    ben = web.client(BEN)
    lena = web.client(LENA)
    assert _switch(lena, ids["globex"]) == 303
    ben.get("/tickets")
    lena.get("/tickets")
    with count_selects(web.engine) as one:
        ben.get("/tickets")
    with count_selects(web.engine) as other:
        lena.get("/tickets")
    # the membership's roles and the switcher's accounts: two reads, whatever the page shows
    assert len(other) == len(one) + 2, (one, other)
