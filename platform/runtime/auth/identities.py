"""External identities bound to users by (issuer, subject) — never by e-mail alone."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portalis.engine.data.tables import utcnow
from portalis.engine.definition.auth_config import AuthProvider

from ..registry import RuntimePortal
from ..runtime_tables import identities
from .common import audit_auth
from .providers import ExternalIdentity


def linked_user(conn: sa.Connection, portal: str, identity: ExternalIdentity) -> int | None:
    """The user bound to (issuer, subject), if any."""
    row = conn.execute(
        sa.select(identities.c.user_id).where(
            identities.c.portal == portal,
            identities.c.issuer == identity.issuer,
            identities.c.subject == identity.subject,
        )
    ).first()
    return int(row[0]) if row is not None else None


def link_identity(
    conn: sa.Connection,
    portal: RuntimePortal,
    entry: AuthProvider,
    identity: ExternalIdentity,
    user_id: int,
) -> None:
    """Bind (issuer, subject) to `user_id` and audit it (`sso_link`)."""
    now = utcnow()
    conn.execute(
        identities.insert().values(
            portal=portal.slug, provider=entry.name, issuer=identity.issuer,
            subject=identity.subject, user_id=user_id, created_at=now, last_login_at=now,
        )
    )  # fmt: skip
    audit_auth(conn, portal, "sso_link", user_id=user_id, email=identity.email,
               provider=entry.name, issuer=identity.issuer, subject=identity.subject)  # fmt: skip


def user_identities(conn: sa.Connection, portal: str, user_id: int) -> list[dict[str, Any]]:
    """The external identities bound to a user (profile and admin pages)."""
    rows = conn.execute(
        sa.select(identities)
        .where(identities.c.portal == portal, identities.c.user_id == user_id)
        .order_by(identities.c.created_at)
    ).mappings()
    return [dict(r) for r in rows]
