"""Users of a portal: create, list, disable — the operations the CLI and admins share.

Users are rows of the portal's built-in `user` table; roles and the password hash live in its
authentication columns, which the record store never returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..data.errors import NON_FIELD, FieldMessage, NotFound, ValidationFailed
from ..data.store import unique_errors
from ..data.tables import utcnow
from ..data.user_rows import user_locale_error
from ..definition.fields import FieldValueError
from ..portal import CompiledPortal
from .passwords import hash_password

MIN_PASSWORD = 8


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as administrators see it."""

    id: int
    email: str
    name: str
    account: int | None
    roles: tuple[str, ...]
    is_active: bool
    locale: str | None


def normalize_email(email: str) -> str:
    """Logins compare e-mail addresses case-insensitively."""
    return email.strip().lower()


def find_user(conn: sa.Connection, portal: CompiledPortal, email: str) -> dict[str, Any] | None:
    """The user row (with authentication columns) for an e-mail, if any."""
    table = portal.tables["user"]
    row = (
        conn.execute(sa.select(table).where(table.c.email == normalize_email(email)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def create_user(
    conn: sa.Connection,
    portal: CompiledPortal,
    *,
    email: str,
    name: str,
    password: str | None,
    roles: Iterable[str],
    account: int | None = None,
    locale: str | None = None,
    min_length: int = MIN_PASSWORD,
) -> int:
    """Create a user; ValidationFailed for a bad e-mail, unknown role or short password."""
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
    wrong_locale = user_locale_error(model.locales, values.get("locale"))
    if wrong_locale is not None and "locale" not in errors:
        errors["locale"] = [wrong_locale]
    if not errors and find_user(conn, portal, values["email"]) is not None:
        errors["email"] = [FieldMessage("unique", "a user with this e-mail exists")]
    table = portal.tables["user"]
    if account is not None and not errors:
        accounts = portal.tables["account"]
        if conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account)).first() is None:
            errors["account"] = [FieldMessage("not-found", "no such account")]
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    row: dict[str, Any] = {"created_at": now, "updated_at": now, "version": 1}
    for key, field in entity.fields.items():
        if not field.stored:  # virtual: computed on read, no column
            continue
        row.update(field.kind.to_storage(field, values.get(key, field.default)))
    row.update(
        roles=role_list,
        is_active=True,
        password_hash=hash_password(password) if password else None,
        password_changed_at=now if password else None,
    )
    with unique_errors(entity):
        inserted = conn.execute(table.insert().values(**row)).inserted_primary_key
    if inserted is None:  # pragma: no cover - every dialect returns the key
        raise ValidationFailed({NON_FIELD: [FieldMessage("insert", "could not create user")]})
    return int(inserted[0])


def list_users(conn: sa.Connection, portal: CompiledPortal) -> list[UserInfo]:
    """Every user of the portal, by e-mail."""
    table = portal.tables["user"]
    rows = conn.execute(sa.select(table).order_by(table.c.email)).mappings()
    return [
        UserInfo(
            r["id"],
            r["email"],
            r["name"],
            r["account"],
            tuple(r["roles"] or ()),
            bool(r["is_active"]),
            r["locale"],
        )
        for r in rows
    ]


def set_active(conn: sa.Connection, portal: CompiledPortal, email: str, active: bool) -> int:
    """Enable or disable a user; returns the user id. Disabling ends sessions (runtime hook)."""
    user = find_user(conn, portal, email)
    if user is None:
        raise NotFound(f"no user {email!r}")
    table = portal.tables["user"]
    conn.execute(
        table.update()
        .where(table.c.id == user["id"])
        .values(is_active=active, updated_at=utcnow(), version=table.c.version + 1)
    )
    return int(user["id"])
