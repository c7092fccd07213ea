"""Full-text search on the web (portal: tests/engine/portals/helpdesk): the list's `?q=`
ranks by relevance, the REST API's `?q=` uses the same index, and the `search` block finds
what the reader may read — anonymous visitors included — with escaped, highlighted snippets
and links to record pages; what the reader may not read is never a hit (SECURITY A.21/A.22)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.testing.web import WebPortal

FOLDER = Path(__file__).parent.parent / "engine" / "portals" / "helpdesk"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance", FOLDER)
    anna = portal.actor("anna@help.test")
    for title, body, note, published in (
        ("Password reset", "Use the <script>alert(1)</script> link to reset it.", "", True),
        ("Invoices", "Resetting passwords is explained elsewhere.", "", True),
        ("Password draft", "Not yet public: password reset v2", "", False),
        ("Shipping", "Parcels travel far.", "zebra escalation", True),
    ):
        portal.store.insert(
            anna,
            "article",
            {"title": title, "body": body, "note": note or None, "published": published},
        )
    try:
        yield portal
    finally:
        portal.close()


def hits(html: str) -> list[str]:
    """The titles of the search block's hits, in order."""
    return re.findall(r'<p class="search-hit-title"><a href="[^"]+">([^<]+)</a>', html)


def rows(html: str) -> list[str]:
    """The titles of a list's rows, in order."""
    return re.findall(r'<a class="row-link" href="/helpdesk/articles/\d+">([^<]+)</a>', html)


def test_list_q_ranks_by_relevance(web: WebPortal) -> None:
    anna = web.client("anna@help.test")
    # stems: "resetting passwords" finds "Password reset"; the title outranks the body
    found = rows(anna.get("/articles?q=resetting+passwords").text)
    assert found[0] == "Password reset"
    assert set(found) == {"Password reset", "Password draft", "Invoices"}
    # the reader's sort wins over relevance
    assert rows(anna.get("/articles?q=password&sort=title").text) == [
        "Invoices",
        "Password draft",
        "Password reset",
    ]
    # the row filter is in the same query: customers never find the unpublished draft
    assert set(rows(web.client("carla@help.test").get("/articles?q=password").text)) == {
        "Password reset",
        "Invoices",
    }


def test_api_q_uses_the_index(web: WebPortal) -> None:
    carla = web.client("carla@help.test")
    body = carla.get("/api/v1/article?q=resetting+passwords").get_json()
    assert [i["title"] for i in body["items"]][0] == "Password reset"
    assert {i["title"] for i in body["items"]} == {"Password reset", "Invoices"}
    assert body["total"] == 2
    # the note is hidden from customers: its words match nothing for them, and the agent
    # (who reads it) finds the article by it
    assert carla.get("/api/v1/article?q=zebra").get_json()["items"] == []
    anna = web.client("anna@help.test")
    assert [i["title"] for i in anna.get("/api/v1/article?q=zebra").get_json()["items"]] == [
        "Shipping"
    ]


def test_search_block_for_anonymous_visitors(web: WebPortal) -> None:
    visitor = web.client()
    home = visitor.get("/")
    assert home.status_code == 200
    assert 'role="search"' in home.text and "Search the help centre" in home.text
    found = visitor.get("/?search=resetting+passwords").text
    assert hits(found)[0] == "Password reset"
    assert set(hits(found)) == {"Password reset", "Invoices"}
    # snippets: stored text escaped, matched words marked
    assert "&lt;script&gt;" in found and "<script>alert" not in found
    assert "<mark>passwords</mark>" in found or "<mark>Resetting</mark>" in found
    # hits link to the record pages, which the visitor may open
    link = re.search(r'<p class="search-hit-title"><a href="/helpdesk(/articles/\d+)"', found)
    assert link is not None and visitor.get(link.group(1)).status_code == 200
    # the unpublished draft and the hidden note are never hits
    assert "Password draft" not in visitor.get("/?search=draft+public").text
    assert hits(visitor.get("/?search=zebra").text) == []
    assert "No matches." in visitor.get("/?search=zebra").text


def test_asvs_8_2_2_idor_search_block(web: WebPortal) -> None:
    draft = web.record_id("article", title="Password draft")
    carla = web.client("carla@help.test")
    # what the search does not show stays 404 for the same reader
    assert carla.get(f"/articles/{draft}").status_code == 404
    assert hits(carla.get("/?search=public").text) == []
    assert carla.get(f"/api/v1/article/{draft}").status_code == 404
    # the agent finds and opens it, and the note word too
    anna = web.client("anna@help.test")
    assert hits(anna.get("/?search=public").text) == ["Password draft"]
    assert anna.get(f"/articles/{draft}").status_code == 200
    assert hits(anna.get("/?search=zebra").text) == ["Shipping"]
    # the editor reads notes of their own articles only
    eddie = web.client("eddie@help.test")
    assert hits(eddie.get("/?search=zebra").text) == []
