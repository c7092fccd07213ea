"""The list block over HTTP: rows per actor, sort, filters, search, paging, query budget."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from portalis.engine.data.records import ReadStore
from portalis.engine.definition import compiler
from portalis.engine.expr import expressions
from portalis.testing.portals import BLUEPRINTS
from portalis.testing.web import WebPortal, count_selects

SUBJECTS = {
    "Invoice 2026-114 is wrong",
    "Cannot download my contract",
    "Change of delivery address",
    "Outage in the order portal",
}


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path)
    yield portal
    portal.close()


def subjects(html: str) -> set[str]:
    """Subjects shown as row links of the ticket list."""
    return {s for s in SUBJECTS if f">{s}</a>" in html}


def rows(html: str) -> int:
    return html.count('class="row-link"')


def add_tickets(web: WebPortal, email: str, count: int, prefix: str = "Bulk") -> None:
    store, actor = web.store, web.actor(email)
    for i in range(count):
        store.insert(actor, "ticket", {"subject": f"{prefix} {i:03d}", "priority": "low"})


def test_list_shows_each_actor_their_rows(web: WebPortal) -> None:
    anna = web.client("anna@acme.test").get("/tickets")
    assert anna.status_code == 200
    assert subjects(anna.text) == {"Invoice 2026-114 is wrong", "Cannot download my contract"}
    nina = web.client("nina@globex.test").get("/tickets").text
    assert subjects(nina) == {"Change of delivery address", "Outage in the order portal"}
    assert subjects(web.client("sam@support.test").get("/tickets").text) == SUBJECTS


def test_list_markup_is_responsive_and_labelled(web: WebPortal) -> None:
    html = web.client("sam@support.test").get("/tickets").text
    assert '<table class="data responsive">' in html
    assert '<td data-label="Subject">' in html
    assert '<th scope="col" aria-sort="descending">' in html  # default sort -updated_at
    assert re.search(r'<a class="row-link" href="/acme-support/tickets/\d+">', html)
    assert 'name="q"' in html and 'name="status"' in html and 'name="priority"' in html
    assert "/acme-support/_export/tickets/0.csv" in html
    assert "1–4 of 4" in html
    # references resolve to titles, choices to their labels
    assert "Globex Ltd" in html and 'class="badge badge-urgent">Urgent<' in html


def test_anonymous_is_sent_to_login(web: WebPortal) -> None:
    response = web.client().get("/tickets")
    assert response.status_code == 302
    assert "/acme-support/login" in response.headers["Location"]


def test_sort_links_and_sorting(web: WebPortal) -> None:
    sam = web.client("sam@support.test")
    html = sam.get("/tickets?sort=subject").text
    order = re.findall(r'class="row-link"[^>]*>([^<]+)<', html)
    assert order == sorted(order)
    assert 'aria-sort="ascending"' in html
    assert 'href="/acme-support/tickets?sort=-subject"' in html
    descending = re.findall(
        r'class="row-link"[^>]*>([^<]+)<', sam.get("/tickets?sort=-subject").text
    )
    assert descending == sorted(order, reverse=True)
    # text (body) and tags are not sortable: no link in their header
    assert "sort=body" not in html


def test_asvs_1_2_4_bad_sort_and_filter_params_400(web: WebPortal) -> None:
    sam = web.client("sam@support.test")
    assert sam.get("/tickets?sort=id;drop").status_code == 400
    assert sam.get("/tickets?sort=password_hash").status_code == 400
    assert sam.get("/tickets?sort=body").status_code == 400  # text is not sortable
    assert sam.get("/tickets?status=exploded").status_code == 400
    assert sam.get("/tickets?sort=-updated_at").status_code == 200


def test_asvs_8_2_3_sort_by_unreadable_field_400(web: WebPortal) -> None:
    # customers may not read `assignee`
    assert web.client("nina@globex.test").get("/tickets?sort=assignee").status_code == 400
    assert web.client("sam@support.test").get("/tickets?sort=assignee").status_code == 200


def test_filters_and_search(web: WebPortal) -> None:
    sam = web.client("sam@support.test")
    assert subjects(sam.get("/tickets?status=in_progress").text) == {"Outage in the order portal"}
    assert subjects(sam.get("/tickets?priority=low").text) == {"Change of delivery address"}
    html = sam.get("/tickets?q=INVOICE+2026").text
    assert subjects(html) == {"Invoice 2026-114 is wrong"}
    assert 'value="INVOICE 2026"' in html
    assert subjects(sam.get("/tickets?q=twice").text) == {"Invoice 2026-114 is wrong"}  # body
    empty = sam.get("/tickets?q=nothing-matches-this").text
    assert "No records match" in empty and "Clear search and filters" in empty
    # search never reaches rows of other accounts
    assert subjects(web.client("anna@acme.test").get("/tickets?q=outage").text) == set()


def test_filter_select_keeps_choice(web: WebPortal) -> None:
    html = web.client("sam@support.test").get("/tickets?status=open").text
    assert '<option value="open" selected>' in html
    assert "Clear" in html


def test_pagination_with_bounded_total(web: WebPortal) -> None:
    add_tickets(web, "anna@acme.test", 30)
    anna = web.client("anna@acme.test")
    first = anna.get("/tickets?lang=en").text
    assert rows(first) == 25
    assert "1–25 of 32" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = anna.get("/tickets?page=2").text
    assert rows(second) == 7 and "26–32 of 32" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert rows(anna.get("/tickets?size=10&page=4").text) == 2
    # a bogus page number falls back to the first page
    assert rows(anna.get("/tickets?page=abc").text) == 25
    # nina still sees only her two tickets
    assert "1–2 of 2" in web.client("nina@globex.test").get("/tickets").text


def test_total_is_bounded(web: WebPortal, monkeypatch: pytest.MonkeyPatch) -> None:
    real_list = ReadStore.list

    def bounded(self: ReadStore, *args: Any, **kwargs: Any) -> Any:
        kwargs["count_limit"] = 5
        return real_list(self, *args, **kwargs)

    monkeypatch.setattr(ReadStore, "list", bounded)
    add_tickets(web, "anna@acme.test", 8)
    html = web.client("anna@acme.test").get("/tickets?size=3&lang=en").text
    assert rows(html) == 3
    assert "1–3 of 5+" in html


def test_parent_list_on_detail_page(web: WebPortal) -> None:
    t1 = web.record_id("ticket", subject="Invoice 2026-114 is wrong")
    html = web.client("ben@acme.test").get(f"/tickets/{t1}").text
    assert "<h2" in html and "Conversation" in html
    assert "Please check line 3." in html
    assert "Thanks, we are looking into it." in html
    # the agent's name is shown next to the message anna can read
    assert "Sam Agent" in html
    assert "We found the cause" not in html  # a message of another ticket
    assert f"/_export/ticket/2.csv?sort=created_at&amp;id={t1}" in html


def test_empty_state(web: WebPortal) -> None:
    t2 = web.record_id("ticket", subject="Cannot download my contract")
    html = web.client("ben@acme.test").get(f"/tickets/{t2}").text
    assert "Nothing here yet." in html


def test_constant_queries_per_page_size(web: WebPortal) -> None:
    add_tickets(web, "anna@acme.test", 60)
    add_tickets(web, "nina@globex.test", 60)
    sam = web.client("sam@support.test")
    sam.get("/tickets")  # warm up: compile, caches
    with count_selects(web.engine) as small:
        assert rows(sam.get("/tickets?size=10").text) == 10
    with count_selects(web.engine) as large:
        assert rows(sam.get("/tickets?size=100").text) == 100
    assert len(small) == len(large)
    assert len(large) <= 12


def test_one_list_statement_holds_rows_titles_and_count(web: WebPortal) -> None:
    add_tickets(web, "anna@acme.test", 60)
    add_tickets(web, "nina@globex.test", 60)
    sam = web.client("sam@support.test")
    sam.get("/tickets")  # warm up
    for size in (10, 100):
        with count_selects(web.engine) as statements:
            html = sam.get(f"/tickets?size={size}&lang=en").text
        assert rows(html) == size and f"1–{size} of 124" in html
        assert "Globex Ltd" in html  # account titles, joined
        listing = [s for s in statements if "__ticket" in s or "__account" in s]
        assert len(listing) == 1, listing
        assert "count(" in listing[0].lower()


def test_list_without_total_counts_nothing(database_url: str, tmp_path: Path) -> None:
    definition = tmp_path / "b2c"
    shutil.copytree(BLUEPRINTS / "b2c", definition)
    pages = definition / "pages" / "tickets.yaml"
    text = pages.read_text(encoding="utf-8")
    assert text.count("          link: ticket\n") == 1
    pages.write_text(
        text.replace("          link: ticket\n", "          link: ticket\n          total: false\n")
    )
    web = WebPortal.deploy(database_url, tmp_path / "instance", definition)
    try:
        add_tickets(web, "anna@acme.test", 30)
        anna = web.client("anna@acme.test")
        with count_selects(web.engine) as statements:
            first = anna.get("/tickets?lang=en").text
        assert rows(first) == 25 and "<span>1–25</span>" in first and " of " not in first
        assert 'rel="next"' in first
        assert not any("count(" in s.lower() for s in statements if "__ticket" in s)
        second = anna.get("/tickets?page=2").text
        assert rows(second) == 7 and "<span>26–32</span>" in second
        assert 'rel="prev"' in second and 'rel="next"' not in second
    finally:
        web.close()


def test_no_template_or_expression_compiles_after_warm_up(
    web: WebPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam = web.client("sam@support.test")
    anna = web.client("anna@acme.test")
    t4 = web.record_id("ticket", subject="Outage in the order portal")
    t1 = web.record_id("ticket", subject="Invoice 2026-114 is wrong")
    paths = [
        (sam, "/tickets"),
        (sam, f"/tickets/{t4}"),
        (sam, f"/tickets/{t4}/edit"),
        (sam, "/dashboard"),
        (anna, "/tickets/new"),
        (anna, f"/tickets/{t1}"),
        (anna, "/"),
    ]
    for browser, path in paths:
        assert browser.get(path).status_code == 200, path
    parses: list[str] = []
    compiles: list[str] = []
    real_parse = jinja2.Environment._parse
    real_compile = expressions.compile_restricted_eval

    def counting_parse(self: jinja2.Environment, *args: Any, **kwargs: Any) -> Any:
        parses.append(str(args[1:2]))
        return real_parse(self, *args, **kwargs)

    def counting_compile(*args: Any, **kwargs: Any) -> Any:
        compiles.append(str(args[:1]))
        return real_compile(*args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "_parse", counting_parse)
    monkeypatch.setattr(expressions, "compile_restricted_eval", counting_compile)
    monkeypatch.setattr(compiler, "compile_expression", counting_compile)
    for browser, path in paths:
        assert browser.get(path).status_code == 200, path
    assert parses == []
    assert compiles == []
