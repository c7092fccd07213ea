"""The builder's Flask blueprint at `/_builder/`, mounted by the runtime through the hook
`portalis_platform_blueprints` (the runtime never imports the builder).

Before every view: the UI language (the `?lang=` choice kept in the cookie session, else
the browser's, among the UI catalogs), the CSRF check of every state-changing request
(the runtime's Flask-WTF set-up: the same token field and header), and — for every page
but the sign-in steps and the static files — a signed-in builder account, else a redirect
to the builder's sign-in. A portal user's session is no builder session, and the builder
keeps its cookie session in a cookie of its own (`cookie`).
"""

from __future__ import annotations

from flask import Blueprint, Flask, g, redirect, request, session, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response

from portalis.runtime.i18n import UI_LOCALES, select_locale
from portalis.runtime.security import protect_request

from . import cookie, draft_pages, login, new_portal, pages, preview, publishing
from .editors import (
    entities,
    files,
    forms,
    navigation,
    permissions,
    roles,
    theme,
    translations,
    workflows,
)
from .editors import pages as page_editor
from .session import current_account

#: Endpoints open without a builder session.
PUBLIC = frozenset({"builder.login", "builder.two_factor", "builder.static"})
_LOCALE_KEY = "builder_locale"


def _choose_locale() -> None:
    wanted = request.args.get("lang")
    if wanted in UI_LOCALES:
        session[_LOCALE_KEY] = wanted
    chosen = session.get(_LOCALE_KEY)
    g.locale = (
        chosen
        if chosen in UI_LOCALES
        else select_locale(UI_LOCALES, None, request.accept_languages)
    )


def _before() -> Response | None:
    _choose_locale()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        protect_request()
    if request.endpoint in PUBLIC:
        return None
    if current_account() is None:
        return redirect(url_for("builder.login"), 303)
    return None


def _own_cookie(setup: BlueprintSetupState) -> None:
    if isinstance(setup.app, Flask):
        cookie.install(setup.app, "/_builder")


def make_blueprint() -> Blueprint:
    """A new builder blueprint (one per application)."""
    bp = Blueprint(
        "builder",
        __name__,
        url_prefix="/_builder",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    bp.record_once(_own_cookie)
    bp.before_request(_before)
    bp.context_processor(
        lambda: {"builder_account": current_account, "builder_locales": UI_LOCALES}
    )
    bp.add_url_rule("/login", "login", login.login_view, methods=["GET", "POST"])
    bp.add_url_rule("/login/code", "two_factor", login.two_factor_view, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", login.logout_view, methods=["POST"])
    bp.add_url_rule("/", "start", pages.start_view)
    bp.add_url_rule("/p/<slug>/", "portal", pages.portal_view)
    new_portal.register(bp)
    draft_pages.register(bp)
    publishing.register(bp)
    preview.register(bp)
    entities.register(bp)
    forms.register(bp)
    page_editor.register(bp)
    navigation.register(bp)
    theme.register(bp)
    translations.register(bp)
    files.register(bp)
    roles.register(bp)
    permissions.register(bp)
    workflows.register(bp)
    return bp
