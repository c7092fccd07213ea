"""The starter's "Was this helpful?" block under help articles: one vote per signed-in user
or visitor session (changeable), the tally for editors only, 404 for articles a reader may
not read (SECURITY A.21), CSRF on the vote (A.25) and located definition problems."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.system_tables import feedback_votes
from portalis.engine.deploy.validator import Checker
from portalis.testing.portals import check_text
from portalis.testing.web import PortalClient, WebPortal

ARTICLE = "Reset a forgotten password"
DRAFT = "Connecting to the Acme API (draft)"


@pytest.fixture
def b2c(tmp_path: Path, database_url: str) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance")
    yield portal
    portal.close()


def _vote(client: PortalClient, article: int, answer: str) -> int:
    if not client.csrf:
        client.get(f"/help/{article}")
        client.sync_csrf()
    return client.post(f"/help/{article}", {"_block": "1", "helpful": answer}).status_code


def _votes(b2c: WebPortal, article: int) -> list[bool]:
    v = feedback_votes.c
    with b2c.engine.connect() as conn:
        rows = conn.execute(
            sa.select(v.helpful).where(v.record_id == article, v.entity == "article")
        ).scalars()
        return sorted(bool(x) for x in rows)


def test_one_changeable_vote_per_visitor_and_user(b2c: WebPortal) -> None:
    article = b2c.record_id("article", title=ARTICLE)
    visitor = b2c.client()
    assert _vote(visitor, article, "no") == 303
    assert _vote(visitor, article, "yes") == 303  # changed, not added
    html = visitor.get(f"/help/{article}").text
    assert re.search(r'value="yes" class="btn btn-primary" aria-pressed="true"', html)
    assert 'value="no" class="btn" aria-pressed="false"' in html
    assert _votes(b2c, article) == [True]
    # another visitor (another session) and a signed-in customer vote once each
    assert _vote(b2c.client(), article, "no") == 303
    ben = b2c.client("ben@acme.test")
    assert _vote(ben, article, "yes") == 303
    assert _vote(ben, article, "yes") == 303
    assert _votes(b2c, article) == [False, True, True]
    # a visitor without a vote sees no pressed button
    fresh = b2c.client().get(f"/help/{article}").text
    assert 'aria-pressed="true"' not in fresh


def test_tally_is_for_the_articles_editors(b2c: WebPortal) -> None:
    article = b2c.record_id("article", title=ARTICLE)
    for answer in ("yes", "yes", "no"):
        assert _vote(b2c.client(), article, answer) == 303
    agent = b2c.client("sam@support.test").get(f"/help/{article}").text
    assert "Rated helpful: 2 of 3 (67 %)." in agent
    for reader in (b2c.client(), b2c.client("ben@acme.test")):
        assert "Rated helpful" not in reader.get(f"/help/{article}").text
    other = b2c.record_id("article", title="Payment methods we accept")
    assert "No feedback yet." in b2c.client("sam@support.test").get(f"/help/{other}").text


def test_asvs_8_2_2_idor_no_vote_on_an_unreadable_article(b2c: WebPortal) -> None:
    draft = b2c.record_id("article", title=DRAFT)
    article = b2c.record_id("article", title=ARTICLE)
    for reader in (b2c.client(), b2c.client("ben@acme.test")):
        if not reader.csrf:
            reader.get(f"/help/{article}")
            reader.sync_csrf()
        assert reader.post(f"/help/{draft}", {"_block": "1", "helpful": "yes"}).status_code == 404
        assert reader.post("/help/999999", {"_block": "1", "helpful": "yes"}).status_code == 404
    assert _votes(b2c, draft) == []


def test_asvs_3_5_vote_needs_the_csrf_token_and_a_known_answer(b2c: WebPortal) -> None:
    article = b2c.record_id("article", title=ARTICLE)
    ben = b2c.client("ben@acme.test")
    forged = ben.client.post(ben.url(f"/help/{article}"), data={"_block": "1", "helpful": "yes"})
    assert forged.status_code in (400, 403)
    assert _vote(ben, article, "maybe") == 400
    assert ben.get(f"/help/{article}").status_code == 200
    assert _votes(b2c, article) == []


def test_feedback_block_problems_are_located(portalis_checker: Checker, tmp_path: Path) -> None:
    text = """\
format: portalis/v1
portal: fb-check
title: Check
locales: [en]
entities:
  note:
    fields:
      title: {type: string}
    permissions:
      - {roles: [anonymous], actions: [read], scope: all}
pages:
  notes:
    route: /notes
    blocks:
      - feedback: {entity: note}
  note:
    route: /notes/<id>
    blocks:
      - detail: {entity: note}
      - feedback: {entity: nothing, colour: red}
"""
    check_text(portalis_checker, tmp_path / "bad", text)
    problems = portalis_checker.check_dir(tmp_path / "bad", env={}).report.problems
    # an unknown option: a schema problem at its line
    assert {(p.code, p.file, p.line) for p in problems} == {
        ("schema-unknown-key", "portal.yaml", 20)
    }
    check_text(portalis_checker, tmp_path / "bad", text.replace(", colour: red", ""))
    problems = portalis_checker.check_dir(tmp_path / "bad", env={}).report.problems
    found = {(p.code, p.line) for p in problems}
    # no record on the list page; an unknown entity on the record page
    assert ("block-route", 15) in found
    assert 20 in {line for code, line in found if code != "block-route"}
