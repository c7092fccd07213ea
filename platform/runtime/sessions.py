"""Server-side session records: logout, disabling a user and timeouts really end sessions.

The browser holds a random secret (inside Flask's signed cookie); the database holds its
SHA-256, the user, and the idle and absolute deadlines. Every worker sees the same records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from portalis.engine.accounts.users import SessionUser, Source, session_user, session_user_query
from portalis.engine.data.tables import utcnow

from .bearer import digest, new_secret
from .runtime_tables import sessions

#: last_seen is written at most this often (keeps reads cheap on busy pages); the session
#: cookie is re-sent (its expiry moved) only then, or when the cookie session changes.
TOUCH_INTERVAL = timedelta(seconds=60)


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything stored is UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as its owner sees it in the session list."""

    id: str
    created_at: datetime
    last_seen: datetime
    ip: str | None
    user_agent: str | None


def open_session(
    conn: sa.Connection,
    portal: str,
    user_id: int,
    *,
    absolute_hours: int,
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Start a session; returns the secret for the cookie (never stored in clear)."""
    secret = new_secret()
    now = utcnow()
    conn.execute(
        sessions.insert().values(
            id=digest(secret),
            portal=portal,
            user_id=user_id,
            created_at=now,
            last_seen=now,
            expires_at=now + timedelta(hours=absolute_hours),
            ip=(ip or "")[:64],
            user_agent=(user_agent or "")[:300],
            revoked=False,
        )
    )
    return secret


def session_state(
    conn: sa.Connection, portal: str, secret: str, *, idle_minutes: int
) -> tuple[int, bool] | None:
    """(user id, activity worth recording) of a live session; None when it is unknown,
    revoked, idle or expired.

    Read-only: refreshing `last_seen` is a separate short write (`touch`), so a request never
    upgrades a read transaction into a write one (SQLite refuses that at once under
    concurrent writers instead of waiting for the lock).
    """
    row = conn.execute(
        sa.select(sessions.c.user_id, *_STATE).where(
            sessions.c.id == digest(secret), sessions.c.portal == portal
        )
    ).first()
    due = _live(row, idle_minutes)
    return None if row is None or due is None else (int(row.user_id), due)


def session_query(portal: Source) -> sa.Select[Any]:
    """The session check of `portal` as one query — the session, the user's columns a request
    needs and the bell's count — with the session's digest as the parameter `sid`. Build it
    once per portal version (`session_with_user` takes it): building it costs several times
    more than running it."""
    return (
        session_user_query(portal, sessions.c.user_id)
        .add_columns(*_STATE)
        .where(sessions.c.id == sa.bindparam("sid"), sessions.c.portal == portal.model.slug)
    )


def session_with_user(
    conn: sa.Connection, query: sa.Select[Any], secret: str, *, idle_minutes: int
) -> tuple[SessionUser, bool] | None:
    """(the signed-in user, activity worth recording) of a live session, by the portal's
    `session_query`; None when the session is unknown, revoked, idle or expired (an
    inactive user is returned: the caller refuses them)."""
    row = conn.execute(query, {"sid": digest(secret)}).first()
    due = _live(row, idle_minutes)
    return None if row is None or due is None else (session_user(row), due)


#: The columns that decide whether a session is live.
_STATE = (sessions.c.revoked, sessions.c.expires_at, sessions.c.last_seen)


def _live(row: Any, idle_minutes: int) -> bool | None:
    """None when the session `row` (of `_STATE`) is missing or over; else whether its
    `last_seen` is due for a refresh."""
    if row is None or row.revoked:
        return None
    now = utcnow()
    last_seen = _aware(row.last_seen)
    if _aware(row.expires_at) <= now or last_seen + timedelta(minutes=idle_minutes) <= now:
        return None
    return now - last_seen >= TOUCH_INTERVAL


def touch(conn: sa.Connection, secret: str) -> None:
    """Record activity on a session (keeps it from idling out)."""
    conn.execute(
        sessions.update().where(sessions.c.id == digest(secret)).values(last_seen=utcnow())
    )


def close_session(conn: sa.Connection, secret: str) -> None:
    """End one session (logout)."""
    conn.execute(sessions.update().where(sessions.c.id == digest(secret)).values(revoked=True))


def end_user_sessions(
    conn: sa.Connection, portal: str, user_id: int, *, keep: str | None = None
) -> int:
    """End every session of a user (disable, password change); `keep` spares one secret."""
    query = sessions.update().where(
        sessions.c.portal == portal, sessions.c.user_id == user_id, sessions.c.revoked.is_(False)
    )
    if keep is not None:
        query = query.where(sessions.c.id != digest(keep))
    return int(conn.execute(query.values(revoked=True)).rowcount or 0)


def user_sessions(conn: sa.Connection, portal: str, user_id: int) -> list[SessionInfo]:
    """Live sessions of a user, newest first."""
    now = utcnow()
    rows = conn.execute(
        sa.select(sessions)
        .where(
            sessions.c.portal == portal,
            sessions.c.user_id == user_id,
            sessions.c.revoked.is_(False),
            sessions.c.expires_at > now,
        )
        .order_by(sessions.c.last_seen.desc())
    ).mappings()
    return [
        SessionInfo(
            r["id"][:16], _aware(r["created_at"]), _aware(r["last_seen"]), r["ip"], r["user_agent"]
        )
        for r in rows
    ]


def revoke_by_prefix(conn: sa.Connection, portal: str, user_id: int, prefix: str) -> bool:
    """Revoke one of the user's own sessions by the id prefix shown in the session list."""
    if len(prefix) < 16:
        return False
    result = conn.execute(
        sessions.update()
        .where(
            sessions.c.portal == portal,
            sessions.c.user_id == user_id,
            sessions.c.id.startswith(prefix, autoescape=True),
        )
        .values(revoked=True)
    )
    return bool(result.rowcount)
