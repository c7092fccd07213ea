"""The auth endpoints of every portal: `sys:*` endpoint → view (see `routing.SYSTEM_ROUTES`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .account_switch import account_switch_view
from .account_users import account_users_view
from .flow_views import auth_view
from .invitations import invite_view
from .login import login_view, logout_view
from .profile import password_view, profile_view
from .registration import register_view, verify_view
from .reset import reset_request_view, reset_view
from .second_factor import confirm_view, two_factor_view
from .session_list import sessions_view

VIEWS: dict[str, Callable[..., Any]] = {
    "sys:login": login_view,
    "sys:logout": logout_view,
    "sys:register": register_view,
    "sys:verify": verify_view,
    "sys:reset_request": reset_request_view,
    "sys:reset": reset_view,
    "sys:invite": invite_view,
    "sys:profile": profile_view,
    "sys:password": password_view,
    "sys:sessions": sessions_view,
    "sys:account_users": account_users_view,
    "sys:account_switch": account_switch_view,
    "sys:two_factor": two_factor_view,
    "sys:confirm": confirm_view,
    "sys:auth": auth_view,
}
