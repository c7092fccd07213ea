"""The notifications page, the bell in the header and the e-mail preferences.

`/notifications` lists the signed-in user's notifications (newest first, unread ones
highlighted, paged) with the e-mail preferences below; `POST /notifications/<id>/read` marks
one read and opens its page; `POST /notifications/read-all` marks every one read;
`POST /notifications/preferences` turns e-mail on or off per notification of the portal.
Every query is bound to the signed-in user: another user's notification id is a 404.

The bell is filled lazily: the layout calls `notification_bell()` for signed-in users. Its
number comes with the session check (the unread counter kept with every notification write,
`engine.outbox.inbox`), so it costs no query of its own; only right after a sign-in in the
same request is it counted.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, flash, g, redirect, request
from werkzeug.wrappers import Response

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.flow_model import NotificationTemplate
from portalis.engine.outbox import notify

from .auth.common import ViewResult, login_redirect, render, see_other
from .context import current_actor, current_session_user, state
from .forms.account import NotificationBackForm, NotificationPreferencesForm
from .registry import RuntimePortal
from .request_db import read_connection, write_transaction
from .security import safe_next
from .templating import gettext as _
from .templating import label, ngettext
from .urls import portal_url

log = logging.getLogger("portalis.runtime")
#: Notifications per page of the list.
PAGE_SIZE = 20
#: Counts above this show as "99+" in the badge.
BADGE_MAX = 99
_BELL_CACHE = "_portalis_bell"


def init_app(app: Flask) -> None:
    """Offer `notification_bell()` to every template (the layout shows it in the header)."""
    app.context_processor(lambda: {"notification_bell": notification_bell})


def notification_bell() -> dict[str, Any] | None:
    """The bell for this request: unread count, badge text, URL and an accessible label;
    None for visitors and outside a portal. No query of its own (the count came with the
    session) but right after a sign-in in this request."""
    portal = g.get("portal")
    actor = current_actor() if portal is not None else None
    if portal is None or actor is None or actor.id is None:
        return None
    cached: dict[str, Any] | None = g.get(_BELL_CACHE)
    if cached is None:
        user = current_session_user()
        count = user.unread if user is not None and user.id == actor.id else None
        if count is None:
            try:
                with read_connection(state().engine) as conn:
                    count = notify.unread_count(conn, portal=portal.slug, user_id=actor.id)
            except sa.exc.SQLAlchemyError:
                # the bell must never take a page (or an error page) down with it
                log.warning("cannot count unread notifications", exc_info=True)
                return None
        cached = _remember_bell(count)
    return cached


def _remember_bell(count: int) -> dict[str, Any]:
    """The bell for `count` unread notifications, kept for the rest of the request."""
    if count:
        text = ngettext("Notifications, %(num)s unread", "Notifications, %(num)s unread", count)
    else:
        text = _("Notifications")
    bell = {
        "count": count,
        "badge": f"{BADGE_MAX}+" if count > BADGE_MAX else str(count),
        "label": text,
        "url": portal_url("/notifications"),
    }
    setattr(g, _BELL_CACHE, bell)
    return bell


def emailed_kinds(portal: RuntimePortal) -> list[NotificationTemplate]:
    """The portal's notifications that send e-mail (the ones a user may turn off)."""
    return [n for n in portal.compiled.model.notifications.values() if n.email]


def notifications_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: the user's notifications, newest first, with paging and the preferences form."""
    if actor.id is None:
        return login_redirect()
    try:
        page = max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    with read_connection(state().engine) as conn:
        total = notify.count_for(conn, portal=portal.slug, user_id=actor.id)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(page, pages)
        items = notify.list_for(
            conn, portal=portal.slug, user_id=actor.id,
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
        )  # fmt: skip
        unread = notify.unread_count(conn, portal=portal.slug, user_id=actor.id)
        prefs = notify.get_prefs(conn, portal=portal.slug, user_id=actor.id)
    _remember_bell(unread)  # the header's bell shows the same number: no second count
    kinds = [
        {"name": n.name, "label": label(n.label, n.name), "email": prefs.get(n.name, True)}
        for n in emailed_kinds(portal)
    ]
    rows = [
        {
            "item": item,
            "url": portal_url(item.link) if item.link and _safe_link(item.link) else None,
            "label": _kind_label(portal, item.kind),
        }
        for item in items
    ]
    return render(
        "notifications/index.html",
        items=rows, unread=unread, total=total, page=page, pages=pages, kinds=kinds,
        title=_("Notifications"),
    )  # fmt: skip


def read_view(portal: RuntimePortal, actor: Actor, id: int) -> Response:
    """POST: mark one notification read, then open its page (or come back with `stay`)."""
    if actor.id is None:
        return login_redirect()
    with write_transaction(state().engine) as conn:
        item = notify.get(conn, portal=portal.slug, user_id=actor.id, notification_id=id)
        if item is None:
            abort(404)
        notify.mark_read(conn, portal=portal.slug, user_id=actor.id, ids=[item.id])
    back = NotificationBackForm(request.form)
    if back.stay.data or not item.link or not _safe_link(item.link):
        return _back_to_list(back)
    # stored links are paths the engine built; still, never leave the portal
    return redirect(safe_next(portal_url(item.link), str(g.get("portal_prefix", ""))), 303)


def read_all_view(portal: RuntimePortal, actor: Actor) -> Response:
    """POST: mark every notification of the user read."""
    if actor.id is None:
        return login_redirect()
    with write_transaction(state().engine) as conn:
        count = notify.mark_read(conn, portal=portal.slug, user_id=actor.id)
    if count:
        flash(ngettext("Marked %(num)s notification as read.",
                       "Marked %(num)s notifications as read.", count), "success")  # fmt: skip
    return see_other("/notifications")


def preferences_view(portal: RuntimePortal, actor: Actor) -> Response:
    """POST: e-mail on (`email_<kind>` checked) or off for each e-mailed notification."""
    if actor.id is None:
        return login_redirect()
    chosen = set(NotificationPreferencesForm(request.form).email.data or ())
    with write_transaction(state().engine) as conn:
        for kind in emailed_kinds(portal):
            notify.set_pref(
                conn, portal=portal.slug, user_id=actor.id, kind=kind.name,
                email=kind.name in chosen,
            )  # fmt: skip
    flash(_("Your notification settings have been saved."), "success")
    return redirect(portal_url("/notifications") + "#preferences", 303)


def _back_to_list(back: NotificationBackForm) -> Response:
    page = str(back.page.data or "")
    return see_other("/notifications", page=page if page.isdigit() and page != "1" else None)


def _safe_link(link: str) -> bool:
    """Only portal-relative paths are followed (never another site, `//host` included)."""
    return link.startswith("/") and not link.startswith(("//", "/\\"))


def _kind_label(portal: RuntimePortal, kind: str) -> str:
    spec = portal.compiled.model.notifications.get(kind)
    return label(spec.label, kind) if spec is not None else kind


#: `sys:*` endpoint → view (see `routing.SYSTEM_ROUTES`).
VIEWS: dict[str, Any] = {
    "sys:notifications": notifications_view,
    "sys:notification_read": read_view,
    "sys:notifications_read_all": read_all_view,
    "sys:notification_prefs": preferences_view,
}
