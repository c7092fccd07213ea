"""The starter's help centre: the home page's search box, the article list reading `?q=`,
published articles for everyone and drafts for agents only (404 to others, SECURITY A.21)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.testing.web import WebPortal

DRAFT = "Connecting to the Acme API (draft)"


@pytest.fixture
def b2c(tmp_path: Path, database_url: str) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance")
    yield portal
    portal.close()


def main_html(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def test_home_offers_anonymous_visitors_a_help_centre_search(b2c: WebPortal) -> None:
    html = main_html(b2c.client().get("/").text)
    assert (
        '<form method="get" action="/acme-support/help" class="search-box" role="search">' in html
    )
    assert 'type="search" id="block-1-q" name="q"' in html
    assert '<label for="block-1-q" class="sr-only">Search for</label>' in html
    assert "Search the help centre" in html


def test_help_list_reads_q(b2c: WebPortal) -> None:
    html = main_html(b2c.client().get("/help?q=password").text)
    assert "Reset a forgotten password" in html
    assert "Payment methods we accept" not in html
    everything = main_html(b2c.client().get("/help").text)
    assert "Payment methods we accept" in everything and "Reset a forgotten password" in everything


def test_asvs_8_2_2_idor_draft_articles_are_for_agents_only(b2c: WebPortal) -> None:
    draft = b2c.record_id("article", title=DRAFT)
    published = b2c.record_id("article", title="Reset a forgotten password")
    for reader in (b2c.client(), b2c.client("ben@acme.test")):
        assert reader.get(f"/help/{published}").status_code == 200
        assert reader.get(f"/help/{draft}").status_code == 404
        assert DRAFT not in reader.get("/help?q=API").text
        assert reader.get(f"/api/v1/article/{draft}").status_code in (401, 404)
    agent = b2c.client("sam@support.test")
    assert agent.get(f"/help/{draft}").status_code == 200
    assert DRAFT in agent.get("/help?q=API").text


def test_article_body_is_rendered_markdown_and_status_hidden_from_readers(b2c: WebPortal) -> None:
    article = b2c.record_id("article", title="Understanding your invoice")
    html = main_html(b2c.client().get(f"/help/{article}").text)
    assert "<table>" in html and "<strong>due date</strong>" in html
    assert "value-status" not in html  # the workflow state is the agents' business
    agent_html = main_html(b2c.client("sam@support.test").get(f"/help/{article}").text)
    assert "value-status" in agent_html and ">Archive</button>" in agent_html


def test_an_agent_publishes_a_draft_for_everyone(b2c: WebPortal) -> None:
    draft = b2c.record_id("article", title="Connecting to the Acme API (draft)")
    agent = b2c.client("sam@support.test")
    sent = agent.post(f"/help/{draft}", {"_block": "0", "name": "publish", "version": "1"})
    assert sent.status_code in (302, 303)
    assert b2c.client().get(f"/help/{draft}").status_code == 200


def test_starter_articles_and_tickets_are_full_text_searched(b2c: WebPortal) -> None:
    # stems, not substrings: "quantities" finds "quantity" in a Markdown body (a table cell)
    html = main_html(b2c.client().get("/help?q=quantities+prices").text)
    assert "Understanding your invoice" in html
    assert "Payment methods we accept" not in html
    # tickets: "charging" finds "charged" in the description, within the reader's account
    anna = b2c.client("anna@acme.test")
    assert "Invoice 2026-114 is wrong" in main_html(anna.get("/tickets?q=charging").text)
    nina = b2c.client("nina@globex.test")
    assert "Invoice 2026-114 is wrong" not in main_html(nina.get("/tickets?q=charging").text)
    assert "Change of delivery address" in main_html(nina.get("/tickets?q=moving").text)
