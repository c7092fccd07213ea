"""The sign-in page: the password form, one form per directory provider, the SSO buttons.

Every view that answers with the sign-in page — the page itself, a refused sign-in, an SSO
flow that failed — renders it here, so each form is a WTForms form with what was typed and
its errors (a password is never shown again).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..forms.auth import DirectoryLoginForm, LoginForm
from ..registry import RuntimePortal
from .common import Errors, ViewResult, render


def login_page(
    portal: RuntimePortal,
    status: int = 200,
    *,
    next_url: str = "",
    form: LoginForm | None = None,
    directories: Mapping[str, DirectoryLoginForm] | None = None,
    errors: Errors | None = None,
    headers: Mapping[str, str] | None = None,
) -> ViewResult:
    """The sign-in page; `form` and `directories` carry a refused form's input and errors,
    `errors` the page's own (`sso`: a failed flow at an identity provider)."""
    shown = {
        name: (directories or {}).get(name) or DirectoryLoginForm()
        for name, bound in portal.providers.items()
        if bound.kind == "form" and bound.entry.type != "password"
    }
    body, code = render(
        "auth/login.html",
        status,
        form=form or LoginForm(),
        directories=shown,
        next=next_url,
        errors=errors or {},
    )
    return body, code, dict(headers or {})
