"""Authentication: password login, registration, reset, invitations, profile, sessions."""

from __future__ import annotations

from .login import PASSWORD_CHANGE_EXEMPT, password_change_redirect, password_change_required
from .views import VIEWS

__all__ = [
    "PASSWORD_CHANGE_EXEMPT",
    "VIEWS",
    "password_change_redirect",
    "password_change_required",
]
