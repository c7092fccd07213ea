"""Login throttling (ASVS 6.3.1): per e-mail address with exponential backoff, and per IP.

Every password check is recorded in `portalis_login_attempt` — for unknown addresses too, so
throttling reveals nothing about which accounts exist.

* Per address: after `lockout_after` failures within WINDOW (counted since the last success),
  the next attempt must wait BASE_DELAY, doubling with each further failure up to MAX_DELAY.
  Refused attempts are not recorded, so hammering does not extend the wait: the real user
  gets in with the right password once the backoff has passed. An address is never locked
  for good, and an attacker cannot deny a user sign-in from where they usually sign in:
  an IP that signed in to the address successfully within KNOWN_IP_DAYS only counts its own
  failures.
* Per IP: IP_LIMIT failures within WINDOW refuse every attempt from that IP until the oldest
  of them leaves the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from portalis.engine.data.tables import utcnow

from ..runtime_tables import login_attempts

WINDOW = timedelta(minutes=15)
IP_LIMIT = 20
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
KNOWN_IP_DAYS = 30
#: Attempt rows older than this are deleted when the address signs in.
RETENTION = timedelta(days=KNOWN_IP_DAYS)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an attempt may proceed; when not, for how long and why (`ip` or `account`)."""

    allowed: bool
    retry_after: int = 0
    reason: str = ""


ALLOWED = Verdict(True)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


def backoff(failures: int, lockout_after: int) -> timedelta:
    """The wait after `failures` recent failures (zero below the threshold)."""
    if failures < lockout_after:
        return timedelta(0)
    steps = min(failures - lockout_after, 16)
    wait: timedelta = min(BASE_DELAY * (2**steps), MAX_DELAY)
    return wait


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def check(
    conn: sa.Connection,
    portal: str,
    email: str,
    ip: str,
    *,
    lockout_after: int,
    now: datetime | None = None,
) -> Verdict:
    """May an attempt for `email` from `ip` be checked now?"""
    now = now or utcnow()
    since = now - WINDOW
    t = login_attempts
    ip_failures = sa.and_(
        t.c.portal == portal, t.c.ip == ip, t.c.success.is_(False), t.c.at > since
    )
    count = conn.execute(sa.select(sa.func.count()).where(ip_failures)).scalar_one()
    if count >= IP_LIMIT:
        # once this failure leaves the window, the IP is below the limit again
        pivot = conn.execute(
            sa.select(t.c.at).where(ip_failures).order_by(t.c.at).offset(count - IP_LIMIT).limit(1)
        ).scalar_one()
        return Verdict(False, _seconds(_aware(pivot) + WINDOW - now), "ip")

    mine = sa.and_(t.c.portal == portal, t.c.email == email)
    known = conn.execute(
        sa.select(t.c.id)
        .where(mine, t.c.ip == ip, t.c.success.is_(True))
        .where(t.c.at > now - timedelta(days=KNOWN_IP_DAYS))
        .limit(1)
    ).first()
    scope = sa.and_(mine, t.c.ip == ip) if known is not None else mine
    last_success = conn.execute(
        sa.select(sa.func.max(t.c.at)).where(scope, t.c.success.is_(True))
    ).scalar_one()
    start = max(since, _aware(last_success)) if last_success is not None else since
    failures, last_failure = conn.execute(
        sa.select(sa.func.count(), sa.func.max(t.c.at)).where(
            scope, t.c.success.is_(False), t.c.at > start
        )
    ).one()
    wait = backoff(int(failures), lockout_after)
    if not wait or last_failure is None:
        return ALLOWED
    until = _aware(last_failure) + wait
    if until <= now:
        return ALLOWED
    return Verdict(False, _seconds(until - now), "account")


def record(conn: sa.Connection, portal: str, email: str, ip: str, *, success: bool) -> None:
    """Record one checked attempt (after a success, old rows of the address are pruned)."""
    now = utcnow()
    conn.execute(
        login_attempts.insert().values(
            portal=portal, email=email[:254], ip=ip[:64], at=now, success=success
        )
    )
    if success:
        conn.execute(
            login_attempts.delete().where(
                login_attempts.c.portal == portal,
                login_attempts.c.email == email[:254],
                login_attempts.c.at < now - RETENTION,
            )
        )
