"""View as: `/_builder/p/<slug>/view-as` — the live portal exactly as one of its users sees it.

Only a builder account with the `publish` right on the portal may view as (it shows real
users' data; publishing is the right that already answers for everything the portal shows).
`view-as` lists the portal's active users; choosing one starts a session of at most
`MINUTES` minutes kept in the builder's own session (never a portal session: no session
record, no sign-in, `last_login_at` untouched). `view-as/<slug>/…` serves the live portal
read-only through an inner runtime application sharing the live database and compiled
portals (`mount`), on builder URLs: every POST/PUT/PATCH/DELETE is refused with 403 (a page,
or problem+json on API paths) before the portal sees it — so nothing is marked read and no
record changes. A banner with "Stop" and the "why?" panel are on every page. Start, stop,
expiry and every page viewed are audited.
"""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Flask,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from portalis.engine.accounts.users import list_users
from portalis.engine.data.db import begin_write
from portalis.runtime.context import state
from portalis.runtime.security import csrf_token
from portalis.runtime.templating import gettext as _

from .. import audit
from ..guards import guards_allow
from ..rights import PUBLISH
from ..session import current_account
from .mount import ACTOR_KEY, OVERLAY_KEY, READ_ONLY_KEY, SAFE_METHODS, Overlay, forward, inner_app

#: How long one view-as session lasts.
MINUTES = 15
_KEY = "builder_view_as"
_APP_KEY = "builder_view_as_app"


def prefix_of(slug: str) -> str:
    """The URL prefix view-as serves a portal under."""
    return f"/_builder/p/{slug}/view-as"


def _allowed(slug: str) -> Any:
    account = current_account()
    if account is None or not account.rights.can(slug, PUBLISH):
        abort(404)
    portal = state().registry.get(slug)
    if portal is None:
        abort(404)
    if not guards_allow(portal, "view-as"):
        abort(403)
    return account, portal


def _app() -> Flask:
    st = state()
    app: Flask | None = st.extra.get(_APP_KEY)
    if app is None:
        app = inner_app(st, st.engine, prefix="/_builder/p/", share_registry=True)
        st.extra[_APP_KEY] = app
    return app


def _users(portal: Any) -> list[dict[str, Any]]:
    with state().engine.connect() as conn:
        users = list_users(conn, portal.compiled)
    active = [
        {"id": u.id, "email": u.email, "name": u.name, "roles": list(u.roles)}
        for u in users
        if u.is_active
    ]
    return sorted(active, key=lambda u: str(u["email"]))


def start_view(slug: str) -> Any:
    """`view-as`: pick a user (GET), start viewing as them (POST)."""
    account, portal = _allowed(slug)
    users = _users(portal)
    if request.method == "POST":
        raw = str(request.form.get("user", ""))
        chosen = next((u for u in users if raw.isdigit() and u["id"] == int(raw)), None)
        if chosen is None:
            abort(400)
        session[_KEY] = {
            "portal": slug,
            "user": chosen["id"],
            "who": chosen["email"],
            "until": time.time() + MINUTES * 60,
        }
        with begin_write(state().engine) as conn:
            audit.record_by(
                conn,
                "view_as_started",
                account,
                portal=slug,
                user=chosen["id"],
                user_email=chosen["email"],
            )
        return redirect(f"{prefix_of(slug)}/{slug}/", 303)
    return render_template(
        "builder/preview_view_as.html", slug=slug, users=users, minutes=MINUTES, title=_("View as")
    )


def stop_view(slug: str) -> Any:
    """`view-as/stop` (POST): end the view-as session."""
    account, _portal = _allowed(slug)
    current = session.pop(_KEY, None)
    if current is not None:
        with begin_write(state().engine) as conn:
            audit.record_by(conn, "view_as_stopped", account, portal=slug, user=current.get("user"))
    return redirect(url_for("builder.view_as_start", slug=slug), 303)


def refused() -> Response:
    """A refused write: problem+json on API paths, else a page saying why."""
    message = _("View as is read-only: nothing can be changed here.")
    if "/api/" in request.path or request.accept_mimetypes.best == "application/problem+json":
        body = jsonify(
            type="about:blank",
            title="Forbidden",
            status=403,
            code="view-as-read-only",
            detail=message,
        )
        body.status_code = 403
        body.mimetype = "application/problem+json"
        return body
    page = render_template("builder/preview_refused.html", message=message, title=_("Read-only"))
    return Response(page, 403, mimetype="text/html")


def page_view(slug: str, rest: str) -> Response:
    """`view-as/<slug>/…`: the live portal as the chosen user, read-only."""
    if request.method not in SAFE_METHODS:
        # before anything else: no right, no session, no portal sees a write through here
        return refused()
    account, _portal = _allowed(slug)
    if not (rest == slug or rest.startswith(slug + "/") or rest.startswith("_static/")):
        abort(404)
    current = session.get(_KEY)
    if not isinstance(current, dict) or current.get("portal") != slug:
        return redirect(url_for("builder.view_as_start", slug=slug), 303)
    if time.time() > float(current.get("until", 0)):
        session.pop(_KEY, None)
        with begin_write(state().engine) as conn:
            audit.record_by(conn, "view_as_expired", account, portal=slug, user=current.get("user"))
        return redirect(url_for("builder.view_as_start", slug=slug), 303)
    until = time.strftime("%H:%M", time.localtime(float(current["until"])))
    overlay = Overlay(
        "view-as", _("Viewing as %(who)s (read-only)", who=current["who"]),
        url_for("builder.view_as_start", slug=slug), url_for("builder.view_as_stop", slug=slug),
        csrf_token(), until,
    )  # fmt: skip
    extra = {ACTOR_KEY: ("user", current["user"]), OVERLAY_KEY: overlay, READ_ONLY_KEY: True}
    response = forward(_app(), prefix_of(slug), rest, extra)
    if not rest.startswith("_static/") and response.mimetype == "text/html":
        with begin_write(state().engine) as conn:
            audit.record_by(
                conn,
                "view_as_page",
                account,
                portal=slug,
                user=current["user"],
                path="/" + rest,
                status=response.status_code,
            )
    return response
