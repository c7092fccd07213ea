"""New portals, plan, publish, rollback and history in the builder: a fork of a blueprint
published and served, consent required for destructive steps, a draft behind the live
version, rollback, version zips byte-identical to `portalis export`, version diffs — with
their audit entries (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import sqlalchemy as sa
from builder_support import BuilderBrowser, add_account, audit_actions

from portalis.engine import drafts
from portalis.engine.definition.yamledit import BundleEdit, YamlText
from portalis.engine.deploy.versions import export, list_versions, live_versions
from portalis.testing.web import WebPortal, session_csrf

EMAIL = "publisher@example.test"
_TOKEN = re.compile(r'name="consent" value="([0-9a-f]+)"')
_PLAN = re.compile(r'name="plan" value="([0-9a-f]+)"')


def _shown(browser: BuilderBrowser, slug: str, draft: int) -> str:
    """The fingerprint of the plan the plan page shows (what a publish binds consent to)."""
    found = _PLAN.search(browser.get(f"/_builder/p/{slug}/d/{draft}/plan").text)
    assert found, "no plan fingerprint on the plan page"
    return found.group(1)


def _publisher(web: WebPortal, browser: BuilderBrowser, portals: tuple[str, ...] = ("*",)) -> int:
    account = add_account(web.engine, EMAIL, portals=portals, rights=("publish",))
    browser.sign_in(EMAIL)
    return account


def _drop_amount(engine: sa.Engine, draft: drafts.DraftInfo) -> None:
    """Remove ticket.amount (one seeded ticket has a value) from the draft."""
    edit = BundleEdit(drafts.revision_bundle(engine, draft.id)).delete(
        "entities.ticket.fields.amount"
    )
    edit.set("pages.new_ticket.blocks.0.form.fields", ["subject", "body", "priority", "due"])
    seed = edit.result().files["seed/demo.yaml"]
    edit.set_file(
        "seed/demo.yaml", YamlText(seed, "seed").delete(("records", "ticket", 0, "amount"))
    )
    result = edit.result()
    changes: dict[str, str | None] = {p: result.files[p] for p in result.changed}
    drafts.save(engine, draft.id, draft.head, changes, message="drop amount")


def _amount_dropped(web: WebPortal, browser: BuilderBrowser) -> tuple[drafts.DraftInfo, str]:
    """A publisher signed in and a draft without ticket.amount; the draft and its URL."""
    _publisher(web, browser, (web.slug,))
    draft = drafts.draft_from_live(web.engine, web.slug, name="drop amount")
    _drop_amount(web.engine, draft)
    return draft, f"/_builder/p/{web.slug}/d/{draft.id}"


def test_fork_a_blueprint_and_publish_it_as_a_new_portal(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    _publisher(web, browser)
    start = browser.get("/_builder/")
    assert 'href="/_builder/new"' in start.text
    form = browser.get("/_builder/new")
    assert form.status_code == 200 and '<option value="b2c"' in form.text
    taken = browser.post("/_builder/new", source="blueprint", blueprint="b2c", slug=web.slug)
    assert taken.status_code == 400 and "exists already" in taken.text
    bad = browser.post("/_builder/new", source="blueprint", blueprint="b2c", slug="No Slug")
    assert bad.status_code == 400 and "is not a portal slug" in bad.text

    made = browser.post(
        "/_builder/new", source="blueprint", blueprint="b2c", slug="acme-two", name="launch"
    )
    assert made.status_code == 303, made.text
    draft = drafts.list_drafts(web.engine, "acme-two")[0]
    assert (draft.origin, draft.base_version) == ("blueprint b2c", None)
    assert made.headers["Location"].endswith(f"/_builder/p/acme-two/d/{draft.id}/")
    assert f'data-draft="{draft.id}"' in browser.get("/_builder/").text  # not yet published
    assert browser.get(f"/_builder/p/acme-two/d/{draft.id}/").status_code == 200

    plan = browser.get(f"/_builder/p/acme-two/d/{draft.id}/plan")
    assert plan.status_code == 200 and plan.mimetype == "text/html"
    assert "Additive steps" in plan.text
    assert "create table p_acme_two__ticket" in plan.text and "Destructive" not in plan.text
    published = browser.post(
        f"/_builder/p/acme-two/d/{draft.id}/publish",
        revision="1",
        note="first launch",
        plan=_PLAN.findall(plan.text)[0],
    )
    assert published.status_code == 303, published.text
    assert published.headers["Location"].endswith("/_builder/p/acme-two/")
    assert live_versions(web.engine)["acme-two"] == 1
    portal = browser.get("/_builder/p/acme-two/")
    assert 'data-version="1"' in portal.text and "first launch" in portal.text
    assert web.app.test_client().get("/acme-two/").status_code == 200
    assert audit_actions(web.engine, "acme-two") == [
        "builder_portal_created",
        "builder_published",
        "builder_portal_viewed",
    ]


def test_the_first_publish_of_a_new_portal_may_load_its_seed_data(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    _publisher(web, browser)
    browser.post("/_builder/new", source="blueprint", blueprint="b2c", slug="acme-seeded")
    draft = drafts.list_drafts(web.engine, "acme-seeded")[0]
    base = f"/_builder/p/acme-seeded/d/{draft.id}"
    assert 'name="seed" value="yes"' in browser.get(f"{base}/plan").text
    shown = _shown(browser, "acme-seeded", draft.id)
    published = browser.post(f"{base}/publish", revision="1", seed="yes", plan=shown)
    assert published.status_code == 303, published.text
    portal = browser.get("/_builder/p/acme-seeded/").text  # the draft stays, marked published
    assert f'data-draft="{draft.id}"' in portal
    assert "revision 1 published as version 1" in portal
    ben = web.app.test_client()
    signed_in = ben.post(
        "/acme-seeded/login",
        data={
            "email": "ben@acme.test",
            "password": "correct horse 44",
            "csrf_token": session_csrf(ben, web.app),
        },
    )
    assert signed_in.status_code == 303, signed_in.text
    assert "Cannot download my contract" in ben.get("/acme-seeded/tickets").text

    # never over live data: a later version is published without it, whatever is posted
    later = drafts.draft_from_live(web.engine, "acme-seeded", name="later")
    seed = drafts.revision_bundle(web.engine, later.id).files["seed/demo.yaml"]
    zoe = "  - {email: zoe@acme.test, name: Zoe, account: acme, roles: [customer]}\n"
    drafts.save(
        web.engine, later.id, 1, {"seed/demo.yaml": seed.replace("records:\n", zoe + "records:\n")}
    )
    plan = browser.get(f"/_builder/p/acme-seeded/d/{later.id}/plan").text
    assert 'name="seed"' not in plan
    again = browser.post(
        f"/_builder/p/acme-seeded/d/{later.id}/publish",
        revision="2",
        seed="yes",
        plan=_shown(browser, "acme-seeded", later.id),
    )
    assert again.status_code == 303, again.text
    assert live_versions(web.engine)["acme-seeded"] == 2
    with web.engine.connect() as conn:
        emails = conn.execute(sa.text("SELECT email FROM p_acme_seeded__user")).scalars().all()
    assert "ben@acme.test" in emails and "zoe@acme.test" not in emails


def test_a_blank_portal_and_a_zip_as_new_portals(web: WebPortal, browser: BuilderBrowser) -> None:
    _publisher(web, browser)
    blank = browser.post("/_builder/new", source="blank", slug="blank-one", title="Blank")
    assert blank.status_code == 303
    draft = drafts.list_drafts(web.engine, "blank-one")[0]
    assert (
        browser.post(
            f"/_builder/p/blank-one/d/{draft.id}/publish",
            revision="1",
            plan=_shown(browser, "blank-one", draft.id),
        ).status_code
        == 303
    )
    assert live_versions(web.engine)["blank-one"] == 1

    archive = browser.get("/_builder/p/blank-one/v/1/export.zip").data
    answer = browser.client.post(
        "/_builder/new",
        data={
            "csrf_token": session_csrf(browser.client, browser.app, "/_builder/"),
            "source": "zip",
            "slug": "blank-two",
            "archive": (io.BytesIO(archive), "blank.zip"),
        },
    )
    assert answer.status_code == 303, answer.text
    copy = drafts.list_drafts(web.engine, "blank-two")[0]
    assert "portal: blank-two" in drafts.revision_bundle(web.engine, copy.id).files["portal.yaml"]


def test_destructive_steps_need_consent_naming_the_data(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    draft, base = _amount_dropped(web, browser)
    plan = browser.get(f"{base}/plan")
    assert "drop field ticket.amount: 1 value <code" in plan.text
    tokens = _TOKEN.findall(plan.text)
    assert len(tokens) == 2  # amount and its currency column
    shown = _PLAN.findall(plan.text)[0]
    refused = browser.post(f"{base}/publish", revision="2", note="no consent", plan=shown)
    assert refused.status_code == 400 and "Tick every destructive step" in refused.text
    half = browser.client.post(
        f"{base}/publish",
        data={"csrf_token": session_csrf(browser.client, browser.app, "/_builder/"), "revision": "2",
              "consent": tokens[:1], "plan": shown},
    )  # fmt: skip
    assert half.status_code == 400
    assert live_versions(web.engine)[web.slug] == 1
    assert web.client().get("/").status_code == 200  # the live version keeps serving

    done = browser.client.post(
        f"{base}/publish",
        data={"csrf_token": session_csrf(browser.client, browser.app, "/_builder/"), "revision": "2",
              "consent": tokens, "note": "drop the amount", "plan": shown},
    )  # fmt: skip
    assert done.status_code == 303, done.text
    assert live_versions(web.engine)[web.slug] == 2
    assert list_versions(web.engine, web.slug)[-1].created_by == EMAIL
    assert drafts.publications(web.engine, draft.id)[0].version == 2
    assert audit_actions(web.engine, web.slug)[-1] == "builder_published"

    history = browser.get(f"/_builder/p/{web.slug}/v/diff?a=1&b=2")
    assert history.status_code == 200 and "data-model-changes" in history.text
    assert "amount" in history.text and '<del class="diff-remove">' in history.text

    # rollback: a confirmation with the plan, then version 1 is live again
    assert browser.get(f"/_builder/p/{web.slug}/v/1/rollback").status_code == 200
    unconfirmed = browser.post(f"/_builder/p/{web.slug}/v/1/rollback")
    assert unconfirmed.status_code == 400 and live_versions(web.engine)[web.slug] == 2
    back = browser.post(f"/_builder/p/{web.slug}/v/1/rollback", confirm="yes")
    assert back.status_code == 303 and live_versions(web.engine)[web.slug] == 1
    assert audit_actions(web.engine, web.slug)[-1] == "builder_rolled_back"
    page = browser.get(f"/_builder/p/{web.slug}/")
    assert re.search(
        r'data-version="1">\s*<th scope="row">1 <span class="badge badge-open">', page.text
    )


def test_a_draft_behind_the_live_version_offers_to_start_again_or_replace(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    _publisher(web, browser)
    first = drafts.draft_from_live(web.engine, web.slug, name="first")
    second = drafts.draft_from_live(web.engine, web.slug, name="second")
    for draft, currency in ((first, "GBP"), (second, "USD")):
        edit = BundleEdit(drafts.revision_bundle(web.engine, draft.id)).set("currency", currency)
        result = edit.result()
        drafts.save(web.engine, draft.id, 1, {p: result.files[p] for p in result.changed})
    assert (
        browser.post(
            f"/_builder/p/{web.slug}/d/{second.id}/publish",
            revision="2",
            plan=_shown(browser, web.slug, second.id),
        ).status_code
        == 303
    )
    shown = _shown(browser, web.slug, first.id)  # the plan of `first` against version 2
    outdated = browser.post(
        f"/_builder/p/{web.slug}/d/{first.id}/publish", revision="2", plan=shown
    )
    assert outdated.status_code == 409 and "A newer version is live" in outdated.text
    assert "New draft from version 2" in outdated.text
    assert live_versions(web.engine)[web.slug] == 2
    replaced = browser.post(
        f"/_builder/p/{web.slug}/d/{first.id}/publish",
        revision="2",
        replace_newer="yes",
        plan=shown,
    )
    assert replaced.status_code == 303 and live_versions(web.engine)[web.slug] == 3


def test_a_rollback_that_drops_data_needs_consent_too(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    _publisher(web, browser, (web.slug,))
    draft = drafts.draft_from_live(web.engine, web.slug, name="contract")
    edit = BundleEdit(drafts.revision_bundle(web.engine, draft.id))
    field = {"type": "string", "label": {"en": "Contract", "de": "Vertrag", "fr": "Contrat",
                                         "es": "Contrato"}}  # fmt: skip
    result = edit.set("entities.ticket.fields.contract_number", field).result()
    drafts.save(web.engine, draft.id, 1, {p: result.files[p] for p in result.changed})
    assert (
        browser.post(
            f"/_builder/p/{web.slug}/d/{draft.id}/publish",
            revision="2",
            plan=_shown(browser, web.slug, draft.id),
        ).status_code
        == 303
    )
    page = browser.get(f"/_builder/p/{web.slug}/v/1/rollback")
    assert "drop field ticket.contract_number: 0 values" in page.text
    tokens = _TOKEN.findall(page.text)
    assert len(tokens) == 1
    refused = browser.post(f"/_builder/p/{web.slug}/v/1/rollback", confirm="yes")
    assert refused.status_code == 400 and live_versions(web.engine)[web.slug] == 2
    done = browser.post(f"/_builder/p/{web.slug}/v/1/rollback", confirm="yes", consent=tokens[0])
    assert done.status_code == 303 and live_versions(web.engine)[web.slug] == 1


def test_a_draft_with_errors_is_not_published(web: WebPortal, browser: BuilderBrowser) -> None:
    _publisher(web, browser, (web.slug,))
    draft = drafts.draft_from_live(web.engine, web.slug, name="typo")
    edit = BundleEdit(drafts.revision_bundle(web.engine, draft.id))
    result = edit.set("entities.ticket.fields.subject.type", "strnig").result()
    drafts.save(web.engine, draft.id, 1, {p: result.files[p] for p in result.changed})
    plan = browser.get(f"/_builder/p/{web.slug}/d/{draft.id}/plan")
    assert "Fix the errors above" in plan.text and "Publish revision" not in plan.text
    refused = browser.post(f"/_builder/p/{web.slug}/d/{draft.id}/publish", revision="2")
    assert refused.status_code == 400 and "The draft has errors." in refused.text
    stale = browser.post(f"/_builder/p/{web.slug}/d/{draft.id}/publish", revision="1")
    assert stale.status_code == 409 and "The draft changed" in stale.text
    assert live_versions(web.engine)[web.slug] == 1
    assert web.client().get("/").status_code == 200


def test_a_version_zip_holds_exactly_what_portalis_export_writes(
    web: WebPortal, browser: BuilderBrowser, tmp_path: Path
) -> None:
    _publisher(web, browser, (web.slug,))
    answer = browser.get(f"/_builder/p/{web.slug}/v/1/export.zip")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    export(web.engine, web.slug, tmp_path / "out", 1)
    written = {
        str(p.relative_to(tmp_path / "out")): p.read_bytes()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file()
    }
    with zipfile.ZipFile(io.BytesIO(answer.data)) as archive:
        zipped = {name: archive.read(name) for name in archive.namelist()}
    assert zipped == written
    assert browser.get(f"/_builder/p/{web.slug}/v/7/export.zip").status_code == 404
    assert audit_actions(web.engine, web.slug)[-1] == "builder_version_exported"
