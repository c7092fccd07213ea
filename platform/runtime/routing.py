"""Per-version URL maps: one Werkzeug `Map` built from a portal's pages plus system routes.

Flask forbids adding rules after the first request, so pages are never Flask rules: the one
Flask rule of the portal mount hands the rest of the path to this map.
"""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.routing import Map, Rule

from portalis.engine.definition.model import PortalModel

from .plugin_routes import PortalRoute

#: System routes of every portal: (path, endpoint, methods). Pages may not use these paths.
SYSTEM_ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/login", "sys:login", ("GET", "POST")),
    ("/logout", "sys:logout", ("POST",)),
    ("/register", "sys:register", ("GET", "POST")),
    ("/reset", "sys:reset_request", ("GET", "POST")),
    ("/reset/<token>", "sys:reset", ("GET", "POST")),
    ("/verify/<token>", "sys:verify", ("GET", "POST")),
    ("/invite/<token>", "sys:invite", ("GET", "POST")),
    ("/profile", "sys:profile", ("GET", "POST")),
    ("/profile/password", "sys:password", ("GET", "POST")),
    ("/profile/sessions", "sys:sessions", ("GET", "POST")),
    ("/account/users", "sys:account_users", ("GET", "POST")),
    ("/account/switch", "sys:account_switch", ("POST",)),
    ("/login/two-factor", "sys:two_factor", ("GET", "POST")),
    ("/profile/confirm", "sys:confirm", ("GET", "POST")),
    ("/auth/<provider>/<step>", "sys:auth", ("GET", "POST")),
    ("/admin/users", "sys:admin_users", ("GET", "POST")),
    ("/admin/auth", "sys:admin_auth", ("GET",)),
    ("/admin/auth/<provider>/test", "sys:admin_auth_test", ("POST",)),
    ("/admin/payments", "sys:admin_payments", ("GET",)),
    ("/notifications", "sys:notifications", ("GET",)),
    ("/notifications/<int:id>/read", "sys:notification_read", ("POST",)),
    ("/notifications/read-all", "sys:notifications_read_all", ("POST",)),
    ("/notifications/preferences", "sys:notification_prefs", ("POST",)),
    ("/_files/<file_id>", "sys:file", ("GET",)),
    ("/_attachments/<entity>/<int:id>/<document>", "sys:attachment", ("GET",)),
    (
        "/_attachments/<entity>/<int:id>/<document>/<int:version>",
        "sys:attachment_version",
        ("GET",),
    ),
    ("/_printouts/<entity>/<int:id>/<printout>.pdf", "sys:printout", ("GET",)),
    ("/_ac/<entity>", "sys:autocomplete", ("GET",)),
    ("/_export/<page>/<int:block>.csv", "sys:export", ("GET",)),
    ("/_act/<entity>/<int:id>/<action>", "sys:action", ("POST",)),
    ("/_bulk/<page>/<int:block>", "sys:bulk", ("POST",)),
    # CSV import of a list block (`import:`): upload, then one page per import
    ("/_import/<page>/<int:block>", "sys:import", ("GET", "POST")),
    ("/_import/<page>/<int:block>/<import_id>", "sys:import_step", ("GET", "POST")),
    # live updates of an open page (`live`): short polling, 304 when nothing changed
    ("/_updates/<page>", "sys:updates", ("GET",)),
    ("/_updates/<page>/<int:id>", "sys:record_updates", ("GET",)),
    ("/_ics/<page>/<int:block>.ics", "sys:ics_feed", ("GET",)),
    ("/_ics/<page>/<int:block>/<int:id>.ics", "sys:ics_booking", ("GET",)),
    # online payments: a provider's signed events, a payment's page, on to the checkout
    ("/_payments/<provider>/events", "sys:payment_events", ("POST",)),
    ("/_payments/<payment>", "sys:payment", ("GET",)),
    ("/_payments/<payment>/checkout", "sys:payment_checkout", ("GET",)),
    ("/_theme.css", "sys:theme_css", ("GET",)),
    ("/_logo.svg", "sys:logo", ("GET",)),
    # the API answers OPTIONS itself: `Allow` names what the actor's OpenAPI document lists
    ("/api/v1/openapi.json", "api:openapi", ("GET", "OPTIONS")),
    ("/api/v1/<entity>", "api:collection", ("GET", "POST", "OPTIONS")),
    ("/api/v1/<entity>/bulk", "api:bulk", ("POST", "OPTIONS")),
    ("/api/v1/<entity>/<int:id>", "api:item", ("GET", "PATCH", "DELETE", "OPTIONS")),
    ("/api/v1/<entity>/<int:id>/transitions", "api:transitions", ("GET", "OPTIONS")),
    ("/api/v1/<entity>/<int:id>/transitions/<name>", "api:transition", ("POST", "OPTIONS")),
    ("/api/v1/<entity>/<int:id>/copy", "api:copy", ("POST", "OPTIONS")),
    ("/api/v1/<entity>/<int:id>/attachments", "api:attachments", ("GET", "POST", "OPTIONS")),
    (
        "/api/v1/<entity>/<int:id>/attachments/<document>",
        "api:attachment",
        ("GET", "DELETE", "OPTIONS"),
    ),
    (
        "/api/v1/<entity>/<int:id>/attachments/<document>/content",
        "api:attachment_content",
        ("GET", "OPTIONS"),
    ),
    (
        "/api/v1/<entity>/<int:id>/attachments/<document>/versions",
        "api:attachment_versions",
        ("GET", "POST", "OPTIONS"),
    ),
    (
        "/api/v1/<entity>/<int:id>/attachments/<document>/versions/<int:number>/content",
        "api:attachment_version_content",
        ("GET", "OPTIONS"),
    ),
    ("/api/v1/<entity>/<int:id>/pay", "api:pay", ("POST", "OPTIONS")),
    ("/api/v1/<entity>/<int:id>/payments", "api:payments", ("GET", "OPTIONS")),
    (
        "/api/v1/<entity>/<int:id>/payments/<payment>/refunds",
        "api:payment_refunds",
        ("POST", "OPTIONS"),
    ),
)


def page_rule(route: str) -> str:
    """Definition route syntax → Werkzeug rule (`<id>` is an integer)."""
    return route.replace("<id>", "<int:id>")


def build_map(model: PortalModel, extra: Iterable[PortalRoute] = ()) -> Map:
    """The URL map of one compiled version (plugin routes from `extra` included)."""
    rules = [
        Rule(path, endpoint=endpoint, methods=list(methods))
        for path, endpoint, methods in SYSTEM_ROUTES
    ]
    rules.extend(Rule(r.rule, endpoint=r.endpoint, methods=list(r.methods)) for r in extra)
    for page in model.pages.values():
        rules.append(
            Rule(page_rule(page.route), endpoint=f"page:{page.name}", methods=["GET", "POST"])
        )
    return Map(rules, strict_slashes=False, merge_slashes=False)
