"""/profile/sessions: the user's live sessions, with a way to end one or all the others."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from flask import flash, request

from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.data.tables import utcnow

from ..context import sign_out, state
from ..forms.account import SessionActionForm
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..sessions import end_user_sessions, revoke_by_prefix, user_sessions
from ..templating import gettext as _
from .common import ViewResult, audit_auth, current_secret, login_redirect, render, see_other

#: (pattern, name) pairs, most specific first: a readable name for a User-Agent.
_BROWSERS = (
    (r"Edg(?:e|A|iOS)?/", "Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Safari/", "Safari"),
    (r"curl/", "curl"),
)
_SYSTEMS = (
    (r"iPhone|iPad|iPod", "iOS"),
    (r"Android", "Android"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux", "Linux"),
)


def describe_agent(agent: str | None) -> tuple[str, str]:
    """(browser, system) named from a User-Agent, e.g. ("Firefox", "Linux"); "" if unknown."""
    if not agent:
        return "", ""
    browser = next((name for pat, name in _BROWSERS if re.search(pat, agent)), "")
    system = next((name for pat, name in _SYSTEMS if re.search(pat, agent)), "")
    return browser, system


def session_prefix(secret: str | None) -> str:
    """The id prefix the session list shows for a session secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16] if secret else ""


def sessions_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: the list. POST `action=revoke` with `session=<id>`, or `action=revoke_others`."""
    if not actor.is_authenticated or actor.id is None:
        return login_redirect()
    secret = current_secret()
    current = session_prefix(secret)
    email = actor.email or None
    if request.method == "POST":
        form = SessionActionForm(request.form)
        action, target = form.action.data, form.session.data
        if action == "revoke_others":
            with begin_write(state().engine) as conn:
                count = end_user_sessions(conn, portal.slug, actor.id, keep=secret)
                audit_auth(conn, portal, "session_revoked", user_id=actor.id, email=email,
                           scope="others", count=count)  # fmt: skip
            flash(_("Signed out %(n)s other session(s).", n=count), "success")
        elif action == "revoke" and target == current:
            sign_out(
                lambda conn: audit_auth(conn, portal, "session_revoked", user_id=actor.id,
                                        email=email, scope="current", session=current)
            )  # fmt: skip
            flash(_("You have been signed out."), "success")
            return see_other("/login")
        elif action == "revoke":
            with begin_write(state().engine) as conn:
                ended = revoke_by_prefix(conn, portal.slug, actor.id, target[:16])
                if ended:
                    audit_auth(conn, portal, "session_revoked", user_id=actor.id, email=email,
                               scope="one", session=target[:16])  # fmt: skip
            if ended:
                flash(_("The session has been signed out."), "success")
            else:
                flash(_("That session had already ended."), "warning")
        return see_other("/profile/sessions")
    idle = timedelta(minutes=portal.compiled.model.auth.idle_minutes)
    now = utcnow()
    with read_connection(state().engine) as conn:
        live = [s for s in user_sessions(conn, portal.slug, actor.id) if s.last_seen + idle > now]
    rows = [
        {"info": s, "current": s.id == current, "device": describe_agent(s.user_agent)}
        for s in live
    ]
    rows.sort(key=lambda r: not r["current"])
    return render("auth/sessions.html", sessions=rows)
