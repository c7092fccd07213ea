"""The password policy: length, a common-password list, reuse history — and setting passwords.

Passwords are taken exactly as typed (no trimming, no normalization, no truncation), so the
length is counted in characters of what the user typed. The minimum comes from the definition
and is never below 8; up to MAX_LENGTH characters are accepted (ASVS asks for 64 at least).
Composition rules are deliberately absent (ASVS 6.2.5).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from portalis.engine.accounts.passwords import hash_password, verify_password
from portalis.engine.accounts.user_writes import update_user
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.auth_config import PasswordPolicy

from ..runtime_tables import password_history
from ..templating import gettext as _

#: The shipped list of the 10,000 most common passwords (see its header for the source).
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
#: No policy may ask for fewer characters than this.
MIN_LENGTH_FLOOR = 8
#: Longer input is refused (Argon2 pre-hashes, so this only bounds request work).
MAX_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class PasswordIssue:
    """Why a password is refused: a stable code and the parameters of its message."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The common-password list, case-folded (loaded once per process)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.casefold() for line in lines if line and not line.startswith("#"))


def min_length(policy: PasswordPolicy) -> int:
    """The effective minimum length of `policy`."""
    return max(policy.min_length, MIN_LENGTH_FLOOR)


def check_password(
    password: str, policy: PasswordPolicy, *, context: tuple[str, ...] = ()
) -> list[PasswordIssue]:
    """Issues of a new password under `policy`; `context` holds the user's e-mail and name."""
    issues: list[PasswordIssue] = []
    minimum = min_length(policy)
    if len(password) < minimum:
        issues.append(PasswordIssue("too-short", {"min": minimum}))
        return issues
    if len(password) > MAX_LENGTH:
        issues.append(PasswordIssue("too-long", {"max": MAX_LENGTH}))
        return issues
    folded = password.casefold()
    if folded in common_passwords():
        issues.append(PasswordIssue("common"))
    words = {w.casefold() for w in context if w}
    words |= {w.split("@")[0] for w in words if "@" in w}
    if folded in words:
        issues.append(PasswordIssue("personal"))
    return issues


def reused(
    conn: sa.Connection,
    portal: str,
    user_id: int,
    password: str,
    policy: PasswordPolicy,
    current_hash: str | None,
) -> bool:
    """True when `password` is the current one or among the last `policy.history` ones."""
    if policy.history <= 0:
        return False
    hashes = [current_hash] if current_hash else []
    rows = conn.execute(
        sa.select(password_history.c.password_hash)
        .where(password_history.c.portal == portal, password_history.c.user_id == user_id)
        .order_by(password_history.c.id.desc())
        .limit(policy.history)
    )
    hashes.extend(h for (h,) in rows if h not in hashes)
    return any(verify_password(stored, password) for stored in hashes)


def remember(conn: sa.Connection, portal: str, user_id: int, password_hash: str, keep: int) -> None:
    """Add a hash to the user's history and drop entries beyond the newest `keep`."""
    conn.execute(
        password_history.insert().values(
            portal=portal, user_id=user_id, password_hash=password_hash, created_at=utcnow()
        )
    )
    newest = (
        sa.select(password_history.c.id)
        .where(password_history.c.portal == portal, password_history.c.user_id == user_id)
        .order_by(password_history.c.id.desc())
        .limit(max(keep, 1))
    )
    kept = [i for (i,) in conn.execute(newest)]
    conn.execute(
        password_history.delete().where(
            password_history.c.portal == portal,
            password_history.c.user_id == user_id,
            password_history.c.id.not_in(kept),
        )
    )


def store_password(
    conn: sa.Connection,
    store: RecordStore,
    actor: Actor,
    user_id: int,
    password: str,
    policy: PasswordPolicy,
    *,
    changes: Mapping[str, Any] | None = None,
    active: bool | None = None,
) -> str:
    """Hash and store a new password through the store's user path (`actor`: the system
    actor acting for the user), with field `changes` and activation; returns the hash."""
    password_hash = hash_password(password)
    update_user(
        store, actor, user_id, changes, active=active, password_hash=password_hash, conn=conn
    )
    remember(conn, store.model.slug, user_id, password_hash, policy.history)
    return password_hash


def describe(issue: PasswordIssue) -> str:
    """The UI message of an issue, in the request's locale."""
    if issue.code == "too-short":
        return _("Use at least %(min)s characters.", **issue.params)
    if issue.code == "too-long":
        return _("Use at most %(max)s characters.", **issue.params)
    if issue.code == "common":
        return _("This password is too common. Choose one that is harder to guess.")
    return _("Do not use your e-mail address or name as your password.")


def validate_new_password(
    conn: sa.Connection | None,
    portal: str,
    policy: PasswordPolicy,
    password: str,
    confirm: str,
    *,
    user_id: int | None = None,
    current_hash: str | None = None,
    context: tuple[str, ...] = (),
) -> dict[str, list[str]]:
    """Field errors for a new password and its confirmation (`password`, `password_confirm`).

    Reuse is checked when `conn` and `user_id` are given (not for brand-new users).
    """
    errors: dict[str, list[str]] = {}
    messages = [describe(p) for p in check_password(password, policy, context=context)]
    if not messages and conn is not None and user_id is not None:
        if reused(conn, portal, user_id, password, policy, current_hash):
            messages.append(
                _("Choose a password you have not used recently (last %(n)s).", n=policy.history)
            )
    if messages:
        errors["password"] = messages
    if password != confirm:
        errors["password_confirm"] = [_("The passwords do not match.")]
    return errors
