"""The plugin's own tables (shared by all portals; every row carries the portal slug)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: One row per user who started or finished enrolment. `secret` is the base32 TOTP secret,
#: Fernet-encrypted (see `crypto`); `confirmed_at` is NULL until the first code was entered;
#: `last_step` is the 30-second time step of the last accepted code (replay prevention).
enrolments = sa.Table(
    "portalis_totp_enrolment",
    metadata,
    sa.Column("portal", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_step", sa.BigInteger, nullable=True),
)

#: Single-use recovery codes, stored as the sha256 of the normalized code.
recovery_codes = sa.Table(
    "portalis_totp_recovery_code",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_portalis_totp_recovery_user", "portal", "user_id"),
)
