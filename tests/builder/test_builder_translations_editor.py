"""The translations editor through the Flask client (SQLite and PostgreSQL): the grid of
every label × locale, saving only the changed cells with an exact textual diff, a plain
string turned into a per-locale map, the filters, rights and a conflict."""

from __future__ import annotations

from builder_support import audit_actions
from editor_support import base_of, new_draft, signed_in, text_diff

from portalis.engine import drafts
from portalis.testing.web import WebPortal

TITLE = "pages.tickets.title"
FILE = "pages/tickets.yaml"


def _url(web: WebPortal, draft: int, query: str = "") -> str:
    return f"/_builder/p/{web.slug}/d/{draft}/translations{query}"


def _cell(key: str, locale: str) -> str:
    return f"cell:{key}|{locale}"


def _plain_title(web: WebPortal, draft: int) -> None:
    """Revision 2: the tickets page's title as one plain string."""
    text = drafts.revision_bundle(web.engine, draft, 1).files[FILE]
    old = "    title: {en: Tickets, de: Tickets, fr: Tickets, es: Tickets}\n"
    assert old in text
    changed = text.replace(old, "    title: Tickets\n", 1)
    drafts.save(web.engine, draft, 1, {FILE: changed}, author=None, message="plain title")


def test_the_grid_shows_every_area_and_saves_only_changed_cells(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, "?area=all"))
    assert page.status_code == 200
    for key in (
        "title",
        "entities.ticket.label",
        "entities.ticket.fields.status.options.0.label",
        TITLE,
        "pages.ticket.blocks.3.form.submit_label",
        "workflows.ticket_flow.transitions.0.label",
        "notifications.ticket_resolved.subject",
    ):
        assert f'name="{_cell(key, "de")}"' in page.text, key
    done = browser.post(
        _url(web, draft),
        base_revision=base_of(page.text),
        area="pages",
        **{_cell(TITLE, "de"): "Vorgänge", _cell(TITLE, "en"): "Tickets"},
    )
    assert done.status_code == 303, done.text
    assert done.headers["Location"].endswith("translations?area=pages&saved=2")
    old = "    title: {en: Tickets, de: Tickets, fr: Tickets, es: Tickets}"
    new = "    title: {en: Tickets, de: Vorgänge, fr: Tickets, es: Tickets}"
    assert text_diff(web, draft, 1, 2) == {FILE: ["@@ -4 +4 @@", "-" + old, "+" + new]}
    emptied = browser.post(_url(web, draft), base_revision="2", **{_cell(TITLE, "fr"): ""})
    assert emptied.status_code == 303
    after = "    title: {en: Tickets, de: Vorgänge, es: Tickets}"
    assert text_diff(web, draft, 2, 3) == {FILE: ["@@ -4 +4 @@", "-" + new, "+" + after]}
    assert audit_actions(web.engine, web.slug).count("builder_edit") == 2


def test_a_plain_string_becomes_a_map_when_a_second_locale_is_filled(web: WebPortal) -> None:
    draft = new_draft(web)
    _plain_title(web, draft)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, "?area=pages&missing=1"))
    assert page.text.count('class="badge badge-missing"') == 3
    assert f'name="{_cell(TITLE, "de")}"' in page.text
    assert f'name="{_cell("pages.ticket.title", "de")}"' not in page.text
    same = browser.post(_url(web, draft), base_revision="2", **{_cell(TITLE, "en"): "Cases"})
    assert same.status_code == 303
    assert text_diff(web, draft, 2, 3) == {
        FILE: ["@@ -4 +4 @@", "-    title: Tickets", "+    title: Cases"]
    }
    filled = browser.post(_url(web, draft), base_revision="3", **{_cell(TITLE, "de"): "Fälle"})
    assert filled.status_code == 303
    assert text_diff(web, draft, 3, 4) == {
        FILE: ["@@ -4 +4 @@", "-    title: Cases", "+    title: {en: Cases, de: Fälle}"]
    }


def test_the_editors_speak_the_builders_four_languages(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    words = {"de": "Übersetzungen speichern", "fr": "Enregistrer les traductions",
             "es": "Guardar las traducciones", "en": "Save translations"}  # fmt: skip
    files = {"de": "Datei hinzufügen", "fr": "Ajouter un fichier", "es": "Añadir un archivo",
             "en": "Add a file"}  # fmt: skip
    for lang, text in words.items():
        page = browser.get(_url(web, draft, "?area=pages"), headers={"Accept-Language": lang})
        assert page.status_code == 200 and text in page.text, lang
        listing = browser.get(
            f"/_builder/p/{web.slug}/d/{draft}/files/", headers={"Accept-Language": lang}
        )
        assert files[lang] in listing.text, lang


def test_the_locale_filter_shows_one_column(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, "?area=pages&locale=fr"))
    assert f'name="{_cell(TITLE, "fr")}"' in page.text
    assert f'name="{_cell(TITLE, "de")}"' not in page.text
    nothing = browser.get(_url(web, draft, "?area=pages&missing=1"))
    assert "No label matches the filter." in nothing.text


def test_viewers_see_the_grid_without_inputs_and_cannot_save(web: WebPortal) -> None:
    draft = new_draft(web)
    viewer = signed_in(web, "viewer@example.test", rights=("view",))
    page = viewer.get(_url(web, draft, "?area=pages"))
    assert page.status_code == 200 and "Vorgänge" not in page.text
    assert 'name="cell:' not in page.text
    refused = viewer.post(_url(web, draft), base_revision="1", **{_cell(TITLE, "de"): "X"})
    assert refused.status_code == 404
    assert drafts.get_draft(web.engine, draft).head == 1


def test_two_translators_saving_the_same_revision_get_a_conflict(web: WebPortal) -> None:
    draft = new_draft(web)
    anna = signed_in(web, "anna@example.test")
    ben = signed_in(web, "ben@example.test")
    first = anna.post(_url(web, draft), base_revision="1", **{_cell(TITLE, "de"): "Fälle"})
    assert first.status_code == 303
    second = ben.post(_url(web, draft), base_revision="1", **{_cell(TITLE, "fr"): "Dossiers"})
    assert second.status_code == 409 and "Someone saved this draft first" in second.text
    assert drafts.get_draft(web.engine, draft).head == 2


def test_a_block_text_keeps_its_style_when_a_line_changes(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    key = "notifications.ticket_resolved.body"
    body = drafts.revision_bundle(web.engine, draft, 1).files["notifications.yaml"]
    start = body.index("      de: |\n") + len("      de: |\n")
    shown = "\n".join(line[8:] for line in body[start:].split("\n      fr:")[0].splitlines())
    posted = shown.replace("Hallo", "Guten Tag").replace("\n", "\r\n")
    done = browser.post(_url(web, draft), base_revision="1", **{_cell(key, "de"): posted})
    assert done.status_code == 303, done.text
    assert text_diff(web, draft, 1, 2) == {
        "notifications.yaml": [
            "@@ -24 +24 @@",
            "-        Hallo {{ recipient.name }},",
            "+        Guten Tag {{ recipient.name }},",
        ]
    }
