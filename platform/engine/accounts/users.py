"""Users of a portal: find, list, create, disable — the operations the runtime, the CLI and
administrators share.

Users are rows of the portal's built-in `user` table; roles and the password hash live in its
authentication columns, which the record store never returns in a record. Reads that need
those columns (sign-in, session loading, the admin lists) are here; every write goes through
the record store's user path (`user_writes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..data.errors import FieldMessage, NotFound, ValidationFailed
from ..data.permissions import Actor
from ..data.records import ReadStore
from ..data.store import RecordStore
from ..definition.fields import FieldValueError
from ..outbox.inbox import unread_column
from ..outbox.notify import Recipient
from ..portal import CompiledPortal
from .memberships import membership_count
from .passwords import hash_password
from .user_writes import insert_user, update_user

#: Where user rows are read from: a compiled portal or one of its stores.
Source = CompiledPortal | ReadStore

MIN_PASSWORD = 8


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as administrators see it (with the authentication state, never the hash)."""

    id: int
    email: str
    name: str
    account: int | None
    roles: tuple[str, ...]
    is_active: bool
    locale: str | None
    last_login_at: datetime | None = None
    has_password: bool = False


@dataclass(frozen=True, slots=True)
class SessionUser(Recipient):
    """What a request needs of its signed-in user: who they are (the fields an actor is made
    of, as for a notification's recipient) and their sign-in state — never the password hash
    or a field value (a page that shows those loads the row itself, `user_by_id`)."""

    is_active: bool
    has_password: bool
    password_changed_at: datetime | None
    #: unread in-app notifications (the bell); None when not read with the session
    unread: int | None = 0
    #: how many accounts the user belongs to (the header offers a switch from two on)
    accounts: int = 0

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> SessionUser:
        """The `SessionUser` of a whole user row (`find_user`, `user_by_id`; no count)."""
        return cls(
            int(row["id"]), str(row["email"] or ""), str(row["name"] or ""), row["account"],
            tuple(row["roles"] or ()), row.get("locale"), bool(row["is_active"]),
            bool(row.get("password_hash")), row.get("password_changed_at"), unread=None,
        )  # fmt: skip


def session_user_query(portal: Source, user_id: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """The columns of `SessionUser` (labelled `u_*`) for the user whose id is `user_id` — a
    column of the caller's session table: the caller adds that table's columns and
    conditions, so the session check, the user and the bell's count are one query."""
    table = portal.tables["user"]
    return sa.select(
        *(table.c[name].label(f"u_{name}") for name in _SESSION_COLUMNS),
        table.c.password_hash.is_not(None).label("u_has_password"),
        unread_column(portal.model.slug, table.c.id).label("u_unread"),
        membership_count(portal.model.slug, table.c.id).label("u_accounts"),
    ).where(table.c.id == user_id)


def session_user(row: Any) -> SessionUser:
    """The `SessionUser` of a row of `session_user_query`."""
    return SessionUser(
        int(row.u_id), str(row.u_email or ""), str(row.u_name or ""), row.u_account,
        tuple(row.u_roles or ()), row.u_locale, bool(row.u_is_active),
        bool(row.u_has_password), row.u_password_changed_at, int(row.u_unread or 0),
        int(row.u_accounts or 0),
    )  # fmt: skip


_SESSION_COLUMNS = (
    "id", "email", "name", "account", "roles", "locale", "is_active", "password_changed_at",
)  # fmt: skip


def normalize_email(email: str) -> str:
    """Logins compare e-mail addresses case-insensitively."""
    return email.strip().lower()


def find_user(conn: sa.Connection, portal: Source, email: str) -> dict[str, Any] | None:
    """The user row (with authentication columns) for an e-mail, if any."""
    table = portal.tables["user"]
    row = (
        conn.execute(sa.select(table).where(table.c.email == normalize_email(email)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def user_by_id(conn: sa.Connection, portal: Source, user_id: int) -> dict[str, Any] | None:
    """One user row with its authentication columns (sign-in, sessions), if it exists."""
    table = portal.tables["user"]
    row = conn.execute(sa.select(table).where(table.c.id == user_id)).mappings().first()
    return dict(row) if row is not None else None


def _info(row: Any) -> UserInfo:
    return UserInfo(
        int(row.id), str(row.email or ""), str(row.name or ""), row.account,
        tuple(row.roles or ()), bool(row.is_active), row.locale, row.last_login_at,
        bool(row.has_password),
    )  # fmt: skip


def _info_query(portal: Source) -> sa.Select[Any]:
    table = portal.tables["user"]
    return sa.select(
        table.c.id, table.c.email, table.c.name, table.c.account, table.c.roles,
        table.c.is_active, table.c.locale, table.c.last_login_at,
        table.c.password_hash.is_not(None).label("has_password"),
    )  # fmt: skip


def user_infos(conn: sa.Connection, portal: Source, ids: Sequence[int]) -> dict[int, UserInfo]:
    """The users with these ids (one query), by id; ids without a user are left out."""
    if not ids:
        return {}
    table = portal.tables["user"]
    rows = conn.execute(_info_query(portal).where(table.c.id.in_(sorted(set(ids)))))
    return {int(r.id): _info(r) for r in rows}


def list_users(conn: sa.Connection, portal: Source) -> list[UserInfo]:
    """Every user of the portal, by e-mail."""
    table = portal.tables["user"]
    return [_info(r) for r in conn.execute(_info_query(portal).order_by(table.c.email))]


def find_account(
    conn: sa.Connection, portal: Source, field: str, value: str
) -> tuple[int, str] | None:
    """(id, title) of the account whose `field` equals `value` ignoring case (sign-in
    providers place new users by a claim or their e-mail domain), if any."""
    table = portal.tables["account"]
    title = portal.model.entities["account"].title_field or "name"
    row = conn.execute(
        sa.select(table.c.id, table.c[title]).where(sa.func.lower(table.c[field]) == value.lower())
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _store(conn: sa.Connection, portal: CompiledPortal | RecordStore) -> RecordStore:
    """A record store for writes: the caller's (with its listeners' settings) or a plain one."""
    return portal if isinstance(portal, RecordStore) else portal.store(conn.engine)


def create_user(
    conn: sa.Connection,
    portal: CompiledPortal | RecordStore,
    *,
    email: str,
    name: str,
    password: str | None,
    roles: Iterable[str],
    account: int | None = None,
    locale: str | None = None,
    min_length: int = MIN_PASSWORD,
    password_hash: str | None = None,
    active: bool = True,
    actor: Actor | None = None,
    via: str | None = None,
) -> int:
    """Create a user through the record store in `conn`'s transaction; ValidationFailed for a
    bad e-mail, an unknown role, a short password or what the definition's rules refuse.

    `password_hash` stores an already hashed password instead of `password`; `actor` is the
    system actor acting for whoever creates the user (default: the system itself); `via`
    names what created it in the audit entry.
    """
    model = portal.model
    entity = model.entities["user"]
    errors: dict[str, list[FieldMessage]] = {}
    role_list = list(roles)
    unknown = [r for r in role_list if r not in model.roles or model.roles[r].builtin]
    if unknown:
        errors["roles"] = [
            FieldMessage("role", "unknown role(s): {roles}", {"roles": ", ".join(unknown)})
        ]
    if password is not None and len(password) < max(min_length, MIN_PASSWORD):
        errors["password"] = [
            FieldMessage(
                "too-short", "at least {min} characters", {"min": max(min_length, MIN_PASSWORD)}
            )
        ]
    values: dict[str, Any] = {}
    for key, raw in (
        ("email", normalize_email(email)),
        ("name", name),
        ("account", account),
        ("locale", locale),
    ):
        field = entity.fields[key]
        try:
            values[key] = field.kind.clean(field, raw)
        except FieldValueError as exc:
            errors[key] = [FieldMessage(exc.code, exc.template, exc.params)]
    if not errors and find_user(conn, portal, values["email"]) is not None:
        errors["email"] = [FieldMessage("unique", "a user with this e-mail exists")]
    if account is not None and not errors:
        accounts = portal.tables["account"]
        if conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account)).first() is None:
            errors["account"] = [FieldMessage("not-found", "no such account")]
    if errors:
        raise ValidationFailed(errors)
    if password_hash is None and password:
        password_hash = hash_password(password)
    return insert_user(
        _store(conn, portal), actor or Actor.system(), values, roles=role_list, active=active,
        password_hash=password_hash, conn=conn, via=via,
    )  # fmt: skip


def set_active(
    conn: sa.Connection,
    portal: CompiledPortal | RecordStore,
    email: str,
    active: bool,
    *,
    actor: Actor | None = None,
    via: str | None = None,
) -> int:
    """Enable or disable a user through the record store; returns the user id. Disabling
    ends no sessions by itself: callers do (`runtime.sessions.end_user_sessions`)."""
    user = find_user(conn, portal, email)
    if user is None:
        raise NotFound(f"no user {email!r}")
    store = _store(conn, portal)
    update_user(store, actor or Actor.system(), int(user["id"]), active=active, conn=conn, via=via)
    return int(user["id"])
