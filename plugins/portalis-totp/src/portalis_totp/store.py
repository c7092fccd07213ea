"""Enrolments and recovery codes in the database (inside the caller's transaction)."""

from __future__ import annotations

import sqlalchemy as sa
from cryptography.fernet import InvalidToken

from portalis.api import utcnow

from . import codes, crypto
from .tables import enrolments, recovery_codes


def _where(table: sa.Table, portal: str, user_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.portal == portal, table.c.user_id == user_id)


def is_enrolled(conn: sa.Connection, portal: str, user_id: int) -> bool:
    """True when the user confirmed an enrolment."""
    query = sa.select(enrolments.c.confirmed_at).where(_where(enrolments, portal, user_id))
    return conn.execute(query).scalar() is not None


def enrolled_among(conn: sa.Connection, portal: str, user_ids: list[int]) -> set[int]:
    """Which of `user_ids` confirmed an enrolment (one query for a page of users)."""
    if not user_ids:
        return set()
    query = sa.select(enrolments.c.user_id).where(
        enrolments.c.portal == portal,
        enrolments.c.user_id.in_(user_ids),
        enrolments.c.confirmed_at.is_not(None),
    )
    return {int(uid) for uid in conn.execute(query).scalars()}


def pending_secret(conn: sa.Connection, portal: str, user_id: int) -> str:
    """The secret of the user's unconfirmed enrolment, created on first call (reloading the
    page keeps the secret the user may already have scanned). Raises ValueError when the
    user is already enrolled."""
    row = (
        conn.execute(sa.select(enrolments).where(_where(enrolments, portal, user_id)))
        .mappings()
        .first()
    )
    if row is not None and row["confirmed_at"] is not None:
        raise ValueError("already enrolled")
    if row is not None:
        try:
            return crypto.decrypt(row["secret"])
        except InvalidToken:  # the app's secret key changed: start over
            conn.execute(enrolments.delete().where(_where(enrolments, portal, user_id)))
    secret = codes.new_secret()
    conn.execute(
        enrolments.insert().values(
            portal=portal, user_id=user_id, secret=crypto.encrypt(secret), created_at=utcnow()
        )
    )
    return secret


def _code_step(
    conn: sa.Connection, portal: str, user_id: int, code: str, *, confirmed: bool
) -> int | None:
    """The time step `code` matches for the user's confirmed (or else pending) enrolment;
    None without such an enrolment, for a code that does not match, or when the secret no
    longer decrypts (the app's secret key changed)."""
    state = (
        enrolments.c.confirmed_at.is_not(None) if confirmed else enrolments.c.confirmed_at.is_(None)
    )
    query = sa.select(enrolments.c.secret).where(_where(enrolments, portal, user_id), state)
    stored = conn.execute(query).scalar()
    if stored is None:
        return None
    try:
        secret = crypto.decrypt(stored)
    except InvalidToken:
        return None
    return codes.matching_step(secret, code)


def confirm(conn: sa.Connection, portal: str, user_id: int, code: str) -> list[str] | None:
    """Finish enrolment with the first code: the fresh recovery codes, or None when the
    code does not match the pending secret."""
    step = _code_step(conn, portal, user_id, code, confirmed=False)
    if step is None:
        return None
    done = conn.execute(
        enrolments.update()
        .where(_where(enrolments, portal, user_id), enrolments.c.confirmed_at.is_(None))
        .values(confirmed_at=utcnow(), last_step=step)
    )
    if done.rowcount != 1:  # a parallel request confirmed first
        return None
    return replace_recovery_codes(conn, portal, user_id)


def replace_recovery_codes(conn: sa.Connection, portal: str, user_id: int) -> list[str]:
    """Drop the user's recovery codes and issue fresh ones (returned in clear, once)."""
    conn.execute(recovery_codes.delete().where(_where(recovery_codes, portal, user_id)))
    fresh = codes.new_recovery_codes()
    now = utcnow()
    conn.execute(
        recovery_codes.insert(),
        [
            {
                "portal": portal,
                "user_id": user_id,
                "code_hash": codes.recovery_hash(code),
                "created_at": now,
            }
            for code in fresh
        ],
    )
    return fresh


def unused_recovery_codes(conn: sa.Connection, portal: str, user_id: int) -> int:
    """How many recovery codes the user has left."""
    query = (
        sa.select(sa.func.count())
        .select_from(recovery_codes)
        .where(_where(recovery_codes, portal, user_id), recovery_codes.c.used_at.is_(None))
    )
    return int(conn.execute(query).scalar_one())


def use_totp(conn: sa.Connection, portal: str, user_id: int, code: str) -> bool:
    """Accept a current code once: its step must be later than the last accepted one
    (SECURITY A.9). The conditional update makes two parallel uses of one code fail."""
    step = _code_step(conn, portal, user_id, code, confirmed=True)
    if step is None:
        return False
    done = conn.execute(
        enrolments.update()
        .where(
            _where(enrolments, portal, user_id),
            sa.or_(enrolments.c.last_step.is_(None), enrolments.c.last_step < step),
        )
        .values(last_step=step)
    )
    return done.rowcount == 1


def use_recovery_code(conn: sa.Connection, portal: str, user_id: int, code: str) -> bool:
    """Consume an unused recovery code of the user; False when unknown or used."""
    if not is_enrolled(conn, portal, user_id):
        return False
    done = conn.execute(
        recovery_codes.update()
        .where(
            _where(recovery_codes, portal, user_id),
            recovery_codes.c.code_hash == codes.recovery_hash(code),
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return done.rowcount == 1


def remove(conn: sa.Connection, portal: str, user_id: int) -> bool:
    """Delete the user's enrolment and recovery codes; True when there was an enrolment."""
    conn.execute(recovery_codes.delete().where(_where(recovery_codes, portal, user_id)))
    done = conn.execute(enrolments.delete().where(_where(enrolments, portal, user_id)))
    return done.rowcount > 0
