"""The builder's pages: the start page (portals the account may view, new portals' drafts) and a
portal's page (versions with their actions, open drafts with their problem counts).

A portal the account holds no right on does not exist for it (404, the same as an unknown
slug); a portal page also obeys the portal's request guards (`guards`), so a portal's
`builder` network allow-list keeps its builder pages to those networks (403). Viewing a
portal's page is audited.
"""

from __future__ import annotations

from flask import abort, render_template

from portalis.engine import drafts
from portalis.engine.data.db import begin_write
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from . import audit
from .draft_access import author_names, revision_problems
from .guards import guards_allow
from .new_portal import may_create
from .portals import portal_versions, summaries
from .rights import EDIT, PUBLISH, VIEW
from .session import current_account


def start_view() -> str:
    """`/_builder/`: the portals this account may view, with live version and problems."""
    account = current_account()
    assert account is not None  # the blueprint signs everyone else in first
    mine = summaries()
    visible = [s for s in mine if account.rights.can(s.slug, VIEW)]
    registry = state().registry
    reachable = {s.slug for s in visible if guards_allow(registry.get(s.slug), "")}
    live = {s.slug for s in mine}
    unpublished = [
        d
        for d in drafts.list_drafts(state().engine)
        if d.portal not in live and account.rights.can(d.portal, VIEW)
    ]
    return render_template(
        "builder/start.html",
        portals=visible,
        reachable=reachable,
        unpublished=unpublished,
        may_create=may_create(account),
        title=_("Portals"),
    )


def portal_view(slug: str) -> str:
    """`/_builder/p/<slug>/`: the portal's overview (its versions with notes and times)."""
    account = current_account()
    assert account is not None
    if not account.rights.can(slug, VIEW):
        abort(404)
    found = summaries({slug})
    if not found:
        abort(404)
    if not guards_allow(state().registry.get(slug), ""):
        with begin_write(state().engine) as conn:
            audit.record_by(conn, "refused_by_guard", account, portal=slug)
        abort(403)
    with begin_write(state().engine) as conn:
        audit.record_by(conn, "portal_viewed", account, portal=slug)
    rights = account.rights.of(slug)
    engine = state().engine
    open_drafts = drafts.list_drafts(engine, slug)
    # a published draft stays open (it may be edited and published again): say which
    # revision went live as which version, so it is not mistaken for unpublished work
    published = {d.id: drafts.publications(engine, d.id)[-1:] for d in open_drafts}
    return render_template(
        "builder/portal.html",
        portal=found[0],
        versions=portal_versions(slug),
        drafts=[(d, revision_problems(d, d.head)) for d in open_drafts],
        names=author_names(d.created_by for d in open_drafts),
        published={k: v[0] for k, v in published.items() if v},
        can_edit=EDIT in rights,
        can_publish=PUBLISH in rights,
        title=slug,
    )
