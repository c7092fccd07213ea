"""Page and list frames rendered once per shape (`runtime/fragments.py`): every page is the
page its templates render, and a repeated shape renders no template."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import template_rendered

from portalis.runtime.fragments import Fragments, hole, split
from portalis.testing.web import PortalClient, WebPortal, app_state, mask_csrf


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path)
    yield portal
    portal.close()


@contextmanager
def templates_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Serve without kept frames: every page rendered by its templates (the reference)."""
    with monkeypatch.context() as m:
        m.setattr(Fragments, "get_or_render", lambda *_args: None)
        yield


@contextmanager
def rendered(web: WebPortal) -> Iterator[list[str]]:
    """The names of the templates rendered meanwhile."""
    names: list[str] = []

    def record(_app: Any, template: Any, **_extra: Any) -> None:
        names.append(str(template.name))

    template_rendered.connect(record, web.app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, web.app)


def pages(web: WebPortal) -> list[tuple[str | None, str]]:
    ticket = web.record_id("ticket", subject="Cannot download my contract")
    paths = [
        "/",
        "/tickets",
        "/tickets?lang=de",
        "/tickets?sort=subject",
        "/tickets?size=2",
        "/tickets?size=2&page=2",
        "/tickets?size=2&page=99",
        "/tickets?q=nothing-matches-this",
        "/tickets?status=open&priority=high",
        f"/tickets/{ticket}",
        f"/tickets/{ticket}?lang=fr",
        "/tickets/new",
        "/dashboard",
        "/tickets?lang=en",
    ]
    users = [None, "ben@acme.test", "anna@acme.test", "sam@support.test"]
    return [(user, path) for user in users for path in paths]


def serve(client: PortalClient, path: str) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, mask_csrf(response.text)


def test_every_page_is_the_page_its_templates_render(
    web: WebPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = web.actor("anna@acme.test")
    for i in range(3):  # a second page of tickets, and unread notifications for staff
        web.store.insert(anna, "ticket", {"subject": f"Printer <{i}> & co", "priority": "low"})
    asked = pages(web)
    users = {user for user, _ in asked}
    kept = {user: web.client(user) for user in users}
    plain = {user: web.client(user) for user in users}
    for user, path in asked:
        serve(kept[user], path)  # the shape is rendered with holes and kept
        first = serve(kept[user], path)
        with templates_only(monkeypatch):
            reference = serve(plain[user], path)
        assert first == reference, (user, path)
    sam = serve(kept["sam@support.test"], "/tickets")[1]
    assert "Printer &lt;2&gt; &amp; co" in sam


def test_a_repeated_shape_renders_no_template(web: WebPortal) -> None:
    anna = web.actor("anna@acme.test")
    for i in range(12):
        web.store.insert(anna, "ticket", {"subject": f"Bulk {i}", "priority": "low"})
    ben = web.client("ben@acme.test")
    assert ben.get("/tickets?size=2&page=2").status_code == 200  # warm up: the shape
    with rendered(web) as names:
        third = ben.get("/tickets?size=2&page=3").text
        fourth = ben.get("/tickets?size=2&page=4").text
    assert names == []
    # the holes carry each page's own rows, range and pager links
    assert "5–6 of" in third and "7–8 of" in fourth
    assert f'href="/{web.slug}/tickets?size=2&amp;page=2" rel="prev"' in third
    assert f'href="/{web.slug}/tickets?size=2&amp;page=5" rel="next"' in fourth
    assert third.count('class="row-link"') == fourth.count('class="row-link"') == 2
    # the first page has no previous page: another shape of the list, rendered once (the
    # page around it has the same shape)
    with rendered(web) as names:
        ben.get("/tickets?size=2")
        ben.get("/tickets?size=2")
    assert names == ["blocks/list.html"]


def test_flashed_messages_are_shown_once(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    ben.get("/tickets")  # the shape of the list page is kept
    created = ben.post(
        "/tickets/new",
        {"_block": "0", "subject": "Flash me", "priority": "low", "body": "x"},
    )
    assert created.status_code == 303
    shown = ben.get(created.headers["Location"]).text
    assert 'class="notice notice-success"' in shown
    again = ben.get(created.headers["Location"]).text
    assert "notice-success" not in again


def test_frames_are_kept_per_portal_version(web: WebPortal) -> None:
    web.client("ben@acme.test").get("/tickets")
    portal = app_state(web.app).registry.require(web.slug)
    assert len(portal.cache["page-shells"]) == 1
    assert len(portal.cache["list-frames"]) == 1


def test_an_altered_marker_is_not_kept() -> None:
    assert split(f"<p>{hole('who')}</p>", ["who"]) is not None
    assert split(f"<p>{str(hole('who')).upper()}</p>", ["who"]) is None
    assert split(f"<p>{hole('who')}</p>", ["title"]) is None
    fragment = split(f"<title>{hole('title')}</title>", ["title"])
    assert fragment is not None
    assert fragment.fill({"title": "<b>&</b>"}) == "<title>&lt;b&gt;&amp;&lt;/b&gt;</title>"
