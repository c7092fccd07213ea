"""Draft preview: a sandbox per draft revision seeded from the draft's seed data, served as a
chosen seed user or role, that never reads or writes the live tables (SQLite and
PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from builder_support import BuilderBrowser, add_account, audit_actions
from sqlalchemy import event

from portalis.builder.preview import sandbox
from portalis.engine.drafts import discard, draft_from_live, revision_bundle, save
from portalis.testing.web import WebPortal, app_state

EMAIL = "builder@example.test"
LIVE_ONLY = "Live-only ticket the seed does not have"


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    """Every SQL statement `engine` runs inside the block."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _setup(web: WebPortal, browser: BuilderBrowser, rights: str = "view") -> tuple[int, str]:
    add_account(web.engine, EMAIL, portals=(web.slug,), rights=(rights,))
    ben = web.actor("ben@acme.test")
    web.store.insert(ben, "ticket", {"subject": LIVE_ONLY, "body": "x", "priority": "low"})
    draft = draft_from_live(web.engine, web.slug, name="try")
    browser.sign_in(EMAIL)
    return draft.id, f"/_builder/p/{web.slug}/d/{draft.id}/preview"


def _ben_id(page: str) -> str:
    found = re.search(r'value="(user:\d+)"[^>]*>\s*<label[^>]*>Ben Ortiz', page)
    assert found, page
    return found.group(1)


def test_preview_as_ben_shows_seed_data_never_live_rows(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    draft, prefix = _setup(web, browser)
    picker = browser.get(prefix + "/")
    assert picker.status_code == 200, picker.text
    assert "Ben Ortiz" in picker.text and "A role in an account" in picker.text
    started = browser.post(prefix + "/", **{"as": _ben_id(picker.text)})
    assert started.status_code == 303
    assert started.headers["Location"].endswith(f"{prefix}/{web.slug}/")
    with statements(web.engine) as live_sql:
        home = browser.get(f"{prefix}/{web.slug}/tickets")
    assert home.status_code == 200, home.text
    assert f"Preview of draft {draft} revision 1 as Ben Ortiz" in home.text
    assert "Cannot download my contract" in home.text  # seed data of Ben's account
    assert LIVE_ONLY not in home.text and "Outage in the order portal" not in home.text
    # links stay inside the preview
    hrefs = re.findall(r'href="(/[^"]*)"', home.text)
    portal_links = [
        h
        for h in hrefs
        if not h.startswith(("/_builder/static", "/_builder/p/" + web.slug + "/d/"))
    ]
    assert portal_links == [], portal_links
    # the live database is asked only about the builder: no portal table, no ticket
    portal_tables = set(web.compiled.tables.metadata.tables)
    assert not [s for s in live_sql if any(re.search(rf"\b{t}\b", s) for t in portal_tables)]
    assert "builder_preview_started" in audit_actions(web.engine, web.slug)


def test_writes_in_a_preview_stay_in_its_sandbox(web: WebPortal, browser: BuilderBrowser) -> None:
    _draft, prefix = _setup(web, browser)
    browser.post(prefix + "/", **{"as": _ben_id(browser.get(prefix + "/").text)})
    form = browser.client.get(f"{prefix}/{web.slug}/tickets/new")
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    forged = browser.client.post(
        f"{prefix}/{web.slug}/tickets/new", data={"_block": "0", "subject": "No token"}
    )
    assert forged.status_code == 400  # the preview checks its own CSRF tokens
    with statements(web.engine) as live_sql:
        made = browser.client.post(
            f"{prefix}/{web.slug}/tickets/new",
            data={
                "csrf_token": token.group(1),
                "_block": "0",
                "subject": "Made in the preview",
                "body": "b",
                "priority": "low",
            },
        )
    assert made.status_code in (302, 303), made.text
    assert made.headers["Location"].startswith(f"{prefix}/{web.slug}/")
    table = web.compiled.tables["ticket"]
    with web.engine.connect() as conn:
        subjects = set(conn.execute(sa.select(table.c.subject)).scalars())
    assert "Made in the preview" not in subjects and LIVE_ONLY in subjects
    assert not [s for s in live_sql if table.name in s]
    listing = browser.get(f"{prefix}/{web.slug}/tickets")
    assert "Made in the preview" in listing.text


def test_preview_as_a_role_in_an_account_and_the_why_panel(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    _draft, prefix = _setup(web, browser)
    picker = browser.get(prefix + "/").text
    globex = re.search(r'<option value="(\d+)">Globex Ltd</option>', picker)
    assert globex
    browser.post(prefix + "/", **{"as": "role", "role": "customer", "account": globex.group(1)})
    page = browser.get(f"{prefix}/{web.slug}/tickets")
    assert "as role customer in account Globex Ltd" in page.text
    assert (
        "Outage in the order portal" in page.text and "Cannot download my contract" not in page.text
    )
    assert "allowed by grant #1 of ticket: customer/account" in page.text
    assert "hidden: field assignee excepted for customer by grant #1 of ticket" in page.text


def test_sandboxes_are_dropped_with_their_draft_and_nobody_else_gets_in(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    draft, prefix = _setup(web, browser)
    assert browser.get(prefix + "/").status_code == 200
    st = app_state(web.app)
    folder = Path(st.settings.instance_path)
    assert (draft, 1) in set(sandbox.existing(web.engine, folder))
    # a portal user, an anonymous visitor and a stranger's draft number: nothing
    assert web.client("ben@acme.test").client.get(prefix + "/").status_code in (303, 404)
    assert BuilderBrowser(web.app).get(f"{prefix}/{web.slug}/").status_code == 404
    assert browser.get(f"/_builder/p/{web.slug}/d/999/preview/").status_code == 404
    discard(web.engine, draft)
    assert (draft, 1) in sandbox.prune(web.engine, folder)
    assert (draft, 1) not in set(sandbox.existing(web.engine, folder))
    assert browser.get(prefix + "/").status_code == 404


def test_a_new_revision_supersedes_its_sandbox_and_a_broken_one_is_not_previewed(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    draft, prefix = _setup(web, browser)
    assert browser.get(prefix + "/").status_code == 200
    folder = Path(app_state(web.app).settings.instance_path)
    text = revision_bundle(web.engine, draft, 1).files["portal.yaml"]
    save(
        web.engine, draft, 1, {"portal.yaml": text.replace("title:", "title: Renamed\nx_title:", 1)}
    )
    broken = browser.get(prefix + "/")
    assert broken.status_code == 409 and "This revision has problems" in broken.text
    fixed = text.replace("Acme Support", "Acme Help", 1)
    assert fixed != text
    save(web.engine, draft, 2, {"portal.yaml": fixed})
    picker = browser.get(prefix + "/")
    assert picker.status_code == 200 and "revision 3" in picker.text
    assert set(sandbox.existing(web.engine, folder)) == {(draft, 3)}  # revision 1's dropped


def test_discarding_a_draft_in_the_builder_drops_its_sandbox(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    draft, prefix = _setup(web, browser, rights="edit")
    assert browser.get(prefix + "/").status_code == 200
    folder = Path(app_state(web.app).settings.instance_path)
    assert (draft, 1) in set(sandbox.existing(web.engine, folder))
    answer = browser.post(f"/_builder/p/{web.slug}/d/{draft}/discard", confirm="yes")
    assert answer.status_code == 303
    assert (draft, 1) not in set(sandbox.existing(web.engine, folder))
