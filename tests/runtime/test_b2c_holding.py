"""The starter blueprint's holding: Acme Holding AG is Acme GmbH's parent account, and its
administrator hanna reads the tickets of the whole group through `scope: account_tree` —
never Globex's, which is no part of it (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.testing.web import WebPortal

HANNA = "hanna@acme-holding.test"
ACME = ("Invoice 2026-114 is wrong", "Cannot download my contract")
GLOBEX = ("Change of delivery address", "Outage in the order portal")


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "i")
    yield portal
    portal.close()


def test_the_holding_sees_its_subsidiaries_tickets_and_no_others(web: WebPortal) -> None:
    holding = web.record_id("account", name="Acme Holding AG")
    assert web.store.get(web.actor("sam@support.test"), "account",
                         web.record_id("account", name="Acme GmbH"))["parent"] == holding  # fmt: skip
    hanna = web.client(HANNA)
    listing = {row["subject"] for row in hanna.get("/api/v1/ticket").json["items"]}
    assert listing == set(ACME)
    page = hanna.get("/tickets").text
    assert all(s in page for s in ACME) and not any(s in page for s in GLOBEX)
    acme_ticket = web.record_id("ticket", subject=ACME[0])
    globex_ticket = web.record_id("ticket", subject=GLOBEX[0])
    assert hanna.get(f"/tickets/{acme_ticket}").status_code == 200
    assert hanna.get(f"/tickets/{globex_ticket}").status_code == 404
    assert hanna.get(f"/api/v1/ticket/{globex_ticket}").status_code == 404
    # reading is all the tree grants: the subsidiary's ticket cannot be changed by her
    changed = hanna.client.patch(
        hanna.url(f"/api/v1/ticket/{acme_ticket}"), json={"subject": "Holding edit"},
        headers={"X-CSRF-Token": hanna.csrf},
    )  # fmt: skip
    assert changed.status_code in (403, 404)


def test_a_subsidiarys_administrator_does_not_see_the_holding(web: WebPortal) -> None:
    anna = web.client("anna@acme.test")
    listing = {row["subject"] for row in anna.get("/api/v1/ticket").json["items"]}
    assert listing == set(ACME)
    # each administrator manages the users of their own account only
    users = anna.get("/account/users").text
    assert HANNA not in users
    assert "anna@acme.test" not in web.client(HANNA).get("/account/users").text
