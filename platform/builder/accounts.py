"""Builder accounts: platform-level people who build portals (never a portal's users).

An account has an e-mail address, a password (Argon2, checked by the same policy code as
portal passwords) and rights per portal (`rights`). The second factor is the application's
(`portalis_second_factors`), keyed by the reserved portal key `BUILDER_KEY` — not a valid
portal slug, so no portal's enrolments, sessions or throttling rows can be confused with an
account's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from portalis.engine.accounts.passwords import hash_password
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.auth_config import PasswordPolicy
from portalis.runtime.auth.policy import PasswordIssue, check_password

from .rights import Rights, grant, load_rights
from .tables import accounts

#: The portal key of builder accounts in shared tables (sessions, second factor, throttling,
#: audit): a slug starts with a letter, so no portal can take it.
BUILDER_KEY = "_builder"
#: The password rules of builder accounts (those of a portal's password provider by default).
PASSWORD_POLICY = PasswordPolicy(min_length=12, lockout_after=5)


class AccountExists(ValueError):
    """An account with this e-mail address exists already."""


@dataclass(frozen=True, slots=True)
class Account:
    """A builder account with its rights."""

    id: int
    email: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    rights: Rights
    #: the Argon2 hash (never shown: left out of the repr)
    password_hash: str = field(default="", repr=False)


def normalise_email(email: str) -> str:
    """Addresses are compared case-insensitively and without surrounding blanks."""
    return email.strip().lower()


def password_issues(password: str, email: str) -> list[PasswordIssue]:
    """What is wrong with `password` for the account `email` (the portal password rules:
    length, common passwords, no part of the address)."""
    return check_password(password, PASSWORD_POLICY, context=(email, email.split("@")[0]))


def create_account(
    conn: sa.Connection,
    email: str,
    password: str,
    *,
    portals: Iterable[str],
    rights: Iterable[str],
) -> int:
    """Create an account with `rights` on `portals` (`*`: all); returns its id. The caller
    checked the password (`password_issues`). Raises `AccountExists`."""
    email = normalise_email(email)
    if conn.execute(sa.select(accounts.c.id).where(accounts.c.email == email)).first():
        raise AccountExists(email)
    result = conn.execute(
        accounts.insert().values(
            email=email,
            password_hash=hash_password(password),
            is_active=True,
            created_at=utcnow(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None and key[0] is not None  # every dialect returns the new id
    user_id = int(key[0])
    grant(conn, user_id, portals, rights)
    return user_id


def _account(conn: sa.Connection, row: sa.RowMapping) -> Account:
    return Account(
        int(row["id"]),
        str(row["email"]),
        bool(row["is_active"]),
        row["created_at"],
        row["last_login_at"],
        load_rights(conn, int(row["id"])),
        str(row["password_hash"]),
    )


def find_account(conn: sa.Connection, email: str) -> Account | None:
    """The account of `email` (active or not), or None."""
    row = (
        conn.execute(sa.select(accounts).where(accounts.c.email == normalise_email(email)))
        .mappings()
        .first()
    )
    return _account(conn, row) if row is not None else None


def account_by_id(conn: sa.Connection, user_id: int) -> Account | None:
    """The account `user_id`, or None."""
    row = conn.execute(sa.select(accounts).where(accounts.c.id == user_id)).mappings().first()
    return _account(conn, row) if row is not None else None


def list_accounts(conn: sa.Connection) -> list[Account]:
    """Every account, by e-mail address."""
    rows = conn.execute(sa.select(accounts).order_by(accounts.c.email)).mappings().all()
    return [_account(conn, row) for row in rows]


def set_active(conn: sa.Connection, email: str, active: bool) -> Account | None:
    """Enable or disable the account of `email`; the account before the change, or None."""
    found = find_account(conn, email)
    if found is not None:
        conn.execute(accounts.update().where(accounts.c.id == found.id).values(is_active=active))
    return found


def record_login(conn: sa.Connection, user_id: int) -> None:
    """Note a completed sign-in (password and second factor)."""
    conn.execute(accounts.update().where(accounts.c.id == user_id).values(last_login_at=utcnow()))
