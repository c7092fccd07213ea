"""The starter's related articles under a help article: same category first, ranked by the
title's words; only articles the reader may read (drafts never for customers and visitors,
SECURITY A.21); nothing shown when nothing is related; located definition problems."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.engine.deploy.validator import Checker
from portalis.testing.portals import check_text
from portalis.testing.web import PortalClient, WebPortal

DRAFT = "Connecting to the Acme API (draft)"


@pytest.fixture
def b2c(tmp_path: Path, database_url: str) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance")
    yield portal
    portal.close()


def related(client: PortalClient, article: int) -> list[str]:
    html = client.get(f"/help/{article}").text
    if 'class="block block-related"' not in html:
        return []
    block = html[html.index('class="block block-related"') :]
    block = block[: block.index("</nav>")]
    return re.findall(r'<li><a href="/acme-support/help/\d+">([^<]*)</a></li>', block)


def test_same_category_first_ranked_by_title_words(b2c: WebPortal) -> None:
    invoice = b2c.record_id("article", title="Understanding your invoice")
    found = related(b2c.client(), invoice)
    # the billing article sharing "invoice" first, then the rest of billing
    assert found[0] == "What to do if an invoice is wrong"
    assert set(found[1:3]) == {"Payment methods we accept", "How long does a refund take?"}
    assert "Understanding your invoice" not in found
    assert len(found) <= 4


def test_asvs_8_2_2_idor_related_never_shows_unreadable_articles(b2c: WebPortal) -> None:
    ticket_help = b2c.record_id("article", title="How to open a good support ticket")
    for reader in (b2c.client(), b2c.client("ben@acme.test")):
        found = related(reader, ticket_help)
        assert found[0] == "What the ticket statuses mean"  # same category, shares "ticket"
        assert "Support hours and response times" in found
        assert DRAFT not in found  # same category, but a draft
    assert DRAFT in related(b2c.client("sam@support.test"), ticket_help)


def test_no_related_block_without_related_articles(b2c: WebPortal) -> None:
    agent = b2c.actor("sam@support.test")
    store = b2c.store
    category = store.insert(agent, "category", {"name": "Lonely"})
    lonely = store.insert(
        agent,
        "article",
        {"title": "Zyxwv", "body": "Nothing else", "category": category.id},
    )
    sam = b2c.client("sam@support.test")  # a draft: the agent reads it
    assert related(sam, lonely.id) == []
    assert "block-related" not in sam.get(f"/help/{lonely.id}").text


def test_related_block_problems_are_located(portalis_checker: Checker, tmp_path: Path) -> None:
    text = """\
format: portalis/v1
portal: rel-check
title: Check
locales: [en]
entities:
  note:
    fields:
      title: {type: string}
    permissions:
      - {roles: [anonymous], actions: [read], scope: all}
pages:
  note:
    route: /notes/<id>
    blocks:
      - detail: {entity: note}
      - related: {entity: note, same: [nothing], link: notes}
  notes:
    route: /notes
    blocks:
      - related: {entity: note}
"""
    check_text(portalis_checker, tmp_path / "bad", text)
    problems = portalis_checker.check_dir(tmp_path / "bad", env={}).report.problems
    lines = {(p.line, p.code) for p in problems}
    assert {line for line, _ in lines} >= {16, 20}
    assert (20, "block-route") in lines
    assert all(p.file == "portal.yaml" for p in problems)
