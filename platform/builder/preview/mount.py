"""Serving a portal inside the builder: a second runtime application under a builder prefix.

A preview (of a draft, on its scratch database) or a view-as session (on the live database)
is served by a runtime application of its own (`create_app`, the same plugins and settings)
called as a WSGI application with `SCRIPT_NAME` set to the builder prefix: the dispatcher
puts the script root in front of the portal prefix, so every link the runtime builds stays
under that prefix. The outer builder request decides who the portal sees and passes it in
the WSGI environ (never as a session: no session record, no sign-in, no `last_login_at`):

- `ACTOR_KEY`: `("user", id)`, `("role", role, account id or None)` or `("anonymous",)`;
- `OVERLAY_KEY`: the banner's data (`Overlay`), drawn on every page by the runtime layout's
  page overlay (`portalis.runtime.templating.OVERLAY`), with the "why?" panel (`why`);
- `READ_ONLY_KEY`: refuse every state-changing method (view-as).

Inside the inner application `request.path` is the path the browser asked for (the
prefix included): the runtime's templates and redirects build links from it (list sorting,
a form's action, the sign-in's `next`), and those links must stay under the prefix too.

The inner application keeps its cookie session (CSRF secret, language) in its own cookie,
scoped to the prefix, so it never touches the builder's session.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, g, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask.wrappers import Request
from markupsafe import Markup
from werkzeug.wrappers import Response

from portalis.engine.accounts.users import SessionUser, user_by_id
from portalis.engine.data.permissions import Actor
from portalis.runtime.app import create_app
from portalis.runtime.context import AppState, PortalUser, state
from portalis.runtime.templating import OVERLAY

from .why import why_panel

ACTOR_KEY = "portalis.builder.actor"
OVERLAY_KEY = "portalis.builder.overlay"
READ_ONLY_KEY = "portalis.builder.read_only"
#: Methods a read-only (view-as) request may use.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Overlay:
    """What the banner says and offers; `stop_url` and `csrf` for view-as's stop button."""

    kind: str
    text: str
    change_url: str
    stop_url: str | None = None
    csrf: str | None = None
    until: str | None = None


class MountedRequest(Request):
    """A request whose `path` (and `full_path`) includes the mount prefix."""

    def __init__(self, environ: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(environ, *args, **kwargs)
        self.path = self.root_path + self.path


def inner_app(st: AppState, engine: sa.Engine, *, prefix: str, share_registry: bool) -> Flask:
    """A runtime application on `engine` mounted at `prefix`, with the settings and
    plugins of the outer app's state `st` (no embedded worker; `share_registry`: serve the
    outer app's compiled portals instead of compiling them again)."""
    settings = dataclasses.replace(st.settings, worker="off")
    app = create_app(settings, pm=st.pm, engine=engine)
    if share_registry:
        app.extensions["portalis"].registry = st.registry
    app.config.update(
        SESSION_COOKIE_NAME="portalis-preview",
        SESSION_COOKIE_PATH=prefix.rstrip("/") + "/",
    )
    # every inner path is under the builder's prefix: one cookie, not the builder's
    app.session_interface = SecureCookieSessionInterface()
    app.request_class = MountedRequest
    app.before_request(_act_as)
    app.extensions[OVERLAY] = _overlay
    return app


def forward(app: Flask, prefix: str, path: str, extra: Mapping[str, Any]) -> Response:
    """Serve the current request's `path` with the inner `app` mounted at `prefix`."""
    environ = {k: v for k, v in request.environ.items() if not k.startswith("werkzeug.")}
    environ["SCRIPT_NAME"] = prefix.rstrip("/")
    environ["PATH_INFO"] = "/" + path.lstrip("/")
    environ.update(extra)
    return Response.from_app(app, environ, buffered=True)


def _act_as() -> None:
    """Before every inner request: refuse writes when read-only, and make the chosen
    actor the request's user (Flask-Login's `g._login_user`, the runtime's `g.actor`)."""
    if request.environ.get(READ_ONLY_KEY) and request.method not in SAFE_METHODS:
        abort(403)
    chosen = request.environ.get(ACTOR_KEY)
    slug = str(request.environ.get("PATH_INFO", "")).strip("/").partition("/")[0]
    portal = state().registry.get(slug)
    if chosen is None or portal is None:
        return
    model = portal.compiled.model
    if chosen[0] == "user":
        with state().engine.connect() as conn:
            row = user_by_id(conn, portal.compiled, int(chosen[1]))
        if row is None or not row["is_active"]:
            return
        actor = Actor.for_user(
            model, int(row["id"]), row["account"], row["roles"] or (),
            email=row["email"], name=row["name"], locale=row["locale"],
        )  # fmt: skip
    elif chosen[0] == "role":
        roles = frozenset({str(chosen[1])})
        # user id 0 belongs to nobody: signed in, but `own`/`self` scopes match no record
        actor = Actor.for_user(model, 0, chosen[2], roles, name=str(chosen[1]))
        row = {
            "id": 0, "email": "", "name": str(chosen[1]), "account": chosen[2],
            "roles": sorted(roles), "locale": None, "is_active": True,
            "password_hash": None, "password_changed_at": None,
        }  # fmt: skip
    else:
        return
    g.actor = actor.with_ip(request.remote_addr)
    # the secret names no session record: signing out or listing sessions finds none
    # (the bell's count is read separately: `unread` None, as for a row not read with a session)
    g._login_user = PortalUser(slug, "builder-preview", actor, SessionUser.of_row(row), dict(row))


def _overlay() -> Markup:
    """The banner and "why?" panel of an inner page (empty outside the builder's mounts)."""
    overlay = request.environ.get(OVERLAY_KEY)
    if not isinstance(overlay, Overlay):
        return Markup("")
    portal = g.get("portal")
    panel = why_panel(portal) if portal is not None else None
    return Markup(render_template("builder/preview_overlay.html", overlay=overlay, why=panel))
