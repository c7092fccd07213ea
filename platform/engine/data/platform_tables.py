"""Platform tables shared by all portals: published versions and seed keys.

Portal data lives in per-portal tables (see `tables`); these tables only describe portals.
"""

from __future__ import annotations

import sqlalchemy as sa

from .system_tables import system_metadata

platform_metadata = sa.MetaData()

portals = sa.Table(
    "portalis_portal",
    platform_metadata,
    sa.Column("slug", sa.String(40), primary_key=True),
    sa.Column("live_version", sa.Integer, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

versions = sa.Table(
    "portalis_version",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.UniqueConstraint("portal", "number", name="uq_portalis_version_number"),
)

seed_keys = sa.Table(
    "portalis_seed_key",
    platform_metadata,
    sa.Column("portal", sa.String(40), primary_key=True),
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("record_id", sa.Integer, nullable=False),
)


def ensure_platform_tables(bind: sa.Engine | sa.Connection) -> None:
    """Create the platform tables (and the outbox, audit and notification tables) that do
    not exist yet."""
    platform_metadata.create_all(bind, checkfirst=True)
    system_metadata.create_all(bind, checkfirst=True)
