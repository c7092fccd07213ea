"""Runtime tables shared by all portals: sessions, login throttling, one-time tokens, files,
password history, generated PDFs. Created alongside the platform tables; rows always carry the portal slug.

`migrate` creates every platform, runtime and plugin table that is missing, under a database
lock, and is run by `portalis deploy` and `portalis migrate` — never by a serving process:
several gunicorn workers creating the same tables at once race (PostgreSQL refuses the second
`CREATE TABLE` of a type with a unique violation and the worker fails to boot). A serving
process asks `missing_tables` instead and answers 503 until the database is migrated.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import sqlalchemy as sa

from portalis.engine.data.db import begin_write
from portalis.engine.data.platform_tables import platform_metadata
from portalis.engine.data.system_tables import system_metadata

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

#: Generated PDFs (`printouts:`), kept per record version: the key also holds the digest of
#: the rendered HTML, so readers who see different fields (or another language) never share
#: a document, and a second download of the same version renders no PDF.
printout_cache = sa.Table(
    "portalis_printout",
    runtime_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("record_version", sa.Integer, nullable=False),
    sa.Column("printout", sa.String(40), nullable=False),
    sa.Column("locale", sa.String(20), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),  # sha256 of the rendered HTML
    sa.Column("pdf", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint(
        "portal", "entity", "record_id", "printout", "digest", name="uq_portalis_printout"
    ),
    sa.Index("ix_portalis_printout_record", "portal", "entity", "record_id", "printout"),
)


#: CSV imports people started (`import_state`): the uploaded text, the column mapping and
#: the progress of the dry run and the import, until the import is done.
imports = sa.Table(
    "portalis_import",
    runtime_metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # opaque, random: in URLs
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("page", sa.String(40), nullable=False),
    sa.Column("block", sa.Integer, nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("account_id", sa.Integer, nullable=True),
    sa.Column("locale", sa.String(20), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("processed", sa.Integer, nullable=False, default=0),
    sa.Column("created", sa.Integer, nullable=False, default=0),
    sa.Column("refused", sa.Integer, nullable=False, default=0),
    sa.Column("problems", sa.JSON, nullable=False),
    # [{first, last, created, refused}] of a background import, one entry per batch
    sa.Column("batches", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_portalis_import_user", "portal", "user_id"),
)


#: Key of the PostgreSQL advisory lock `migrate` holds ("portalis" in ASCII, as a bigint).
MIGRATE_LOCK_KEY = 0x706F7274616C6973


def _all_metadata(extra: Iterable[sa.MetaData]) -> list[sa.MetaData]:
    # modules that add tables to `runtime_metadata` must be imported, or a `portalis migrate`
    # process (which never imports them otherwise) would leave their tables out
    from .api import idempotency  # noqa: F401

    return [platform_metadata, system_metadata, runtime_metadata, *extra]


def missing_tables(bind: sa.Engine | sa.Connection, extra: Iterable[sa.MetaData] = ()) -> list[str]:
    """Names of the platform, runtime and plugin (`extra`) tables the database lacks."""
    present = set(sa.inspect(bind).get_table_names())
    return sorted(
        name for metadata in _all_metadata(extra) for name in metadata.tables if name not in present
    )


def migrate(engine: sa.Engine, extra: Iterable[sa.MetaData] = ()) -> list[str]:
    """Create the missing platform, runtime and plugin tables under a database lock; returns
    the names it created (empty when the database was up to date).

    On PostgreSQL a transaction-scoped advisory lock serialises concurrent runs (DDL is
    transactional there, so a second run sees the first one's tables); on SQLite the write
    transaction (`BEGIN IMMEDIATE`) holds the database's write lock.
    """
    metadata = _all_metadata(extra)
    with begin_write(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK_KEY})
        missing = missing_tables(conn, metadata[3:])
        for each in metadata:
            each.create_all(conn, checkfirst=True)
    return missing


class SchemaCheck:
    """What a serving process knows about its tables: `missing()` names the tables still
    to be created by `portalis migrate` (asked again at most every `recheck_seconds` until
    none is missing, so a process recovers without a restart once the migration ran)."""

    def __init__(
        self, engine: sa.Engine, extra: Iterable[sa.MetaData] = (), recheck_seconds: float = 2.0
    ) -> None:
        self.engine = engine
        self.extra = tuple(extra)
        self.recheck_seconds = recheck_seconds
        self._missing: list[str] = []
        self._checked: float | None = None
        self._complete = False

    def missing(self) -> list[str]:
        """Tables the database lacks ([] once all exist; the last answer while the database
        cannot be asked — an unreachable database is reported elsewhere)."""
        if self._complete:
            return []
        now = time.monotonic()
        if self._checked is not None and now - self._checked < self.recheck_seconds:
            return self._missing
        try:
            found = missing_tables(self.engine, self.extra)
        except sa.exc.SQLAlchemyError:
            return self._missing
        self._missing, self._checked = found, now
        self._complete = not found
        return found
