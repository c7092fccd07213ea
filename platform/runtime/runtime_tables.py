"""Runtime tables shared by all portals: sessions, login throttling, one-time tokens, files,
password history. Created alongside the platform tables; rows always carry the portal slug."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from portalis.engine.platform_tables import ensure_platform_tables

runtime_metadata = sa.MetaData()

sessions = sa.Table(
    "portalis_session",
    runtime_metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the session secret
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("user_agent", sa.String(300), nullable=True),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_portalis_session_user", "portal", "user_id"),
)

login_attempts = sa.Table(
    "portalis_login_attempt",
    runtime_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Index("ix_portalis_login_attempt_email", "portal", "email", "at"),
    sa.Index("ix_portalis_login_attempt_ip", "portal", "ip", "at"),
)

tokens = sa.Table(
    "portalis_token",
    runtime_metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the token
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("purpose", sa.String(20), nullable=False),  # reset | invite | verify
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
)

files = sa.Table(
    "portalis_file",
    runtime_metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # opaque, random
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.Integer, nullable=True),
)

password_history = sa.Table(
    "portalis_password_history",
    runtime_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_portalis_password_history_user", "portal", "user_id"),
)

#: External identities (OIDC, SAML, LDAP) bound to users by (issuer, subject), never by
#: e-mail alone (ASVS 6.8.1).
identities = sa.Table(
    "portalis_auth_identities",
    runtime_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("issuer", sa.String(500), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("portal", "issuer", "subject", name="uq_portalis_auth_identity"),
    sa.Index("ix_portalis_auth_identities_user", "portal", "user_id"),
)

#: Identity-provider answers parked between a cross-site POST (which carries no session
#: cookie under SameSite=Lax) and the same-site GET that finishes the flow in the session
#: that started it; single use, short-lived.
parked = sa.Table(
    "portalis_auth_parked",
    runtime_metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the ticket
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)


def ensure_runtime_tables(
    bind: sa.Engine | sa.Connection, extra: Iterable[sa.MetaData] = ()
) -> None:
    """Create platform, runtime and plugin tables (`extra`) that do not exist yet."""
    ensure_platform_tables(bind)
    runtime_metadata.create_all(bind, checkfirst=True)
    for metadata in extra:
        metadata.create_all(bind, checkfirst=True)
