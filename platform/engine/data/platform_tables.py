"""Platform tables shared by all portals: published versions, seed keys and the builder's
drafts (content-addressed file sets, revisions, and which revision was published).

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

#: File sets by content (`Bundle.sha256`): a draft revision names its files by hash, so saving
#: or restoring the same files twice stores them once.
bundles = sa.Table(
    "portalis_bundle",
    platform_metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

drafts = sa.Table(
    "portalis_draft",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    # the live version the draft started from; NULL for a new portal
    sa.Column("base_version", sa.Integer, nullable=True),
    sa.Column("origin", sa.String(200), nullable=False),
    # a builder account id; builder accounts live in the builder's own table (no FK here)
    sa.Column("created_by", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True),
)

draft_revisions = sa.Table(
    "portalis_draft_revision",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("portalis_draft.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("portalis_bundle.sha256"), nullable=False),
    sa.Column("author", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    # two saves on the same head cannot both become the next revision
    sa.UniqueConstraint("draft_id", "number", name="uq_portalis_draft_revision_number"),
)

draft_publications = sa.Table(
    "portalis_draft_publication",
    platform_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("portalis_draft.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("published_by", sa.Integer, nullable=True),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)


def ensure_platform_tables(bind: sa.Engine | sa.Connection) -> None:
    """Create the platform tables (and the outbox, audit and notification tables) that do
    not exist yet."""
    platform_metadata.create_all(bind, checkfirst=True)
    system_metadata.create_all(bind, checkfirst=True)
