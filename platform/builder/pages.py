"""The builder's pages: the start page (portals the account may view) and a portal's page.

A portal the account holds no right on does not exist for it (404, the same as an unknown
slug); a portal page also obeys the portal's request guards (`guards`), so a portal's
`builder` network allow-list keeps its builder pages to those networks (403). Viewing a
portal's page is audited.
"""

from __future__ import annotations

from flask import abort, render_template

from portalis.engine.data.db import begin_write
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from . import audit
from .guards import guards_allow
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
    return render_template(
        "builder/start.html", portals=visible, reachable=reachable, title=_("Portals")
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
    return render_template(
        "builder/portal.html",
        portal=found[0],
        versions=portal_versions(slug),
        can_edit=EDIT in rights,
        can_publish=PUBLISH in rights,
        title=slug,
    )
