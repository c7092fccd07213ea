"""portalis-totp: authenticator-app codes (TOTP) as the second factor of Portalis logins.

Users enrol at `/profile/two-factor` (secret and QR code, confirmed by a first code) and get
ten single-use recovery codes. The core asks the code after every primary login and forces
enrolment for the roles of `auth.two_factor.required_for`. Secrets are Fernet-encrypted at
rest with a key derived (HKDF) from the app's secret key; a code's time step is remembered
so no code works twice (SECURITY A.9).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from portalis.api import DefinitionSection, hookimpl
from portalis.web import PortalRoute, SecondFactor

from . import views
from .factor import TotpFactor
from .section import TWO_FACTOR_SECTION, TwoFactorPolicy
from .tables import metadata

__all__ = ["TotpFactor", "TwoFactorPolicy"]

TEMPLATES = Path(__file__).parent / "templates"


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """`auth.two_factor`."""
    return [TWO_FACTOR_SECTION]


@hookimpl
def portalis_second_factors() -> list[SecondFactor]:
    """The TOTP factor."""
    return [views.FACTOR]


@hookimpl
def portalis_runtime_tables() -> list[sa.MetaData]:
    """Enrolments and recovery codes."""
    return [metadata]


@hookimpl
def portalis_portal_routes() -> list[PortalRoute]:
    """The enrolment pages."""
    return [
        PortalRoute("/profile/two-factor", "totp:enrol", views.enrol_view, ("GET", "POST"),
                    access="pending"),
        PortalRoute("/profile/two-factor/continue", "totp:continue", views.continue_view,
                    ("POST",), access="pending"),
        PortalRoute("/profile/two-factor/disable", "totp:disable", views.disable_view,
                    ("GET", "POST"), access="user"),
        PortalRoute("/profile/two-factor/recovery", "totp:recovery", views.recovery_view,
                    ("GET", "POST"), access="user"),
    ]  # fmt: skip


@hookimpl
def portalis_template_folders() -> list[str]:
    """`totp/*.html`."""
    return [str(TEMPLATES)]
