"""Writes of user rows through the record store: fields, roles, activation and credentials.

A user is a record of the built-in `user` entity plus the table's authentication columns,
which are no fields (`tables.USER_AUTH_COLUMNS`) and so never leave the store in a record.
Every write of a user row — the profile, an e-mail change, an invitation, a registration,
an administrator's or account administrator's action, a sign-in provider's role mapping, the
CLI — comes through here, in the caller's transaction, and gets what every store write gets:

- field values are cleaned and checked against the actor's grants (readonly fields, field
  masks) and then by rules, `required_when`, computed fields, references and unique checks;
- roles and activation (`RECORD_STATE`) are record state: a write that changes fields, roles
  or activation is one `WriteEvent` — rollups, an audit entry (roles and `is_active` in its
  diff, `via` naming a sign-in provider), automations — committed with the caller's own
  writes (the auth audit event, ended sessions) or not at all;
- authentication columns are written only by the system actor. The runtime decides who may
  change them (the user after proving who they are, a portal administrator, an account
  administrator within their account, a provider for the roles its `role_map` manages) and
  acts on their behalf (`Actor.system(on_behalf_of=...)`), so the audit entry names them;
- password hashes and login times are credentials, not record state: they are written with
  the row's version, but never appear in an event, a diff or a record (the sign-in audit
  events record that they changed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.errors import FieldMessage, Forbidden, NotFound, ValidationFailed
from ..data.events import WriteEvent
from ..data.permissions import Actor
from ..data.tables import utcnow
from ..definition.model import PortalModel
from .memberships import remove_membership, sync_home_memberships

if TYPE_CHECKING:
    from ..data.store import RecordStore

#: Authentication columns that are record state: audited, seen by automations.
RECORD_STATE = ("roles", "is_active")


def checked_roles(model: PortalModel, roles: Iterable[str], held: Iterable[str] = ()) -> list[str]:
    """`roles` as stored (in the given order, no duplicates); ValidationFailed for built-in
    or undeclared roles, except those among `held` (roles the user already has keep their
    place when a definition dropped them: they grant nothing, and a role sync must not fail)."""
    wanted = list(dict.fromkeys(roles))
    kept = set(held)
    unknown = [
        r for r in wanted if r not in kept and (r not in model.roles or model.roles[r].builtin)
    ]
    if unknown:
        message = FieldMessage("role", "unknown role(s): {roles}", {"roles": ", ".join(unknown)})
        raise ValidationFailed({"roles": [message]})
    return wanted


def _system_only(actor: Actor, what: str) -> None:
    if not actor.is_system:
        raise Forbidden(f"{what} of a user are written by the system actor only")


def insert_user(
    store: RecordStore,
    actor: Actor,
    values: Mapping[str, Any],
    *,
    roles: Iterable[str],
    active: bool = True,
    password_hash: str | None = None,
    conn: sa.Connection | None = None,
    via: str | None = None,
) -> int:
    """Create a user from field `values` with `roles` (the system actor, acting for whoever
    creates the user); returns the new id. ValidationFailed as for any record."""
    _system_only(actor, "new users")
    entity = store.entity("user")
    role_list = checked_roles(store.model, roles)
    now = utcnow()
    auth = {
        "roles": role_list,
        "is_active": bool(active),
        "password_hash": password_hash,
        "password_changed_at": now if password_hash else None,
    }
    grants = store.policy.grants_for(actor, entity.name, "create")
    with store.transaction(conn) as c:
        merged, errors = store.prepare(
            c, actor, entity, store.starting_values(entity), values,
            store.writable(entity, grants), creating=True,
        )  # fmt: skip
        if errors:
            raise ValidationFailed(errors)
        author = actor.on_behalf_of
        new_id = store.insert_row(c, entity, merged, created_by=author, auth=auth)
        after = store.load_raw(c, entity, new_id)
        state = {name: (None, auth[name]) for name in RECORD_STATE}
        store.emit(c, WriteEvent("create", entity, actor, None, after, via=via, auth_changes=state))
        sync_home_memberships(c, store, [new_id])
    return new_id


def update_user(
    store: RecordStore,
    actor: Actor,
    user_id: int,
    changes: Mapping[str, Any] | None = None,
    *,
    roles: Iterable[str] | None = None,
    active: bool | None = None,
    password_hash: str | None = None,
    rehash: bool = False,
    signed_in: bool = False,
    account: int | None = None,
    conn: sa.Connection | None = None,
    via: str | None = None,
) -> dict[str, Any]:
    """Change a user row; returns it afterwards (with its authentication columns).

    `changes` are field values, written with the actor's grants like `RecordStore.update`.
    `roles`/`active` set the user's roles and activation; `password_hash` stores a new
    password (`rehash`: the same password in a newer hash format, its age unchanged);
    `signed_in` records a sign-in's time. These need the system actor. With `account`, only
    a user of that account is found (NotFound otherwise), checked on the locked row.
    """
    entity = store.entity("user")
    auth: dict[str, Any] = {}
    if active is not None:
        auth["is_active"] = bool(active)
    now = utcnow()
    if password_hash is not None:
        auth["password_hash"] = password_hash
        if not rehash:
            auth["password_changed_at"] = now
    if signed_in:
        auth["last_login_at"] = now
    if auth or roles is not None:
        _system_only(actor, "authentication columns")
    with store.transaction(conn) as c:
        current, grants = store.locked(c, actor, entity, user_id, "update")
        if account is not None and current.get("account") != account:
            raise NotFound(f"user #{user_id} not found")
        before = _row(c, store, int(current["id"]))
        if roles is not None:
            auth["roles"] = checked_roles(store.model, roles, held=before["roles"] or ())
        merged: Mapping[str, Any] = current
        if changes:
            merged, errors = store.prepare(
                c, actor, entity, current, changes, store.writable(entity, grants), creating=False
            )
            if errors:
                raise ValidationFailed(errors)
            store.check_post_image(c, actor, entity, "update", merged, changes)
        store.update_row(c, entity, current, merged, auth=auth)
        state = [n for n in RECORD_STATE if n in auth]
        if changes or state:
            after = store.load_raw(c, entity, current["id"])
            moved = {n: (before[n], auth[n]) for n in state if _differs(before[n], auth[n])}
            event = WriteEvent("update", entity, actor, current, after, via=via, auth_changes=moved)
            store.emit(c, event)
        moved_to = (
            after_account(c, store, int(current["id"]))
            if "account" in (changes or {})
            else before["account"]
        )
        if before["account"] != moved_to:
            # moved to another account: the old home membership ends with the move
            if before["account"] is not None:
                remove_membership(c, store.model.slug, int(current["id"]), before["account"])
            sync_home_memberships(c, store, [int(current["id"])])
        return _row(c, store, int(current["id"]))


def after_account(conn: sa.Connection, store: RecordStore, user_id: int) -> int | None:
    """The user's home account as the row holds it now."""
    table = store.tables["user"]
    found = conn.execute(sa.select(table.c.account).where(table.c.id == user_id)).scalar()
    return None if found is None else int(found)


def _differs(old: Any, new: Any) -> bool:
    if isinstance(new, list):  # roles: a set, whatever the order
        return set(old or ()) != set(new)
    return bool(old) != bool(new)


def _row(conn: sa.Connection, store: RecordStore, user_id: int) -> dict[str, Any]:
    table = store.tables["user"]
    row = conn.execute(sa.select(table).where(table.c.id == user_id)).mappings().one()
    return dict(row)
