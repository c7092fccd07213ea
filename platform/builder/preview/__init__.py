"""Draft preview, view-as on the live portal and the "why?" panel (see the modules).

The pages inside a preview or a view-as session are the runtime's own, served by an inner
application (`mount`); their requests bypass the builder's CSRF check and body parsing (the
inner application checks its own tokens, and view-as refuses every write before reading
anything), so they are answered from an application-level hook that runs before the
blueprint's.
"""

from __future__ import annotations

from flask import Blueprint, g, request, session
from werkzeug.wrappers import Response

from portalis.runtime.i18n import UI_LOCALES, select_locale

from . import draft_preview, view_as

_ALL = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_INNER = {
    "builder.preview_page": lambda a: draft_preview.page_view(**a),
    "builder.view_as_page": lambda a: view_as.page_view(**a),
}


def _inner_first() -> Response | None:
    """Answer inner pages before the builder blueprint's own before-request checks."""
    handler = _INNER.get(request.endpoint or "")
    if handler is None:
        return None
    chosen = session.get("builder_locale")
    g.locale = (
        chosen
        if chosen in UI_LOCALES
        else select_locale(UI_LOCALES, None, request.accept_languages)
    )
    return handler(dict(request.view_args or {}))


def register(bp: Blueprint) -> None:
    """Add the preview and view-as routes to the builder blueprint."""
    bp.before_app_request(_inner_first)
    bp.add_url_rule(
        "/p/<slug>/d/<int:draft>/preview/", "preview_start", draft_preview.start_view,
        methods=["GET", "POST"],
    )  # fmt: skip
    bp.add_url_rule(
        "/p/<slug>/d/<int:draft>/preview/<path:rest>", "preview_page", draft_preview.page_view,
        methods=_ALL, provide_automatic_options=False,
    )  # fmt: skip
    bp.add_url_rule(
        "/p/<slug>/view-as", "view_as_start", view_as.start_view, methods=["GET", "POST"]
    )
    bp.add_url_rule("/p/<slug>/view-as/stop", "view_as_stop", view_as.stop_view, methods=["POST"])
    bp.add_url_rule(
        "/p/<slug>/view-as/<path:rest>", "view_as_page", view_as.page_view,
        methods=_ALL, provide_automatic_options=False,
    )  # fmt: skip
