"""Drafts: revisions, optimistic saves, conflicts, restore and discard — SQLite and PostgreSQL."""

from __future__ import annotations

import re
from functools import partial

import pytest
import sqlalchemy as sa

from portalis.engine.data.platform_tables import bundles, draft_revisions
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.drafts import (
    DraftConflict,
    DraftError,
    DraftInfo,
    create_draft,
    diff_revisions,
    discard,
    draft_blank,
    draft_from_bundle,
    draft_from_directory,
    get_draft,
    list_drafts,
    restore,
    revision_bundle,
    revisions,
    save,
)
from portalis.testing.concurrency import race
from portalis.testing.portals import BLUEPRINTS

B2C = BLUEPRINTS / "b2c"
TITLE = "title: {en: Acme Support, de: Acme Kundenservice, fr: Support Acme, es: Soporte Acme}"


def fork(engine: sa.Engine, portal: str = "acme-support") -> DraftInfo:
    return draft_from_directory(engine, B2C, name="first draft", portal=portal, created_by=7)


def retitle(bundle: Bundle, title: str) -> dict[str, str | None]:
    text = bundle.files["portal.yaml"]
    new, count = re.subn(r"(?m)^title: .*$", f"title: {{en: {title}}}", text)
    assert count == 1
    return {"portal.yaml": new}


def test_a_fork_is_a_copy_of_the_blueprints_files(platform_engine: sa.Engine) -> None:
    draft = fork(platform_engine, "acme-copy")
    files, _ = read_bundle(B2C)
    stored = revision_bundle(platform_engine, draft.id)
    assert set(stored.files) == set(files.files)
    changed = [p for p in files.files if stored.files[p] != files.files[p]]
    assert changed == ["portal.yaml"]
    assert "portal: acme-copy\n" in stored.files["portal.yaml"]
    assert draft.portal == "acme-copy" and draft.base_version is None and draft.head == 1
    assert draft.created_by == 7 and not draft.discarded and draft.origin == "blueprint b2c"


def test_saves_are_numbered_revisions_with_author_and_message(platform_engine: sa.Engine) -> None:
    draft = fork(platform_engine)
    base = revision_bundle(platform_engine, draft.id, 1)
    second = save(platform_engine, draft.id, 1, retitle(base, "Help"), author=3, message="title")
    third = save(
        platform_engine, draft.id, 2, {"pages/extra.yaml": "pages: {}\n"}, author=4, message="page"
    )
    assert (second.number, second.author, second.message) == (2, 3, "title")
    assert third.number == 3
    listed = revisions(platform_engine, draft.id)
    assert [(r.number, r.author) for r in listed] == [(1, 7), (2, 3), (3, 4)]
    assert get_draft(platform_engine, draft.id).head == 3
    assert "pages/extra.yaml" in revision_bundle(platform_engine, draft.id).files
    removed = save(platform_engine, draft.id, 3, {"pages/extra.yaml": None})
    assert (
        "pages/extra.yaml" not in revision_bundle(platform_engine, draft.id, removed.number).files
    )
    # a save that changes nothing stores nothing
    head = revision_bundle(platform_engine, draft.id, 4)
    same = save(platform_engine, draft.id, 4, {"portal.yaml": head.files["portal.yaml"]})
    assert same.number == 4 and len(revisions(platform_engine, draft.id)) == 4


def test_a_save_on_an_old_revision_is_a_conflict_with_both_changes(
    platform_engine: sa.Engine,
) -> None:
    draft = fork(platform_engine)
    base = revision_bundle(platform_engine, draft.id, 1)
    save(platform_engine, draft.id, 1, retitle(base, "Theirs"), author=1)
    with pytest.raises(DraftConflict) as caught:
        save(platform_engine, draft.id, 1, retitle(base, "Mine"), author=2)
    conflict = caught.value
    assert (conflict.base, conflict.head) == (1, 2)
    assert "+title: {en: Theirs}" in conflict.theirs["portal.yaml"]
    assert "+title: {en: Mine}" in conflict.yours["portal.yaml"]
    assert "title: {en: Mine}" in conflict.files["portal.yaml"]
    # nothing was overwritten
    assert "{en: Theirs}" in revision_bundle(platform_engine, draft.id).files["portal.yaml"]
    assert len(revisions(platform_engine, draft.id)) == 2


def test_concurrent_saves_on_one_revision_one_wins_one_conflicts(
    platform_engine: sa.Engine,
) -> None:
    draft = fork(platform_engine)
    for round_ in range(4):
        head = get_draft(platform_engine, draft.id).head
        base = revision_bundle(platform_engine, draft.id, head)
        mine_a, mine_b = retitle(base, f"A{round_}"), retitle(base, f"B{round_}")
        outcomes = race(
            partial(save, platform_engine, draft.id, head, mine_a, author=1),
            partial(save, platform_engine, draft.id, head, mine_b, author=2),
        )
        won = [o for o in outcomes if not isinstance(o, Exception)]
        lost = [o for o in outcomes if isinstance(o, Exception)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert isinstance(lost[0], DraftConflict)
        winner = won[0]
        assert winner.number == head + 1
        stored = revision_bundle(platform_engine, draft.id).files["portal.yaml"]
        mine = "A" if winner.author == 1 else "B"
        theirs = "B" if mine == "A" else "A"
        assert f"title: {{en: {mine}{round_}}}" in stored
        # the loser's edit is not lost: it comes back with the conflict
        assert f"+title: {{en: {theirs}{round_}}}" in lost[0].yours["portal.yaml"]
        assert f"+title: {{en: {mine}{round_}}}" in lost[0].theirs["portal.yaml"]
    assert get_draft(platform_engine, draft.id).head == 5


def test_revision_numbers_are_unique_per_draft(platform_engine: sa.Engine) -> None:
    draft = fork(platform_engine)
    sha = revision_bundle(platform_engine, draft.id).sha256
    with pytest.raises(sa.exc.IntegrityError), platform_engine.begin() as conn:
        conn.execute(
            draft_revisions.insert().values(
                draft_id=draft.id, number=1, sha256=sha, created_at=draft.created_at
            )
        )


def test_diff_restore_and_content_addressed_storage(platform_engine: sa.Engine) -> None:
    draft = fork(platform_engine)
    base = revision_bundle(platform_engine, draft.id, 1)
    save(platform_engine, draft.id, 1, retitle(base, "Two"))
    save(platform_engine, draft.id, 2, {"notes.md": "hello\n"})
    diffs = diff_revisions(platform_engine, draft.id, 1, 3)
    assert set(diffs) == {"notes.md", "portal.yaml"}
    assert diffs["notes.md"].startswith("--- /dev/null\n+++ r3/notes.md\n")
    assert f"-{TITLE}\n+title: {{en: Two}}\n" in diffs["portal.yaml"]
    restored = restore(platform_engine, draft.id, 1, author=9)
    assert restored.number == 4 and restored.message == "restored revision 1"
    assert revision_bundle(platform_engine, draft.id).files == base.files
    assert restored.sha256 == base.sha256
    with platform_engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(bundles)).scalar_one()
    assert stored == 3  # revision 4 reuses revision 1's files


def test_discard_hides_the_draft_and_refuses_saves(platform_engine: sa.Engine) -> None:
    kept = draft_blank(platform_engine, "new-portal", name="blank")
    gone = fork(platform_engine)
    discard(platform_engine, gone.id)
    assert [d.id for d in list_drafts(platform_engine)] == [kept.id]
    assert [d.id for d in list_drafts(platform_engine, discarded=True)] == [kept.id, gone.id]
    assert list_drafts(platform_engine, "new-portal")[0].origin == "blank"
    with pytest.raises(DraftError, match="discarded"):
        save(platform_engine, gone.id, 1, {"x.md": "x\n"})
    with pytest.raises(DraftError, match="no draft 999"):
        get_draft(platform_engine, 999)
    with pytest.raises(DraftError, match="no revision 5"):
        revision_bundle(platform_engine, kept.id, 5)


def test_invalid_slugs_and_missing_roots_are_refused(platform_engine: sa.Engine) -> None:
    with pytest.raises(DraftError, match="not a portal slug"):
        draft_blank(platform_engine, "Not A Slug", name="x")
    with pytest.raises(DraftError, match="no portal.yaml"):
        create_draft_without_root(platform_engine)


def create_draft_without_root(engine: sa.Engine) -> None:
    draft_from_bundle(engine, Bundle.of({"a.yaml": "x: 1\n"}), name="x", origin="test")


def test_create_draft_stores_revision_one(platform_engine: sa.Engine) -> None:
    bundle = Bundle.of({"portal.yaml": "portal: demo-one\n"})
    draft = create_draft(platform_engine, "demo-one", bundle, name="d", origin="test")
    assert revisions(platform_engine, draft.id)[0].message == "created from test"
