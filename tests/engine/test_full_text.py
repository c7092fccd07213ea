"""Full-text search (`search: {fields: ...}`) on SQLite and PostgreSQL: stemming in English
and German, ranking by field weight, the row filter and field masks in the same SQL, the
index kept in every write's transaction, and deploys that add, fill and drop the index."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from search_defs import HOME_SEARCH, SEED, deploy, helpdesk

from portalis.engine.data.errors import ValidationFailed
from portalis.engine.data.fulltext.related import related_records
from portalis.engine.data.fulltext.site import search_entities
from portalis.engine.data.fulltext.snippets import snippet
from portalis.engine.data.permissions import Actor
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, check_text


def _titles(portal: CompiledPortal, engine: sa.Engine, actor: Actor, q: str) -> list[str]:
    page = portal.store(engine).list(actor, "article", search=q)
    return [str(r.values["title"]) for r in page.records]


@pytest.fixture
def portal(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> CompiledPortal:
    return deploy(db_engine, portalis_checker, tmp_path / "help")


def _people(portal: CompiledPortal, engine: sa.Engine) -> dict[str, Actor]:
    return {
        name: actor_for(engine, portal, f"{name}@help.test") for name in ("anna", "carla", "eddie")
    }


def _articles(portal: CompiledPortal, engine: sa.Engine, anna: Actor) -> None:
    store = portal.store(engine)
    store.insert(anna, "article", {"title": "Password reset", "body": "Use the link we mail."})
    store.insert(anna, "article", {"title": "Invoices", "body": "Resetting passwords: see help."})
    store.insert(anna, "article", {"title": "Draft", "body": "password reset", "published": False})
    store.insert(anna, "article", {"title": "Shipping", "body": "Parcels", "note": "zebra code"})


def test_english_stems_and_weights_rank(portal: CompiledPortal, db_engine: sa.Engine) -> None:
    people = _people(portal, db_engine)
    _articles(portal, db_engine, people["anna"])
    # "resetting passwords" finds "password reset"; the title match weighs more than the body
    found = _titles(portal, db_engine, people["anna"], "resetting passwords")
    assert found[0] == "Password reset"
    assert set(found) == {"Password reset", "Invoices", "Draft"}
    assert _titles(portal, db_engine, people["anna"], "the of and") == []
    assert _titles(portal, db_engine, people["anna"], "parcel") == ["Shipping"]


def test_asvs_8_2_2_idor_search_row_filter(portal: CompiledPortal, db_engine: sa.Engine) -> None:
    people = _people(portal, db_engine)
    _articles(portal, db_engine, people["anna"])
    # the unpublished draft is out of the customer's row filter: never a hit
    assert set(_titles(portal, db_engine, people["carla"], "password reset")) == {
        "Password reset",
        "Invoices",
    }
    assert _titles(portal, db_engine, Actor.anonymous(), "draft") == []
    hits = search_entities(portal.store(db_engine), people["carla"], ["article"], "password")
    assert {h.title for h in hits} == {"Password reset", "Invoices"}


def test_asvs_8_2_3_hidden_field_never_matches(
    portal: CompiledPortal, db_engine: sa.Engine
) -> None:
    people = _people(portal, db_engine)
    _articles(portal, db_engine, people["anna"])
    store = portal.store(db_engine)
    # the note is hidden from customers: its words never make a record match for them
    assert _titles(portal, db_engine, people["carla"], "zebra") == []
    assert search_entities(store, people["carla"], ["article"], "zebra") == []
    assert _titles(portal, db_engine, people["anna"], "zebra") == ["Shipping"]
    # ... nor show in a snippet: a customer's hit has snippets of readable fields only
    store.insert(people["anna"], "article", {"title": "Parcels", "note": "parcels zebra"})
    hits = search_entities(store, people["carla"], ["article"], "parcels")
    assert all("zebra" not in "".join(t for t, _ in h.snippet or ()) for h in hits)
    # the editor reads the note on their own articles only: it matches there, nowhere else
    eddie = people["eddie"]
    store.insert(eddie, "article", {"title": "Mine", "note": "zebra inside"})
    assert _titles(portal, db_engine, eddie, "zebra") == ["Mine"]
    assert [h.title for h in search_entities(store, eddie, ["article"], "zebra")] == ["Mine"]


def test_index_follows_every_write_and_rolls_back(
    portal: CompiledPortal, db_engine: sa.Engine
) -> None:
    anna = _people(portal, db_engine)["anna"]
    store = portal.store(db_engine)
    record = store.insert(anna, "article", {"title": "Refund policy", "body": "Money back"})
    assert _titles(portal, db_engine, anna, "refunds") == ["Refund policy"]
    store.update(anna, "article", record.id, {"title": "Return policy"})
    assert _titles(portal, db_engine, anna, "refunds") == []
    assert _titles(portal, db_engine, anna, "returns") == ["Return policy"]
    # a write that fails leaves the index as it was
    with pytest.raises(ValidationFailed), store.transaction() as conn:
        store.update(anna, "article", record.id, {"title": "Exchange policy"}, conn=conn)
        store.insert(anna, "article", {"title": ""}, conn=conn)
    assert _titles(portal, db_engine, anna, "exchange") == []
    assert _titles(portal, db_engine, anna, "returns") == ["Return policy"]
    store.delete(anna, "article", record.id)
    assert _titles(portal, db_engine, anna, "returns") == []


def test_german_stems(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> None:
    portal = deploy(db_engine, portalis_checker, tmp_path / "de", locale="de")
    anna = actor_for(db_engine, portal, "anna@help.test")
    store = portal.store(db_engine)
    store.insert(anna, "article", {"title": "Passwort zurücksetzen", "body": "So geht es."})
    store.insert(anna, "article", {"title": "Rechnungen", "body": "Ihre Rechnung als PDF."})
    assert _titles(portal, db_engine, anna, "Passwörter zurücksetzen") == ["Passwort zurücksetzen"]
    assert _titles(portal, db_engine, anna, "rechnung") == ["Rechnungen"]


def test_deploy_adds_fills_and_drops_the_index(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    folder = tmp_path / "help"
    plain = deploy(db_engine, portalis_checker, folder, search="")
    anna = actor_for(db_engine, plain, "anna@help.test")
    plain.store(db_engine).insert(anna, "article", {"title": "Passwords", "body": "Reset"})
    # without an index: the substring search (no stems)
    assert _titles(plain, db_engine, anna, "resetting") == []
    indexed = deploy(db_engine, portalis_checker, folder)
    assert _titles(indexed, db_engine, anna, "resetting") == ["Passwords"]  # filled
    reweighted = deploy(db_engine, portalis_checker, folder, search="{fields: [title]}")
    assert _titles(reweighted, db_engine, anna, "resetting") == []
    assert _titles(reweighted, db_engine, anna, "password") == ["Passwords"]
    deploy(db_engine, portalis_checker, folder, search="")
    with db_engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        if db_engine.dialect.name == "postgresql":
            names += [i["name"] for i in sa.inspect(conn).get_indexes("p_helpdesk__article")]
            names += [c["name"] for c in sa.inspect(conn).get_columns("p_helpdesk__article")]
    assert not [n for n in names if n and n.startswith(("fts_", "_fts_"))]


def test_snippets_are_segments_around_the_match() -> None:
    text = "<b>Bold</b> intro. " * 20 + "Resetting your password is easy. " + "Tail. " * 30
    segments = snippet("english", ["passwords"], text)
    assert segments is not None
    assert ("password", True) in segments
    assert segments[0] == ("…", False) and segments[-1] == ("…", False)
    assert sum(len(t) for t, _ in segments) < 220
    assert snippet("english", ["zebra"], text) is None


def test_search_definition_problems(portalis_checker: Checker, tmp_path: Path) -> None:
    bad = helpdesk(search="{fields: {title: 1, body: 2, note: 3, published: 4, nothing: 5}}")
    folder = tmp_path / "bad"
    check_text(portalis_checker, folder, bad, SEED)
    problems = portalis_checker.check_dir(folder, env={}).report.problems
    assert {"search-field-type", "ref-unknown-field", "search-weights"} <= {
        p.code for p in problems
    }
    located = next(p for p in problems if p.code == "search-field-type")
    assert (
        located.line
        == bad.splitlines().index("    search: " + bad.split("search: ")[1].split("\n")[0]) + 1
    )
    assert located.file == "portal.yaml" and located.hint
    codes = [
        c
        for c, _ in check_text(
            portalis_checker,
            tmp_path / "u",
            helpdesk(search="[title]").replace("- markdown: {en: Hi}", HOME_SEARCH),
            SEED,
        )
    ]
    assert "search-not-indexed" in codes


@contextmanager
def _statements(engine: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_masked_reader_searches_stored_vectors(
    portal: CompiledPortal, db_engine: sa.Engine
) -> None:
    people = _people(portal, db_engine)
    _articles(portal, db_engine, people["anna"])
    with _statements(db_engine) as seen:
        # carla may not read the note: her search combines only the title and body vectors
        titles = _titles(portal, db_engine, people["carla"], "resetting")
    assert set(titles) == {"Password reset", "Invoices"}
    searches = [s for s in seen if "search_hits" in s]
    assert searches
    if db_engine.dialect.name == "postgresql":
        # stored vectors only: no text is parsed per row at query time
        assert not [s for s in searches if "to_tsvector" in s]
        assert all("_fts_title_" in s and "_fts_body_" in s for s in searches)
        with db_engine.connect() as conn:
            columns = [c["name"] for c in sa.inspect(conn).get_columns("p_helpdesk__article")]
            indexes = sa.inspect(conn).get_indexes("p_helpdesk__article")
        assert sorted(c.split("_")[2] for c in columns if c.startswith("_fts_")) == [
            "body",
            "note",
            "title",
        ]
        assert len([i for i in indexes if str(i["name"]).startswith("fts_")]) == 1
    else:
        assert all(" MATCH " in s for s in searches)


def test_language_change_refills_the_stored_vectors(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    folder = tmp_path / "help"
    english = deploy(db_engine, portalis_checker, folder)
    anna = actor_for(db_engine, english, "anna@help.test")
    english.store(db_engine).insert(anna, "article", {"title": "Rechnungen", "body": "Alle"})
    # a new language: each vector is recomputed with German stems, the old columns dropped
    german = deploy(db_engine, portalis_checker, folder, locale="de")
    assert _titles(german, db_engine, anna, "Rechnung") == ["Rechnungen"]
    german.store(db_engine).insert(anna, "article", {"title": "Passwörter", "body": "Neu"})
    assert _titles(german, db_engine, anna, "Passwort") == ["Passwörter"]
    if db_engine.dialect.name == "postgresql":
        with db_engine.connect() as conn:
            columns = [c["name"] for c in sa.inspect(conn).get_columns("p_helpdesk__article")]
        assert len([c for c in columns if c.startswith("_fts_")]) == 3


def test_asvs_8_2_3_related_records_never_relate_through_a_hidden_field(
    portal: CompiledPortal, db_engine: sa.Engine
) -> None:
    people = _people(portal, db_engine)
    anna, carla = people["anna"], people["carla"]
    store = portal.store(db_engine)
    crossing = store.insert(anna, "article", {"title": "Zebra crossing", "body": "Roads"})
    store.insert(anna, "article", {"title": "Parcels", "body": "Boxes", "note": "zebra"})
    store.insert(anna, "article", {"title": "Zebra draft", "published": False})
    store.insert(anna, "article", {"title": "Crossing borders", "body": "Customs"})
    seen = store.get(carla, "article", crossing.id)
    # carla may not read notes nor drafts: only the article sharing a readable word
    assert [r.title for r in related_records(store, carla, seen, ())] == ["Crossing borders"]
    mine = store.get(anna, "article", crossing.id)
    assert {r.title for r in related_records(store, anna, mine, ())} == {
        "Crossing borders",
        "Parcels",
        "Zebra draft",
    }
