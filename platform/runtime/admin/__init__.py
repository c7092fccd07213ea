"""The portal's admin area (`/admin/...`) for users holding one of `auth.admin_roles`:
the user list with session, second-factor and identity tools, the sign-in set-up with
test logins, and the online payments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .auth_tools import auth_view, test_view
from .payments import payments_view
from .users import users_view

#: `sys:*` endpoint → view (the routes are in `routing.SYSTEM_ROUTES`).
VIEWS: dict[str, Callable[..., Any]] = {
    "sys:admin_users": users_view,
    "sys:admin_auth": auth_view,
    "sys:admin_auth_test": test_view,
    "sys:admin_payments": payments_view,
}

__all__ = ["VIEWS"]
