"""`portalis sessions list|revoke PORTAL EMAIL`: a user's live sessions, from the shell.

For operators who must end a compromised user's sessions without the web admin area (or
when no administrator can sign in). Revoking is audited as `sessions_revoked_by_admin`
with `via: cli`, like the admin area's "Sign out everywhere".
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from .common import checker, database_option, handle_errors, migrate_database, open_engine

if TYPE_CHECKING:
    import sqlalchemy as sa

    from portalis.engine.portal import CompiledPortal

    from ..sessions import SessionInfo


def _user(engine: sa.Engine, portal: str, email: str) -> tuple[CompiledPortal, dict[str, Any]]:
    """The live compiled portal and the user row; exits 1 when the user is unknown."""
    from portalis.engine.accounts.users import find_user
    from portalis.engine.deploy.versions import load_live

    compiled = load_live(engine, checker(), portal, os.environ)
    with engine.connect() as conn:
        row = find_user(conn, compiled, email)
    if row is None:
        click.echo(f"error: no user {email!r} in {portal}", err=True)
        sys.exit(1)
    return compiled, row


def live_sessions(conn: sa.Connection, compiled: CompiledPortal, user_id: int) -> list[SessionInfo]:
    """The user's sessions that are neither revoked, expired nor idle."""
    from portalis.engine.data.tables import utcnow

    from ..sessions import user_sessions

    idle = timedelta(minutes=compiled.model.auth.idle_minutes)
    now = utcnow()
    return [s for s in user_sessions(conn, compiled.slug, user_id) if s.last_seen + idle > now]


def session_line(info: SessionInfo) -> str:
    """One session as a line: id prefix, start, last activity, address and browser."""
    started = info.created_at.strftime("%Y-%m-%d %H:%M")
    seen = info.last_seen.strftime("%Y-%m-%d %H:%M")
    return f"{info.id}  started {started}  last seen {seen}  {info.ip or '-'}  {info.user_agent or '-'}"


def register_session_commands(cli: click.Group) -> None:
    """Add the `sessions` group (`sessions list`, `sessions revoke`) to the CLI group."""

    @cli.group(name="sessions")
    def sessions_group() -> None:
        """Inspect and end the sign-in sessions of a portal's users."""

    @sessions_group.command(name="list")
    @click.argument("portal")
    @click.argument("email")
    @database_option
    @handle_errors
    def sessions_list(portal: str, email: str, database_url: str | None) -> None:
        """List the live sessions of EMAIL in PORTAL, most recently active first."""
        engine = open_engine(database_url)
        try:
            migrate_database(engine)
            compiled, row = _user(engine, portal, email)
            with engine.connect() as conn:
                found = live_sessions(conn, compiled, int(row["id"]))
            for info in found:
                click.echo(session_line(info))
            click.echo(f"{len(found)} live session(s) of {row['email']}", err=True)
        finally:
            engine.dispose()

    @sessions_group.command(name="revoke")
    @click.argument("portal")
    @click.argument("email")
    @database_option
    @handle_errors
    def sessions_revoke(portal: str, email: str, database_url: str | None) -> None:
        """End every session of EMAIL in PORTAL (audited)."""
        from portalis.engine.data import audit
        from portalis.engine.data.db import begin_write

        from ..sessions import end_user_sessions

        engine = open_engine(database_url)
        try:
            migrate_database(engine)
            compiled, row = _user(engine, portal, email)
            uid = int(row["id"])
            with begin_write(engine) as conn:
                count = end_user_sessions(conn, compiled.slug, uid)
                audit.record_auth(
                    conn, portal=compiled.slug, action="sessions_revoked_by_admin",
                    actor_id=uid, email=row["email"], ip=None,
                    detail={"via": "cli", "count": count},
                )  # fmt: skip
            click.echo(f"revoked {count} session(s) of {row['email']}")
        finally:
            engine.dispose()
