"""Who may use the admin area: users holding one of the portal's `auth.admin_roles`."""

from __future__ import annotations

from flask import abort
from werkzeug.wrappers import Response

from portalis.engine.data.permissions import Actor

from ..auth.common import login_redirect
from ..auth.login_check import may_test
from ..registry import RuntimePortal


def admin_gate(portal: RuntimePortal, actor: Actor) -> Response | None:
    """None for an administrator; a login redirect for anonymous visitors; 403 otherwise."""
    if not actor.is_authenticated or actor.id is None:
        return login_redirect()
    if not may_test(portal, actor):
        abort(403)
    return None


def is_admin(portal: RuntimePortal, actor: Actor) -> bool:
    """True when the actor may use the admin area (the navigation shows the link)."""
    return may_test(portal, actor)
