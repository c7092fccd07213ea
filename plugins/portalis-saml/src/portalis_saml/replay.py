"""Replay prevention: every accepted assertion id is remembered until it expires.

A SAML assertion is a bearer token; the flow's InResponseTo check already binds it to one
browser session, and this table makes a second use of the same assertion fail even when a
copied session (cookie and response together) is replayed.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from portalis.api import begin_write, utcnow

saml_metadata = sa.MetaData()

used_assertions = sa.Table(
    "portalis_saml_assertion",
    saml_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("provider", sa.String(80), nullable=False),
    sa.Column("assertion_id", sa.String(255), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("portal", "provider", "assertion_id", name="uq_portalis_saml_assertion"),
    sa.Index("ix_portalis_saml_assertion_expires", "expires_at"),
)


def remember_assertion(
    engine: sa.Engine, portal: str, provider: str, assertion_id: str, expires_at: datetime
) -> bool:
    """Record `assertion_id` as used; False when it was used before (a replay)."""
    with begin_write(engine) as conn:
        conn.execute(used_assertions.delete().where(used_assertions.c.expires_at < utcnow()))
    try:
        with begin_write(engine) as conn:
            conn.execute(
                used_assertions.insert().values(
                    portal=portal,
                    provider=provider,
                    assertion_id=assertion_id[:255],
                    expires_at=expires_at,
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True
