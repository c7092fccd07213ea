"""The files editor through the Flask client (SQLite and PostgreSQL): the list of every
file, a text saved with an exact diff and validated (problems with line numbers and `#L`
anchors), a new file, a deletion (never the root file), the download, rights and a
conflict."""

from __future__ import annotations

from builder_support import audit_actions
from editor_support import base_of, new_draft, signed_in, text_diff

from portalis.engine import drafts
from portalis.testing.web import WebPortal

FILE = "entities/ticket.yaml"


def _url(web: WebPortal, draft: int, file: str = "") -> str:
    return f"/_builder/p/{web.slug}/d/{draft}/files/{file}"


def _text(web: WebPortal, draft: int, revision: int, file: str = FILE) -> str:
    return drafts.revision_bundle(web.engine, draft, revision).files[file]


def _lines(web: WebPortal, draft: int, file: str) -> int:
    return _text(web, draft, 1, file).count("\n")


def test_the_list_shows_every_file_with_links_and_downloads(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft))
    assert page.status_code == 200
    for name in drafts.revision_bundle(web.engine, draft, 1).files:
        assert f'href="{_url(web, draft, name)}"' in page.text, name
        assert f'href="{_url(web, draft, name)}?raw=1"' in page.text, name
    raw = browser.get(_url(web, draft, "portal.yaml") + "?raw=1")
    assert raw.status_code == 200 and raw.text == _text(web, draft, 1, "portal.yaml")
    assert raw.headers["Content-Disposition"] == "attachment; filename=portal.yaml"
    assert raw.headers["Content-Type"].startswith("text/plain")
    assert audit_actions(web.engine, web.slug).count("builder_file_downloaded") == 1
    assert browser.get(_url(web, draft, "missing.yaml")).status_code == 404


def test_saving_a_file_changes_exactly_the_edited_line(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    page = browser.get(_url(web, draft, FILE))
    assert page.status_code == 200 and 'id="L9"' in page.text
    assert 'src="/_builder/static/builder/files_editor.js"' in page.text
    original = _text(web, draft, 1)
    unchanged = browser.post(
        _url(web, draft, FILE), base_revision=base_of(page.text), action="save",
        text=original.replace("\n", "\r\n"),
    )  # fmt: skip
    assert unchanged.status_code == 303 and drafts.get_draft(web.engine, draft).head == 1
    edited = original.replace("max_length: 200", "max_length: 120", 1)
    done = browser.post(_url(web, draft, FILE), base_revision="1", action="save", text=edited)
    assert done.status_code == 303, done.text
    assert done.headers["Location"].endswith(f"files/{FILE}?saved=2")
    assert text_diff(web, draft, 1, 2) == {
        FILE: ["@@ -10 +10 @@", "-        max_length: 200", "+        max_length: 120"]
    }
    assert (
        audit_actions(web.engine, web.slug).count("builder_edit") == 2
    )  # the unchanged save is audited too


def test_problems_are_listed_with_their_line_and_anchor(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    broken = _text(web, draft, 1).replace("max_length: 200", "max_length: many", 1)
    done = browser.post(_url(web, draft, FILE), base_revision="1", action="save", text=broken)
    assert done.status_code == 303
    page = browser.get(_url(web, draft, FILE) + "?saved=2")
    assert 'data-line="10"' in page.text and '<a href="#L10">Line 10</a>' in page.text
    listing = browser.get(_url(web, draft))
    assert "1 problem" in listing.text


def test_add_a_file_then_delete_it_but_never_the_root(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    added = browser.post(_url(web, draft), base_revision="1", file="pages/faq.yaml")
    assert added.status_code == 303
    assert added.headers["Location"].endswith("files/pages/faq.yaml?saved=2")
    assert text_diff(web, draft, 1, 2) == {"pages/faq.yaml": []}
    assert _text(web, draft, 2, "pages/faq.yaml") == ""
    again = browser.post(_url(web, draft), base_revision="2", file="pages/faq.yaml")
    assert again.status_code == 422 and "already has pages/faq.yaml" in again.text
    for bad in ("../x.yaml", "/etc/x.yaml", "logo.png", ".hidden.yaml"):
        refused = browser.post(_url(web, draft), base_revision="2", file=bad)
        assert refused.status_code == 422, bad
    unconfirmed = browser.post(
        _url(web, draft, "pages/faq.yaml"), base_revision="2", action="delete"
    )
    assert unconfirmed.status_code == 422
    gone = browser.post(
        _url(web, draft, "pages/faq.yaml"), base_revision="2", action="delete",
        confirm="pages/faq.yaml",
    )  # fmt: skip
    assert gone.status_code == 303 and gone.headers["Location"].endswith("files/?saved=3")
    assert "pages/faq.yaml" not in drafts.revision_bundle(web.engine, draft, 3).files
    root = browser.post(
        _url(web, draft, "portal.yaml"), base_revision="3", action="delete", confirm="portal.yaml"
    )
    assert root.status_code == 422 and "cannot be deleted" in root.text
    assert "Delete the file" not in browser.get(_url(web, draft, "portal.yaml")).text


def test_viewers_read_files_but_cannot_change_them(web: WebPortal) -> None:
    draft = new_draft(web)
    viewer = signed_in(web, "viewer@example.test", rights=("view",))
    page = viewer.get(_url(web, draft, FILE))
    assert page.status_code == 200 and " readonly" in page.text
    assert (
        "Save the file" not in page.text and "Add a file" not in viewer.get(_url(web, draft)).text
    )
    refused = viewer.post(_url(web, draft, FILE), base_revision="1", action="save", text="x")
    assert refused.status_code == 404
    assert viewer.post(_url(web, draft), base_revision="1", file="a.yaml").status_code == 404
    assert drafts.get_draft(web.engine, draft).head == 1


def test_two_implementers_saving_one_file_get_a_conflict(web: WebPortal) -> None:
    draft = new_draft(web)
    anna = signed_in(web, "anna@example.test")
    ben = signed_in(web, "ben@example.test")
    original = _text(web, draft, 1)
    first = anna.post(
        _url(web, draft, FILE), base_revision="1", action="save",
        text=original.replace("max_length: 200", "max_length: 120", 1),
    )  # fmt: skip
    assert first.status_code == 303
    second = ben.post(
        _url(web, draft, FILE), base_revision="1", action="save",
        text=original.replace("max_length: 200", "max_length: 150", 1),
    )  # fmt: skip
    assert second.status_code == 409 and "Someone saved this draft first" in second.text
    # re-applying the whole text would undo Anna's change to the same file: refused
    assert "entities/ticket.yaml was changed meanwhile" in second.text
    again = ben.post(
        _url(web, draft, FILE), base_revision="2", shown_revision="1", action="save",
        text=original.replace("max_length: 200", "max_length: 150", 1),
    )  # fmt: skip
    assert again.status_code == 422 and drafts.get_draft(web.engine, draft).head == 2
    assert "max_length: 120" in _text(web, draft, 2)
    # a save of another file on top of Anna's revision applies
    other = "pages/tickets.yaml"
    moved = ben.post(
        _url(web, draft, other), base_revision="1", action="save",
        text=_text(web, draft, 1, other) + "# checked\n",
    )  # fmt: skip
    assert moved.status_code == 409 and "was changed meanwhile" not in moved.text
    applied = ben.post(
        _url(web, draft, other), base_revision="2", shown_revision="1", action="save",
        text=_text(web, draft, 1, other) + "# checked\n",
    )  # fmt: skip
    assert applied.status_code == 303
    assert text_diff(web, draft, 2, 3) == {
        other: [
            f"@@ -{_lines(web, draft, other)},0 +{_lines(web, draft, other) + 1} @@",
            "+# checked",
        ]
    }
