"""The TOTP second factor the core asks for (`portalis_second_factors`)."""

from __future__ import annotations

import sqlalchemy as sa

from portalis.api import PortalModel, record_auth_event
from portalis.web import EnrolmentStart, audit_auth, request_portal, user_row
from portalis.web import gettext as _

from . import codes, qr, store
from .section import TwoFactorPolicy

#: The enrolment page (served by `views`).
ENROL_PATH = "/profile/two-factor"


def record(conn: sa.Connection, portal: str, action: str, user_id: int, **detail: str) -> None:
    """An audit entry of this plugin (never with a code or a secret in `detail`)."""
    current = request_portal()
    if current is not None and current.slug == portal:
        row = user_row(conn, current, user_id)
        email = str(row["email"]) if row is not None else None
        audit_auth(conn, current, action, user_id=user_id, email=email, factor="totp", **detail)
    else:  # outside a portal request (an administrator's script): no client address
        record_auth_event(
            conn, portal=portal, action=action, actor_id=user_id, email=None, ip=None,
            detail={"factor": "totp", **detail},
        )  # fmt: skip


class TotpFactor:
    """Authenticator-app codes (RFC 6238, 30 s, 6 digits) with single-use recovery codes."""

    name = "totp"
    enrol_path = ENROL_PATH

    def label(self) -> str:
        """The factor's name for users."""
        return _("Authenticator app")

    def required_roles(self, model: PortalModel) -> frozenset[str]:
        """The roles of `auth.two_factor.required_for` (this plugin's section)."""
        return TwoFactorPolicy.of(model).required_for

    def enrolled(self, conn: sa.Connection, portal: str, user_id: int) -> bool:
        """True when the user confirmed an enrolment."""
        return store.is_enrolled(conn, portal, user_id)

    def enrolled_users(self, conn: sa.Connection, portal: str, user_ids: list[int]) -> set[int]:
        """Which of `user_ids` confirmed an enrolment (the admin's user list)."""
        return store.enrolled_among(conn, portal, user_ids)

    def verify(self, conn: sa.Connection, portal: str, user_id: int, code: str) -> bool:
        """Accept (and consume) a current code not used before, or an unused recovery code."""
        code = code.strip().replace(" ", "")
        if codes.is_totp_code(code):
            return store.use_totp(conn, portal, user_id, code)
        if not code or len(code) > 64:
            return False
        if store.use_recovery_code(conn, portal, user_id, code):
            left = store.unused_recovery_codes(conn, portal, user_id)
            record(conn, portal, "recovery_code_used", user_id, remaining=str(left))
            return True
        return False

    def start_enrolment(
        self, conn: sa.Connection, portal: str, user_id: int, *, account: str, issuer: str
    ) -> EnrolmentStart:
        """The pending secret (created on first call, kept on reload), its otpauth URI and QR
        code (`EnrollableFactor`). Raises ValueError when the user is already enrolled."""
        secret = store.pending_secret(conn, portal, user_id)
        uri = codes.otpauth_uri(secret, account=account, issuer=issuer)
        grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        return EnrolmentStart(grouped, uri, qr.qr_svg(uri))

    def confirm_enrolment(
        self, conn: sa.Connection, portal: str, user_id: int, code: str
    ) -> list[str] | None:
        """Confirm the pending enrolment with its first code: the fresh recovery codes, or
        None for a wrong code (`EnrollableFactor`; the caller audits)."""
        return store.confirm(conn, portal, user_id, code.strip().replace(" ", ""))

    def disable(self, conn: sa.Connection, portal: str, user_id: int) -> bool:
        """Remove the user's enrolment and recovery codes (a lost device: the next login of
        a role that requires a second factor enrols again). True when one was removed."""
        removed = store.remove(conn, portal, user_id)
        if removed:
            record(conn, portal, "two_factor_disabled", user_id)
        return removed
