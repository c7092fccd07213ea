"""The request guards on the builder pages of a portal that was never published (a new
portal's draft): asked with the draft's head revision, so a fork is edited before its first
publish, the allow-list a draft declares keeps its pages to those networks, and a draft that
does not compile stays reachable (to be fixed) — with the IP allow-list plugin loaded."""

from __future__ import annotations

from pathlib import Path

from builder_support import BuilderBrowser, add_account, audit_actions

from portalis.engine import drafts
from portalis.testing.portals import b2c_with
from portalis.testing.web import WebPortal, app_state

EMAIL = "builder@example.test"
SLUG = "acme-new"
ALLOW_LIST = '  ip_allowlist: {builder: ["10.0.0.0/8"]}\n'


def _editor(web: WebPortal) -> BuilderBrowser:
    assert app_state(web.app).guards, "the IP allow-list guard is loaded"
    add_account(web.engine, EMAIL, rights=("edit", "publish"))
    browser = BuilderBrowser(web.app)
    browser.sign_in(EMAIL)
    return browser


def _draft_of(web: WebPortal, folder: Path) -> str:
    """A never-published portal's draft of `folder`'s files; the draft's URL."""
    info = drafts.draft_from_directory(web.engine, folder, name="new", portal=SLUG)
    return f"/_builder/p/{SLUG}/d/{info.id}"


def test_a_fork_of_b2c_is_edited_before_its_first_publish(web: WebPortal) -> None:
    browser = _editor(web)
    made = browser.post("/_builder/new", source="blueprint", blueprint="b2c", slug=SLUG)
    assert made.status_code == 303, made.text
    draft = drafts.list_drafts(web.engine, SLUG)[0]
    base = f"/_builder/p/{SLUG}/d/{draft.id}"
    for page in ("/", "/roles", "/entities/", "/files/portal.yaml", "/preview/", "/plan"):
        assert browser.get(base + page).status_code == 200, page
    text = drafts.revision_bundle(web.engine, draft.id, 1).files["portal.yaml"]
    saved = browser.post(
        f"{base}/files/portal.yaml", action="save", base_revision="1",
        text=text.replace("title:", "# renamed soon\ntitle:", 1),
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert drafts.get_draft(web.engine, draft.id).head == 2
    assert "builder_refused_by_guard" not in audit_actions(web.engine, SLUG)


def test_a43_the_allow_list_of_a_never_published_draft_keeps_its_pages_to_those_networks(
    web: WebPortal, tmp_path: Path
) -> None:
    outside = _editor(web)
    base = _draft_of(web, b2c_with(tmp_path / "portal", auth=ALLOW_LIST))
    for page in ("/", "/roles", "/files/portal.yaml", "/preview/", "/plan"):
        assert outside.get(base + page).status_code == 403, page
    # a forwarded address counts only from a trusted proxy (none is configured here)
    forged = {"X-Forwarded-For": "10.1.2.3"}
    assert outside.get(base + "/", headers=forged).status_code == 403
    assert "builder_refused_by_guard" in audit_actions(web.engine, SLUG)
    inside = BuilderBrowser(web.app)
    inside.client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    inside.authenticator = outside.authenticator
    inside.sign_in(EMAIL)
    for page in ("/", "/roles", "/files/portal.yaml"):
        assert inside.get(base + page).status_code == 200, page
    # the platform-level pages follow the account's rights only
    assert outside.get("/_builder/new").status_code == 200
    assert outside.get("/_builder/").status_code == 200


def test_a_never_published_draft_that_does_not_compile_stays_reachable(
    web: WebPortal, tmp_path: Path
) -> None:
    browser = _editor(web)
    folder = b2c_with(tmp_path / "portal", auth=ALLOW_LIST)
    root = folder / "portal.yaml"
    root.write_text(root.read_text(encoding="utf-8") + "mystery: 1\n", encoding="utf-8")
    base = _draft_of(web, folder)
    overview = browser.get(base + "/")
    assert overview.status_code == 200 and "mystery" in overview.text
    assert browser.get(base + "/files/portal.yaml").status_code == 200
