"""Authentication: the provider protocol, password login, external identities, the second
factor and step-up, registration, reset, invitations, profile and sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..registry import RuntimePortal
from .common import login_redirect
from .login import PASSWORD_CHANGE_EXEMPT, password_change_redirect, password_change_required
from .providers import is_redirect
from .second_factor import pending_user
from .views import VIEWS


def csrf_exempt(portal: RuntimePortal, endpoint: str, args: Mapping[str, Any]) -> bool:
    """True for the flow steps an identity provider POSTs to cross-site (SAML ACS), which
    authenticate their input by signature instead of a CSRF token."""
    if endpoint != "sys:auth" or args.get("step") == "start":
        return False
    bound = portal.providers.get(str(args.get("provider")))
    return bound is not None and is_redirect(bound) and bound.csrf_exempt(str(args.get("step")))


__all__ = [
    "PASSWORD_CHANGE_EXEMPT",
    "VIEWS",
    "csrf_exempt",
    "login_redirect",
    "password_change_redirect",
    "password_change_required",
    "pending_user",
]
