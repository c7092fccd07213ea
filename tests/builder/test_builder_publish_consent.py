"""Consent on the plan page is bound to the plan it showed: the page carries the plan's
fingerprint, and a publish whose plan changed since — another version published, rows added
that a destructive step removes — shows the new plan and publishes nothing (SQLite and
PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from builder_support import BuilderBrowser
from test_builder_publishing import _PLAN, _TOKEN, _amount_dropped, _publisher, _shown

from portalis.engine import drafts
from portalis.engine.definition.yamledit import BundleEdit
from portalis.engine.deploy.versions import live_versions
from portalis.testing.web import WebPortal, session_csrf

TICKETS = "p_acme_support__ticket"
CHANGED = "The plan changed since you saw it"


def _amounts(web: WebPortal) -> int:
    with web.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(amount) FROM {TICKETS}")).scalar_one())


def test_rows_added_after_the_plan_was_shown_refuse_the_publish(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    _, base = _amount_dropped(web, browser)
    plan = browser.get(f"{base}/plan").text
    assert "drop field ticket.amount: 1 value <code" in plan
    with web.engine.begin() as conn:  # meanwhile, customers enter amounts
        conn.execute(sa.text(f"UPDATE {TICKETS} SET amount = 12, amount_currency = 'EUR'"))
    form = {"csrf_token": session_csrf(browser.client, browser.app, "/_builder/"), "revision": "2",
            "consent": _TOKEN.findall(plan), "plan": _PLAN.findall(plan)[0]}  # fmt: skip
    refused = browser.client.post(f"{base}/publish", data=form)
    assert refused.status_code == 409 and CHANGED in refused.text
    count = _amounts(web)
    assert f"drop field ticket.amount: {count} values <code" in refused.text  # the new plan
    assert live_versions(web.engine)[web.slug] == 1 and count > 1  # nothing published
    page = refused.get_data(as_text=True)
    again = {**form, "consent": _TOKEN.findall(page), "plan": _PLAN.findall(page)[0]}
    done = browser.client.post(f"{base}/publish", data=again)
    assert done.status_code == 303 and live_versions(web.engine)[web.slug] == 2


def test_another_version_published_after_the_plan_was_shown_refuses_the_publish(
    web: WebPortal, browser: BuilderBrowser
) -> None:
    _publisher(web, browser)
    first = drafts.draft_from_live(web.engine, web.slug, name="first")
    shown = _shown(browser, web.slug, first.id)  # no schema change against version 1
    second = drafts.draft_from_live(web.engine, web.slug, name="second")
    field = {"type": "string", "label": {"en": "Contract", "de": "Vertrag", "fr": "Contrat",
                                         "es": "Contrato"}}  # fmt: skip
    edit = BundleEdit(drafts.revision_bundle(web.engine, second.id))
    result = edit.set("entities.ticket.fields.contract_number", field).result()
    drafts.save(web.engine, second.id, 1, {p: result.files[p] for p in result.changed})
    published = browser.post(f"/_builder/p/{web.slug}/d/{second.id}/publish", revision="2",
                             plan=_shown(browser, web.slug, second.id))  # fmt: skip
    assert published.status_code == 303 and live_versions(web.engine)[web.slug] == 2
    refused = browser.post(f"/_builder/p/{web.slug}/d/{first.id}/publish", revision="1",
                           replace_newer="yes", plan=shown)  # fmt: skip
    assert refused.status_code == 409 and CHANGED in refused.text
    assert "drop field ticket.contract_number: 0 values" in refused.text  # the plan now
    assert live_versions(web.engine)[web.slug] == 2
    missing = browser.post(f"/_builder/p/{web.slug}/d/{first.id}/publish", revision="1",
                           replace_newer="yes")  # fmt: skip
    assert missing.status_code == 409 and live_versions(web.engine)[web.slug] == 2
