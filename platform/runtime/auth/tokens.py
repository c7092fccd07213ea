"""One-time tokens for e-mailed links: verification, password reset, invitations, e-mail change.

A token is 256 random bits (URL-safe); the database keeps only its SHA-256, the purpose, the
user and the deadline. Consuming a token is one conditional UPDATE, so a token works once
even when two requests race. A token may carry a small payload after a dot (the new address
of an e-mail change): it is part of the hashed string, so it cannot be altered.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from portalis.engine.data.tables import utcnow

from ..bearer import digest, new_secret
from ..runtime_tables import tokens

VERIFY = "verify"
RESET = "reset"
INVITE = "invite"
EMAIL = "email"

#: How long each kind of link works.
LIFETIMES = {
    VERIFY: timedelta(hours=48),
    RESET: timedelta(hours=1),
    INVITE: timedelta(days=7),
    EMAIL: timedelta(hours=24),
}
#: Tokens look like this; anything else is refused before touching the database.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}(?:\.[A-Za-z0-9_-]{1,400})?")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A valid token: whose it is, what for, and its payload (if any)."""

    user_id: int
    purpose: str
    payload: str | None


def _encode(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode(token: str) -> str | None:
    _, dot, data = token.partition(".")
    if not dot:
        return None
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def issue(
    conn: sa.Connection,
    portal: str,
    purpose: str,
    user_id: int,
    *,
    payload: str | None = None,
    lifetime: timedelta | None = None,
) -> str:
    """Create a token; returns it for the link (the database keeps only its hash)."""
    token = new_secret()
    if payload is not None:
        token += "." + _encode(payload)
    now = utcnow()
    conn.execute(
        tokens.insert().values(
            id=digest(token),
            portal=portal,
            purpose=purpose,
            user_id=user_id,
            created_at=now,
            expires_at=now + (lifetime or LIFETIMES[purpose]),
            used_at=None,
        )
    )
    return token


def _live(
    portal: str, purposes: Iterable[str], token: str, now: datetime
) -> sa.ColumnElement[bool]:
    return sa.and_(
        tokens.c.id == digest(token),
        tokens.c.portal == portal,
        tokens.c.purpose.in_(list(purposes)),
        tokens.c.used_at.is_(None),
        tokens.c.expires_at > now,
    )


def peek(conn: sa.Connection, portal: str, purposes: Iterable[str], token: str) -> TokenInfo | None:
    """The token's facts when it is valid (unused, unexpired, right purpose), else None."""
    if not _SHAPE.fullmatch(token):
        return None
    row = conn.execute(
        sa.select(tokens.c.user_id, tokens.c.purpose).where(
            _live(portal, purposes, token, utcnow())
        )
    ).first()
    if row is None:
        return None
    return TokenInfo(int(row[0]), str(row[1]), _decode(token))


def consume(
    conn: sa.Connection, portal: str, purposes: Iterable[str], token: str
) -> TokenInfo | None:
    """Use the token up; None when it is invalid or another request used it first."""
    wanted = list(purposes)
    info = peek(conn, portal, wanted, token)
    if info is None:
        return None
    used = conn.execute(
        tokens.update().where(_live(portal, wanted, token, utcnow())).values(used_at=utcnow())
    )
    return info if used.rowcount == 1 else None


def revoke(conn: sa.Connection, portal: str, user_id: int, purposes: Iterable[str]) -> int:
    """Invalidate every open token of a user for `purposes` (e.g. after a password change)."""
    result = conn.execute(
        tokens.update()
        .where(
            tokens.c.portal == portal,
            tokens.c.user_id == user_id,
            tokens.c.purpose.in_(list(purposes)),
            tokens.c.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return int(result.rowcount or 0)


def issued_since(
    conn: sa.Connection, portal: str, user_id: int, purpose: str, since: timedelta
) -> int:
    """How many tokens of `purpose` the user got recently (rate limit for mailed links)."""
    count = conn.execute(
        sa.select(sa.func.count())
        .select_from(tokens)
        .where(
            tokens.c.portal == portal,
            tokens.c.user_id == user_id,
            tokens.c.purpose == purpose,
            tokens.c.created_at > utcnow() - since,
        )
    ).scalar_one()
    return int(count)


def has_open(conn: sa.Connection, portal: str, user_id: int, purpose: str) -> bool:
    """True when the user has an unused token of `purpose` (expired or not)."""
    row = conn.execute(
        sa.select(tokens.c.id).where(
            tokens.c.portal == portal,
            tokens.c.user_id == user_id,
            tokens.c.purpose == purpose,
            tokens.c.used_at.is_(None),
        )
    ).first()
    return row is not None
