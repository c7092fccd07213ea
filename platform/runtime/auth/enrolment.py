"""Setting a second factor up outside a portal page: the enrolment half of a factor.

`SecondFactor` verifies codes; a portal's enrolment happens on the factor's own portal route
(`enrol_path`). Screens that are not portal pages — the builder's sign-in — cannot use that
route, so a factor may also offer `EnrollableFactor`: start an enrolment (the secret, its
provisioning URI and a QR code to show) and confirm it with the first code. Both run inside
the caller's transaction; the caller writes the audit entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class EnrolmentStart:
    """What a user needs to add the factor to their device."""

    #: the shared secret, grouped for typing by hand (`ABCD EFGH …`)
    secret: str
    #: the provisioning URI the QR code carries (`otpauth://…`)
    uri: str
    #: the QR code as inline SVG (no image request, no inline style: a strict CSP holds)
    qr_svg: Markup


@runtime_checkable
class EnrollableFactor(Protocol):
    """A second factor that can be enrolled outside the portal's own pages.

    Implemented next to `SecondFactor` by a factor that supports it (the builder uses the
    first loaded factor that does, keyed by a reserved portal key, for its accounts):
    `start_enrolment` gives the secret, provisioning URI and QR code to show,
    `confirm_enrolment` checks the first code and returns the recovery codes. Both run in
    the caller's transaction; the caller writes the audit entries. Checked with
    `isinstance(factor, EnrollableFactor)`.
    """

    def start_enrolment(
        self, conn: sa.Connection, portal: str, user_id: int, *, account: str, issuer: str
    ) -> EnrolmentStart:
        """Begin (or show again) the unconfirmed enrolment of `(portal, user_id)`; `account`
        and `issuer` name the entry in the user's app. Raises ValueError when the user is
        already enrolled."""
        ...

    def confirm_enrolment(
        self, conn: sa.Connection, portal: str, user_id: int, code: str
    ) -> list[str] | None:
        """Finish the enrolment with the first code: the recovery codes (shown once), or
        None when the code does not match."""
        ...
