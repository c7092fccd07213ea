"""Helpers the auth views share: form input, field errors, users, links and mail."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, g, redirect, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from portalis.engine.accounts.users import user_by_id
from portalis.engine.data import audit
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.auth_config import PasswordPolicy
from portalis.engine.definition.fields import FieldValueError
from portalis.engine.definition.model import PortalModel

from .. import mail
from ..context import PortalUser, request_client_ip, state
from ..hosts import link_base
from ..registry import RuntimePortal
from ..templating import gettext as _
from ..urls import portal_url
from . import tokens

#: Field name → messages shown next to that field.
Errors = dict[str, list[str]]
#: A view's result: a response, or (body, status[, headers]).
ViewResult = Response | tuple[str, int] | tuple[str, int, dict[str, str]]
#: Longest name a user may give themselves (the built-in field's limit).
NAME_MAX = 200


def add_error(errors: Errors, field: str, message: str) -> None:
    """Attach `message` to `field`."""
    errors.setdefault(field, []).append(message)


def form_value(name: str, *, strip: bool = True, limit: int = 1000) -> str:
    """A text form field (stripped and bounded), for a page without a WTForms form."""
    value = request.form.get(name, "")
    value = value.strip() if strip else value
    return value[:limit]


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a template as `(body, status)`: a page template extends `layout.html` (the
    portal's layout: navigation, theme, footer); `errors` (field → messages, which every
    form template expects) defaults to none."""
    context.setdefault("errors", {})
    return render_template(template, **context), status


def see_other(path: str, **query: object) -> Response:
    """A 303 redirect to a portal path (after a successful POST)."""
    return redirect(portal_url(path, **query), 303)


def login_redirect() -> Response:
    """Send an anonymous visitor to the login page, coming back here afterwards."""
    return redirect(portal_url("/login", next=request.full_path.rstrip("?")))


def password_policy(portal: RuntimePortal) -> PasswordPolicy:
    """The portal's password policy; 404 when the portal has no password provider."""
    policy = portal.compiled.model.auth.password
    if policy is None:
        abort(404)
    return policy


def user_row(conn: sa.Connection, portal: RuntimePortal, user_id: int) -> dict[str, Any] | None:
    """One user row with its authentication columns."""
    return user_by_id(conn, portal.compiled, user_id)


def link_holder(
    portal: RuntimePortal, purposes: list[str], token: str
) -> tuple[tokens.TokenInfo, dict[str, Any]] | None:
    """The live token of a mailed link (not consumed) and its user's row, or None."""
    with state().engine.connect() as conn:
        info = tokens.peek(conn, portal.slug, purposes, token)
        row = user_row(conn, portal, info.user_id) if info is not None else None
    return None if info is None or row is None else (info, row)


def system_actor(user_id: int | None = None) -> Actor:
    """The system actor acting for `user_id` from this request's client address: how auth
    flows write user rows (`engine.accounts.user_writes`), so the audit entry names that user."""
    return Actor.system(on_behalf_of=user_id, ip=request_client_ip())


def clean_email(model: PortalModel, raw: str) -> str:
    """A normalized e-mail address (lower-cased); FieldValueError when malformed or empty."""
    field = model.entities["user"].fields["email"]
    value = field.kind.clean(field, raw.strip())
    if not value:
        raise FieldValueError("required", "required")
    return str(value).lower()


def check_email(model: PortalModel, raw: str, errors: Errors, field: str = "email") -> str:
    """`clean_email`, recording a field error instead of raising ("" when invalid)."""
    if not raw.strip():
        add_error(errors, field, _("Enter your e-mail address."))
        return ""
    try:
        return clean_email(model, raw)
    except FieldValueError:
        add_error(errors, field, _("Enter an e-mail address like name@example.com."))
        return ""


def check_name(raw: str, errors: Errors, field: str = "name") -> str:
    """A required display name of at most NAME_MAX characters."""
    if not raw:
        add_error(errors, field, _("Enter a name."))
    elif len(raw) > NAME_MAX:
        add_error(errors, field, _("Use at most %(max)s characters.", max=NAME_MAX))
    return raw


def request_ip() -> str:
    """The client address (X-Forwarded-For only from trusted proxies)."""
    return request_client_ip()


def audit_auth(
    conn: sa.Connection,
    portal: RuntimePortal,
    action: str,
    *,
    user_id: int | None,
    email: str | None,
    **detail: Any,
) -> None:
    """Record a sign-in event of this request (client address included) in the audit log,
    inside `conn`'s transaction. `detail` must never hold a secret."""
    audit.record_auth(
        conn,
        portal=portal.slug,
        action=action,
        actor_id=user_id,
        email=email,
        ip=request_ip(),
        detail=detail or None,
    )


def user_agent() -> str:
    """The client's User-Agent header (bounded)."""
    return (request.headers.get("User-Agent") or "")[:300]


def absolute_url(path: str) -> str:
    """A link for e-mails, from configuration only: the portal's domain the request came in
    on, else PORTALIS_BASE_URL, else (dev server on loopback, tests) the loopback host.

    The Host header is client-controlled: a forged host must never end up in a
    password-reset link (see `portalis.runtime.hosts`).
    """
    portal = g.get("portal")
    domains = portal.compiled.model.domains if portal is not None else ()
    return link_base(request, domains) + portal_url(path)


def mail_locale(portal: RuntimePortal, row: dict[str, Any] | None) -> str:
    """The language of a mail to a user: their profile locale, else this request's."""
    locales = portal.compiled.model.locales
    preferred = (row or {}).get("locale")
    if preferred in locales:
        return str(preferred)
    current = g.get("locale")
    return str(current) if current in locales else portal.compiled.model.default_locale


def send(portal: RuntimePortal, template: str, *, to: str, locale: str, **context: Any) -> bool:
    """Render and send mail `template` with the portal title in the context."""
    title = portal.compiled.model.title.get(locale, portal.compiled.model.default_locale)
    return mail.deliver(
        state().settings, template, to=to, locale=locale, portal_title=title, **context
    )


def current_secret() -> str | None:
    """The secret of this request's session (to spare it when ending the others)."""
    user = current_user._get_current_object()
    return user.secret if isinstance(user, PortalUser) else None
