"""SECURITY A.24 (ASVS 8.4.1): two portals on one database never cross.

`other-support` is a copy of b2c (same seed: the same e-mail addresses exist in both portals,
as different users) deployed next to `acme-support` and served by the same app. A session of
one portal is anonymous on the other, even when its cookie is edited to name the other portal;
lists, exports, autocomplete, the API, files and the per-portal caches (theme CSS, OpenAPI)
only ever show the portal's own data.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_runtime_support import b2c_copy, deploy, set_in_portal_yaml

from portalis.testing.web import PortalClient, WebPortal, upload_ticket

ACME, OTHER = "acme-support", "other-support"
ONLY_ACME = "Only in acme-support: merger plans"  # searched for by "merger"


@dataclass
class Pair:
    acme: WebPortal
    other: WebPortal  # same app as `acme`
    ticket: int  # ONLY_ACME's id (no such ticket exists in other-support)
    file_id: str  # its attachment


def add_css(marker: str):  # noqa: ANN201 - a small edit callback
    def edit(folder: Path) -> None:
        css = folder / "assets" / "portal.css"
        css.write_text(css.read_text(encoding="utf-8") + f"\n.{marker} {{ color: #123456; }}\n")

    return edit


@pytest.fixture
def pair(database_url: str, tmp_path: Path) -> Iterator[Pair]:
    acme_dir = b2c_copy(tmp_path / "acme", add_css("acme-marker"))

    def other_edit(folder: Path) -> None:
        add_css("other-marker")(folder)
        set_in_portal_yaml(folder, "en: Acme Support,", "en: Other Support,")

    other_dir = b2c_copy(tmp_path / "other", other_edit, slug=OTHER)
    acme = deploy(database_url, tmp_path / "instance", acme_dir)
    second = deploy(database_url, tmp_path / "instance", other_dir)
    second.close()
    other = WebPortal(acme.app, second.compiled)  # one app serves both portals
    try:
        ticket, file_id = upload_ticket(acme.client("ben@acme.test"), ONLY_ACME)
        yield Pair(acme, other, ticket, file_id)
    finally:
        acme.close()


def test_asvs_8_4_1_multi_portal_isolation(pair: Pair) -> None:
    acme, other = pair.acme, pair.other
    assert {acme.slug, other.slug} == {ACME, OTHER}
    assert acme.compiled.tables["ticket"].name != other.compiled.tables["ticket"].name

    # -- sessions: a session of acme-support is anonymous on other-support --------------------
    ben_acme = acme.client("ben@acme.test")
    assert ben_acme.get("/tickets").status_code == 200
    crossed = PortalClient(acme.app, OTHER)
    crossed.client = ben_acme.client  # the same browser (cookie) on the other portal
    crossed.csrf = ben_acme.csrf
    response = crossed.get("/tickets")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/{OTHER}/login")
    assert crossed.get("/profile").status_code == 302
    assert crossed.get("/api/v1/ticket").status_code == 401
    assert crossed.get("/_ac/ticket?q=").status_code == 404
    assert crossed.get("/_export/tickets/0.csv").status_code == 404
    assert crossed.get(f"/_files/{pair.file_id}").status_code == 404
    # editing the cookie to name the other portal does not help: secrets are per portal
    with ben_acme.client.session_transaction() as sess:
        secret = sess["_user_id"].split("|", 1)[1]
        sess["_user_id"] = f"{OTHER}|{secret}"
    assert crossed.get("/tickets").status_code == 302
    assert ben_acme.get("/tickets").status_code == 302  # and no longer valid on acme either
    # a session of other-support is anonymous on acme-support
    nina_other = other.client("nina@globex.test")
    assert nina_other.get("/tickets").status_code == 200
    back = PortalClient(acme.app, ACME)
    back.client = nina_other.client
    assert back.get("/tickets").status_code == 302
    assert back.get("/api/v1/ticket").status_code == 401

    # -- data: acme-support's ticket, search hits and file never show on other-support ---------
    for email in ("ben@acme.test", "anna@acme.test", "sam@support.test"):
        browser = other.client(email)
        seen = [
            browser.get("/tickets").text,
            browser.get("/tickets?q=merger").text,
            browser.get("/_export/tickets/0.csv").text,
            browser.get("/_export/tickets/0.csv?q=merger").text,
            browser.get("/_ac/ticket?q=").text,
            browser.get("/_ac/ticket?q=merger").text,
            browser.get("/api/v1/ticket?page_size=200").text,
            browser.get("/api/v1/ticket?q=merger").text,
        ]
        for text in seen:
            assert "plans" not in html.unescape(text), (email, text[:300])
        rows = list(csv.reader(io.StringIO(seen[2])))
        assert len(rows) >= 2 and all("plans" not in r[0] for r in rows)
        assert browser.get(f"/tickets/{pair.ticket}").status_code == 404
        assert browser.get(f"/api/v1/ticket/{pair.ticket}").status_code == 404
        assert browser.get(f"/_files/{pair.file_id}").status_code == 404
        assert browser.get(f"/_export/ticket/2.csv?id={pair.ticket}").status_code == 404
    sam_other = other.client("sam@support.test")
    api_ids = {t["id"] for t in sam_other.get("/api/v1/ticket?page_size=200").json["items"]}
    assert pair.ticket not in api_ids and len(api_ids) == 4  # only other-support's seed
    # the same e-mail address on acme-support does see it
    assert ONLY_ACME in html.unescape(acme.client("sam@support.test").get("/tickets").text)

    # -- writes aimed at the other portal's ids change nothing --------------------------------
    before = acme.store.get(acme.actor("sam@support.test"), "ticket", pair.ticket)
    ben_other = other.client("ben@acme.test")
    patched = ben_other.client.patch(
        ben_other.url(f"/api/v1/ticket/{pair.ticket}"),
        json={"subject": "crossed"},
        headers={"X-CSRF-Token": ben_other.csrf, "If-Match": '"1"'},
    )
    assert patched.status_code == 404
    assert ben_other.post(f"/_act/ticket/{pair.ticket}/delete", {"version": "1"}).status_code == 404
    assert ben_other.post(f"/tickets/{pair.ticket}/edit", {"_block": "0"}).status_code == 404
    stolen = ben_other.post(
        "/tickets/new", {"_block": "0", "subject": "Steal", "attachment__kept": pair.file_id}
    )
    assert stolen.status_code == 422 and "not available" in stolen.text
    after = acme.store.get(acme.actor("sam@support.test"), "ticket", pair.ticket)
    assert after.values == before.values and after.version == before.version
    with acme.engine.connect() as conn:
        table = other.compiled.tables["ticket"]
        subjects = set(conn.execute(sa.select(table.c.subject)).scalars())
    assert "Steal" not in subjects and ONLY_ACME not in subjects

    # -- caches: theme CSS, OpenAPI and page titles are per portal ----------------------------
    anonymous_acme, anonymous_other = acme.client(), other.client()
    for _ in range(2):  # interleaved, so a shared cache would show up
        css_acme = anonymous_acme.get("/_theme.css")
        css_other = anonymous_other.get("/_theme.css")
        assert ".acme-marker" in css_acme.text and ".other-marker" not in css_acme.text
        assert ".other-marker" in css_other.text and ".acme-marker" not in css_other.text
        assert css_acme.headers["ETag"] != css_other.headers["ETag"]
        doc_acme = acme.client("ben@acme.test").get("/api/v1/openapi.json").text
        doc_other = other.client("ben@acme.test").get("/api/v1/openapi.json").text
        assert f"/{ACME}/api/v1" in doc_acme and f"/{OTHER}/" not in doc_acme
        assert f"/{OTHER}/api/v1" in doc_other and f"/{ACME}/" not in doc_other
        assert "Other Support" in anonymous_other.get("/").text
        home = anonymous_acme.get("/").text
        assert "Acme Support" in home and "Other Support" not in home
