"""The builder's own tables: builder accounts and their rights per portal (platform-level,
separate from every portal's users). Created by `portalis migrate` through the runtime's
`portalis_runtime_tables` hook, like any plugin's tables."""

from __future__ import annotations

import sqlalchemy as sa

builder_metadata = sa.MetaData()

accounts = sa.Table(
    "portalis_builder_user",
    builder_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    sqlite_autoincrement=True,  # audit entries name account ids: never reuse one
)

rights = sa.Table(
    "portalis_builder_right",
    builder_metadata,
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("portalis_builder_user.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # a portal slug, or "*" for every portal (present and future)
    sa.Column("portal", sa.String(40), primary_key=True),
    # view | edit | publish (edit and publish imply view)
    sa.Column("right", sa.String(10), primary_key=True),
)
