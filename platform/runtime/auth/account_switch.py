"""The account switcher: a user who belongs to several accounts chooses the active one.

The header shows a small form (a labelled `<select>` and a button, no script) to users with
two or more memberships; `POST /account/switch` with `account=<id>` makes that account the
active one for the rest of the session (`active_account`), records it in the audit log and
goes to the portal's home page (the page the user was on may show the previous account's
records). An account the user does not belong to answers 404, like a record they may not see.
"""

from __future__ import annotations

from flask import Flask, abort, flash, render_template, request, session
from markupsafe import Markup

from portalis.engine.accounts.memberships import Membership, user_memberships
from portalis.engine.data.permissions import Actor

from ..active_account import SESSION_KEY
from ..context import current_session_user, request_portal, state
from ..forms.account import AccountSwitchForm
from ..registry import RuntimePortal
from ..request_db import read_connection, write_transaction
from ..templating import gettext as _
from .common import ViewResult, audit_auth, login_redirect, see_other


def init_app(app: Flask) -> None:
    """Offer `account_switcher(actor)` to every template (the layout shows it in the header)."""
    app.context_processor(lambda: {"account_switcher": account_switcher})


def memberships_of(portal: RuntimePortal, actor: Actor) -> list[Membership]:
    """The signed-in user's accounts (home first); empty for visitors."""
    if actor.id is None:
        return []
    with read_connection(state().engine) as conn:
        return user_memberships(conn, portal.compiled, actor.id)


def account_switcher(actor: Actor) -> Markup:
    """The header's switcher for this request (empty for users of at most one account)."""
    portal = request_portal()
    user = current_session_user()
    if portal is None or user is None or user.accounts < 2 or user.id != actor.id:
        return Markup("")
    options = memberships_of(portal, actor)
    if len(options) < 2:
        return Markup("")
    return Markup(
        render_template("auth/_account_switch.html", options=options, active=actor.account)
    )


def account_switch_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """POST: make one of the user's accounts the active one (404 for any other account)."""
    if not actor.is_authenticated:
        return login_redirect()
    form = AccountSwitchForm(request.form)
    wanted = form.account.data
    user = current_session_user()
    if wanted is None or user is None:
        abort(404)
    chosen = next((m for m in memberships_of(portal, actor) if m.account == wanted), None)
    if chosen is None:
        abort(404)
    if wanted == user.account:
        session.pop(SESSION_KEY, None)
    else:
        session[SESSION_KEY] = wanted
    with write_transaction(state().engine) as conn:
        audit_auth(conn, portal, "account_switch", user_id=actor.id, email=actor.email or None,
                   account=wanted, previous=actor.account)  # fmt: skip
    flash(_("You are now working in %(account)s.", account=chosen.name), "success")
    return see_other("/")
