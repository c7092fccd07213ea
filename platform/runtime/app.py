"""The application factory: `create_app(settings)` serves every published portal.

One Flask rule carries every portal mount (`/<portal>/...`, or `/...` under a portal's own
domain); each request is matched against the portal's per-version Werkzeug map.

The app creates no tables (`portalis deploy` / `portalis migrate` do, under a database lock):
several workers starting at once must not race on `CREATE TABLE`. Until the tables exist,
pages answer 503 and `/_ready` names what is missing. Requests for a Host the configuration
does not name get 400 (`hosts`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

import pluggy
import sqlalchemy as sa
from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_login import AnonymousUserMixin, LoginManager
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.exceptions import HTTPException, SecurityError, ServiceUnavailable

from portalis.engine.data.db import create_engine
from portalis.engine.data.permissions import Actor
from portalis.engine.deploy.validator import Checker
from portalis.engine.plugins import request_guards

from . import default_plugins, notifications, request_db
from .auth import account_switch
from .auth.providers import ProviderTypes
from .auth.second_factor import SecondFactor
from .blocks.base import BlockRegistry, BlockType
from .context import AppState, load_user, state
from .dispatch import portal_view
from .forms.fieldtypes import FormFields
from .forms.record import PortalForms
from .hosts import ANY_HOST_PATHS, PortalisFlask
from .i18n import I18n
from .job_handlers import start_embedded_worker
from .payments.setup import init_payments
from .plugin_routes import collect_routes
from .registry import PortalRegistry
from .routing import SYSTEM_ROUTES
from .runtime_tables import SchemaCheck
from .security import DEFAULT_HEADERS, apply_headers, init_csrf
from .settings import Settings
from .templating import configure_jinja

log = logging.getLogger("portalis.runtime")
#: How long the cookie session lives (moved on with the session's activity, at most once a
#: minute); CSRF tokens as long.
SESSION_LIFETIME = timedelta(hours=24)


def create_app(
    settings: Settings | None = None,
    *,
    pm: pluggy.PluginManager | None = None,
    engine: sa.Engine | None = None,
) -> Flask:
    """Build the Flask application for the given settings (default: from the environment)."""
    settings = settings or Settings.from_env()
    app = PortalisFlask(
        "portalis.runtime",
        static_folder="static",
        static_url_path="/_static",
        template_folder="templates",
        instance_path=str(settings.instance_path),
    )
    https = settings.env.get("PORTALIS_HTTPS", "").lower() in ("1", "true", "yes")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="__Host-portalis" if https else "portalis",
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        # the cookie is written when the session changes, or when `last_seen` is refreshed
        # (at most once a minute, `sessions.TOUCH_INTERVAL`): not on every response
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1_000_000,
        TESTING=settings.testing,
        PORTALIS_HTTPS=https,
        TEMPLATES_AUTO_RELOAD=False,
    )
    engine = engine or create_engine(settings.database_url)
    pm = pm or default_plugins.plugin_manager(disabled=settings.disabled_plugins)
    schema = SchemaCheck(engine, default_plugins.plugin_tables(pm), settings.version_check_seconds)
    if schema.missing():
        log.warning(
            "the database lacks %s: run `portalis migrate` (pages answer 503 until then)",
            ", ".join(schema.missing()),
        )
    checker = Checker(pm)
    block_types: list[list[BlockType]] = pm.hook.portalis_block_types()
    blocks = BlockRegistry(block for result in block_types for block in result)
    guards = request_guards(pm)
    form_fields = FormFields.from_plugins(pm)
    factor_lists: list[list[SecondFactor]] = pm.hook.portalis_second_factors()
    factors = tuple(factor for result in reversed(factor_lists) for factor in result)
    registry = PortalRegistry(
        engine, checker, settings.env, check_seconds=settings.version_check_seconds,
        base_url=settings.base_url, provider_types=ProviderTypes.from_plugins(pm),
        routes=collect_routes(pm, (path for path, _, _ in SYSTEM_ROUTES)),
        block_types=frozenset(blocks.names()),
        build_forms=partial(PortalForms, fields=form_fields),
    )  # fmt: skip
    app.extensions["portalis"] = AppState(
        settings, engine, pm, checker, registry, blocks, I18n(), guards=guards,
        second_factors=factors,
    )  # fmt: skip
    app.extensions["portalis"].extra["schema"] = schema
    app.before_request(require_schema)
    folder_lists: list[list[str]] = pm.hook.portalis_template_folders()
    folders = [folder for result in folder_lists for folder in result]
    if folders:
        # the runtime's own templates first: a plugin cannot replace layout.html or a core page
        app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(folders)])  # type: ignore[list-item]
    init_csrf(app, lifetime=SESSION_LIFETIME)
    for blueprint in default_plugins.platform_blueprints(pm):
        app.register_blueprint(blueprint)
    configure_jinja(app)
    notifications.init_app(app)
    init_payments(app, app.extensions["portalis"])
    account_switch.init_app(app)
    request_db.init_app(app)

    login_manager = LoginManager()
    login_manager.init_app(app)
    login_manager.session_protection = None  # server-side records and timeouts do this job
    login_manager.user_loader(load_user)

    app.add_url_rule("/_health", "health", health)
    app.add_url_rule("/_ready", "ready", ready)
    app.add_url_rule("/", "index", index)
    # OPTIONS reaches the portal's own map (the API answers it per actor; pages answer 405)
    methods = ["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"]
    app.add_url_rule(
        "/<path:path>", "portal", portal_view, methods=methods, provide_automatic_options=False
    )
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
    app.after_request(after_request)
    start_embedded_worker(app)
    return app


def health() -> Response:
    """Liveness: the process answers."""
    return jsonify(status="ok")


def ready() -> Response | tuple[Response, int, dict[str, str]]:
    """Readiness: the database answers and has every table this process needs."""
    try:
        with state().engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify(status="unavailable"), 503, {"Retry-After": "5"}
    missing = _schema().missing()
    if missing:
        body = jsonify(status="unmigrated", missing=missing, reason="run portalis migrate")
        return body, 503, {"Retry-After": "5"}
    registry = state().registry
    slugs = registry.slugs()
    if registry.failed:
        # still serving (previous versions), but an operator must look: name what failed
        failed = {slug: version for slug, version in sorted(registry.failed.items())}
        return jsonify(status="degraded", portals=slugs, failed=failed)
    return jsonify(status="ok", portals=slugs)


def _schema() -> SchemaCheck:
    check: SchemaCheck = state().extra["schema"]
    return check


def require_schema() -> None:
    """Pages answer 503 while the database lacks tables (`portalis migrate` creates them);
    the process keeps running and recovers once they exist."""
    if request.path in ANY_HOST_PATHS or request.path.startswith("/_static/"):
        return
    if _schema().missing():
        raise ServiceUnavailable(
            "The database is not migrated: run portalis migrate.", retry_after=5
        )


def index() -> Any:
    """The root: a portal served under this host, or the list of portals."""
    portal = state().registry.for_host(request.host)
    if portal is not None:
        return portal_view("")
    slugs = state().registry.slugs()
    return render_template("index.html", portals=slugs)


def http_error(exc: HTTPException) -> Any:
    """Generic error pages (JSON problem details for API paths), never a stack trace."""
    code = exc.code or 500
    if isinstance(exc, SecurityError):
        # a Host the configuration does not name: no page (nothing may link to that host)
        return Response(f"{code} {exc.name}\n", code, mimetype="text/plain")
    if _wants_problem():
        body = {"type": "about:blank", "title": exc.name, "status": code, "code": _slug(exc.name)}
        detail = getattr(exc, "portalis_detail", None)
        if detail is not None:
            body.update(detail)
        response = jsonify(body)
        response.status_code = code
        response.mimetype = "application/problem+json"
        for key, value in exc.get_headers() or []:
            if key.lower() not in ("content-type",):
                response.headers[key] = value
        return response
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return render_template("error.html", code=code, name=exc.name), code, headers


def unexpected_error(exc: Exception) -> Any:
    """Log and answer 503 when the database is down, else a generic 500 — never a trace."""
    if isinstance(exc, HTTPException):
        return http_error(exc)
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        log.warning("database unavailable: %s", exc)
        code, name, headers = 503, "Service Unavailable", {"Retry-After": "5"}
        # the error page must not ask the database who is signed in (Flask-Login's
        # template context would load the user again)
        g.actor = Actor.anonymous()
        g._login_user = AnonymousUserMixin()
    else:
        log.exception("unhandled error on %s %s", request.method, request.path)
        code, name, headers = 500, "Internal Server Error", {}
    if _wants_problem():
        response = jsonify(type="about:blank", title=name, status=code, code=_slug(name))
        response.status_code = code
        response.mimetype = "application/problem+json"
        response.headers.update(headers)
        return response
    return render_template("error.html", code=code, name=name), code, headers


def _wants_problem() -> bool:
    """API paths (and clients asking for problem+json) get RFC 9457 problem details."""
    return "/api/" in request.path or request.accept_mimetypes.best == "application/problem+json"


def _slug(name: str | None) -> str:
    return (name or "error").lower().replace(" ", "-")


def after_request(response: Response) -> Response:
    """Security headers on every response (built once per portal version)."""
    portal = g.get("portal")
    https = bool(current_app.config.get("PORTALIS_HTTPS")) or request.is_secure
    headers = portal.headers if portal is not None else DEFAULT_HEADERS
    return apply_headers(response, headers[https])
