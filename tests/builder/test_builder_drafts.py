"""A draft's pages in the builder: overview with the head revision's problems linked to their
editors, revision diffs, restore, discard, zip export and import, new drafts of the live
version — each with its right (404 without it) and its audit entry (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa
from builder_support import BuilderBrowser, add_account, audit_actions

from portalis.builder.editor_links import editor_url, files_path
from portalis.engine import drafts
from portalis.engine.definition.yamledit import BundleEdit
from portalis.testing.web import WebPortal

EMAIL = "maker@example.test"


def _draft(web: WebPortal, name: str = "spring") -> drafts.DraftInfo:
    return drafts.draft_from_live(web.engine, web.slug, name=name, created_by=None)


def _break_subject(engine: sa.Engine, draft: drafts.DraftInfo, author: int | None) -> int:
    edit = BundleEdit(drafts.revision_bundle(engine, draft.id))
    edit.set("entities.ticket.fields.subject.type", "strnig")
    result = edit.result()
    changes: dict[str, str | None] = {p: result.files[p] for p in result.changed}
    saved = drafts.save(engine, draft.id, draft.head, changes, author=author, message="typo")
    return saved.number


def _signed_in(web: WebPortal, browser: BuilderBrowser, right: str, portal: str = "*") -> int:
    account = add_account(web.engine, EMAIL, portals=(portal,), rights=(right,))
    browser.sign_in(EMAIL)
    return account


def test_editor_links_follow_the_url_scheme() -> None:
    base = "/_builder/p/acme/d/3/"
    assert editor_url("acme", 3, ("entities", "ticket", "fields", "subject", "type")) == (
        base + "entities/ticket#field-subject"
    )
    assert editor_url("acme", 3, ("entities", "ticket", "permissions", 0)) == base + "permissions"
    assert editor_url("acme", 3, ("pages", "new_ticket", "blocks", 0, "form", "fields")) == (
        base + "forms/new_ticket/0"
    )
    assert editor_url("acme", 3, ("pages", "home", "title")) == base + "pages/home"
    assert editor_url("acme", 3, ("workflows", "ticket_flow", "states")) == (
        base + "workflows/ticket_flow"
    )
    assert editor_url("acme", 3, ("theme", "logo")) == base + "theme"
    assert editor_url("acme", 3, ("auth", "providers"), "portal.yaml", 22) == (
        base + "files/portal.yaml#L22"
    )
    assert files_path("") == "files/"
    # a missing translation: the grid's row of that label, among the area's missing ones
    label = ("pages", "home", "title")
    assert editor_url("acme", 3, label, code="translation-missing") == (
        base + "translations?area=pages&missing=1#label-pages.home.title"
    )
    assert editor_url("acme", 3, ("title",), code="translation-missing") == (
        base + "translations?area=portal&missing=1#label-title"
    )


def test_a_missing_translation_links_to_its_row_of_the_translations_grid(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    account = _signed_in(web, browser, "edit")
    draft = _draft(web)
    edit = BundleEdit(drafts.revision_bundle(web.engine, draft.id))
    edit.set("entities.ticket.fields.subject.label", {"en": "Subject", "de": "Betreff"})
    changes: dict[str, str | None] = {p: edit.result().files[p] for p in edit.result().changed}
    drafts.save(web.engine, draft.id, draft.head, changes, author=account, message="labels")
    page = browser.get(f"/_builder/p/{web.slug}/d/{draft.id}/").text
    url = (
        f"/_builder/p/{web.slug}/d/{draft.id}/translations?area=entities&amp;missing=1"
        "#label-entities.ticket.fields.subject.label"
    )
    assert f'href="{url}"' in page
    grid = browser.get(url.replace("&amp;", "&").partition("#")[0]).text
    assert '<tr id="label-entities.ticket.fields.subject.label">' in grid


def test_the_overview_lists_revisions_and_links_each_problem_to_its_editor(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    account = _signed_in(web, browser, "edit")
    draft = _draft(web)
    _break_subject(web.engine, draft, account)
    page = browser.get(f"/_builder/p/{web.slug}/d/{draft.id}/")
    assert page.status_code == 200, page.text
    assert 'data-head="2"' in page.text
    assert 'data-revision="1"' in page.text and 'data-revision="2"' in page.text
    assert "typo" in page.text and EMAIL in page.text
    assert '<code class="builder-where">entities/ticket.yaml:8</code>' in page.text
    link = f'href="/_builder/p/{web.slug}/d/{draft.id}/entities/ticket#field-subject"'
    assert link in page.text
    # the installed editors are listed (the entities editor at least) instead of the zip hint
    editors = f"/_builder/p/{web.slug}/d/{draft.id}/"
    assert f'<li><a href="{editors}entities/">Entities and fields</a></li>' in page.text
    assert "export the files" not in page.text
    # the portal page counts the draft's problems
    portal = browser.get(f"/_builder/p/{web.slug}/")
    assert f'data-draft="{draft.id}"' in portal.text and "1 error" in portal.text
    german = browser.get(f"/_builder/p/{web.slug}/d/{draft.id}/?lang=de")
    assert "Probleme der Revision 2" in german.text and "Im Editor öffnen" in german.text
    # the edit right does not publish
    refused = browser.post(f"/_builder/p/{web.slug}/d/{draft.id}/publish", revision="2")
    assert refused.status_code == 404


def test_problems_are_checked_once_per_revision(
    web: WebPortal, browser: BuilderBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed_in(web, browser, "view")
    draft = _draft(web)
    calls: list[int] = []
    real = drafts.review

    def counting(*args: object, **kwargs: object) -> drafts.DraftReview:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(drafts, "review", counting)
    for _ in range(3):
        assert browser.get(f"/_builder/p/{web.slug}/d/{draft.id}/").status_code == 200
    assert browser.get(f"/_builder/p/{web.slug}/").status_code == 200
    assert len(calls) == 1


def test_diff_restore_and_discard(web: WebPortal, browser: BuilderBrowser) -> None:
    account = _signed_in(web, browser, "edit")
    draft = _draft(web)
    _break_subject(web.engine, draft, account)
    base = f"/_builder/p/{web.slug}/d/{draft.id}"
    diff = browser.get(f"{base}/diff?a=1&b=2")
    assert diff.status_code == 200
    assert "<code>entities/ticket.yaml</code>" in diff.text
    assert '<ins class="diff-add"><span class="sr-only">added: </span>+' in diff.text
    assert '<del class="diff-remove"><span class="sr-only">removed: </span>-' in diff.text
    assert "strnig" in diff.text
    assert browser.get(f"{base}/diff?a=1&b=9").status_code == 404

    restored = browser.post(f"{base}/restore", revision="1")
    assert restored.status_code == 303
    assert [r.message for r in drafts.revisions(web.engine, draft.id)][-1] == "restored revision 1"
    assert drafts.revision_bundle(web.engine, draft.id, 3) == drafts.revision_bundle(
        web.engine, draft.id, 1
    )
    assert "No problems" in browser.get(f"{base}/").text

    assert browser.get(f"{base}/discard").status_code == 200
    refused = browser.post(f"{base}/discard")  # without the confirmation
    assert refused.status_code == 400 and not drafts.get_draft(web.engine, draft.id).discarded
    done = browser.post(f"{base}/discard", confirm="yes")
    assert done.status_code == 303 and drafts.get_draft(web.engine, draft.id).discarded
    assert browser.get(f"{base}/").status_code == 404
    assert audit_actions(web.engine, web.slug)[-2:] == [
        "builder_draft_restored",
        "builder_draft_discarded",
    ]


def test_export_zip_and_import_it_as_a_new_draft(web: WebPortal, browser: BuilderBrowser) -> None:
    _signed_in(web, browser, "edit")
    draft = _draft(web)
    exported = browser.get(f"/_builder/p/{web.slug}/d/{draft.id}/export.zip")
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    assert exported.data == drafts.revision_zip(web.engine, draft.id)
    with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
        assert "portal.yaml" in archive.namelist()

    answer = browser.client.post(
        f"/_builder/p/{web.slug}/drafts/import",
        data={
            "csrf_token": _csrf(browser),
            "name": "from git",
            "archive": (io.BytesIO(exported.data), "export.zip"),
        },
    )
    assert answer.status_code == 303, answer.text
    imported = drafts.list_drafts(web.engine, web.slug)[-1]
    assert (imported.name, imported.origin, imported.base_version) == ("from git", "zip upload", 1)
    assert drafts.revision_bundle(web.engine, imported.id) == drafts.revision_bundle(
        web.engine, draft.id
    )
    bad = browser.client.post(
        f"/_builder/p/{web.slug}/drafts/import",
        data={"csrf_token": _csrf(browser), "archive": (io.BytesIO(b"not a zip"), "x.zip")},
    )
    assert bad.status_code == 400 and "zip-invalid" in bad.text
    actions = audit_actions(web.engine, web.slug)
    assert "builder_draft_exported" in actions and "builder_draft_imported" in actions


def test_a_new_draft_of_the_live_version(web: WebPortal, browser: BuilderBrowser) -> None:
    account = _signed_in(web, browser, "edit")
    answer = browser.post(f"/_builder/p/{web.slug}/drafts", name="summer")
    assert answer.status_code == 303
    made = drafts.list_drafts(web.engine, web.slug)[-1]
    assert (made.name, made.base_version, made.created_by) == ("summer", 1, account)
    assert answer.headers["Location"].endswith(f"/_builder/p/{web.slug}/d/{made.id}/")
    assert audit_actions(web.engine, web.slug)[-1] == "builder_draft_created"


@pytest.mark.parametrize("right", ["none", "view", "edit"])
def test_each_route_needs_its_right(web: WebPortal, browser: BuilderBrowser, right: str) -> None:
    portal = "another-portal" if right == "none" else web.slug
    _signed_in(web, browser, "view" if right == "none" else right, portal)
    draft = _draft(web)
    base = f"/_builder/p/{web.slug}/d/{draft.id}"
    seen = 404 if right == "none" else 200
    for path in (f"{base}/", f"{base}/diff?a=1&b=1", f"{base}/export.zip", f"{base}/plan"):
        assert browser.get(path).status_code == seen, path
    edits = 404 if right in ("none", "view") else None
    if edits:
        assert browser.post(f"{base}/restore", revision="1").status_code == 404
        assert browser.get(f"{base}/discard").status_code == 404
        assert browser.post(f"{base}/discard", confirm="yes").status_code == 404
        assert browser.post(f"/_builder/p/{web.slug}/drafts", name="x").status_code == 404
        assert browser.post(f"/_builder/p/{web.slug}/drafts/import").status_code == 404
    # publishing needs the publish right (edit is not enough)
    published = browser.post(f"{base}/publish", revision=str(draft.head))
    assert published.status_code == 404
    assert browser.get(f"/_builder/p/{web.slug}/v/1/rollback").status_code == 404
    assert browser.get("/_builder/new").status_code == 404  # no right on every portal
    assert not drafts.get_draft(web.engine, draft.id).discarded
    # a draft of another portal does not exist under this one
    assert browser.get(f"/_builder/p/other-portal/d/{draft.id}/").status_code == 404


def _csrf(browser: BuilderBrowser) -> str:
    from portalis.testing.web import session_csrf

    return session_csrf(browser.client, browser.app, "/_builder/")
