"""Who receives a notification: the recipients an action's `to:` names, resolved for one record.

`creator` (the record's `created_by`), `actor` (who acted; for the system actor the user it
acts for), a ref field to `user` (e.g. `assignee`), `role:<name>` — for a staff role every
active user holding it (directly or through inheritance), for other roles the active users
who hold it in the record's account (as their home account, or by a membership: they receive
it as that account's member, with the roles they have there) — and a ref path (`account.sales_rep`, `order.account`, or a
ref to `account` alone) ending at a user, or at an account, which means every active user of
that account. Only active users are returned, each once; the acting user only when `actor`
is listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..data.errors import NON_FIELD, FieldMessage, ValidationFailed
from ..data.permissions import Actor
from ..data.system_tables import memberships
from ..definition.model import Entity, PortalModel

if TYPE_CHECKING:
    from ..data.store import RecordStore


class NotificationFailed(ValidationFailed):
    """A notification could not be sent (unknown template or recipient, a template that fails
    to render): the triggering write is refused like a failing action."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__({NON_FIELD: [FieldMessage("notification-failed", message, params)]})


@dataclass(frozen=True, slots=True)
class Recipient:
    """An active user who receives a notification."""

    id: int
    email: str
    name: str
    account: int | None
    roles: tuple[str, ...]
    locale: str | None

    def actor(self, model: PortalModel) -> Actor:
        """The recipient as an actor (what they may read decides what they are shown)."""
        return Actor.for_user(
            model, self.id, self.account, self.roles,
            email=self.email, name=self.name, locale=self.locale,
        )  # fmt: skip


# -- sending ------------------------------------------------------------------------------
def recipients(
    store: RecordStore,
    conn: sa.Connection,
    *,
    to: Sequence[str],
    entity: Entity,
    record: Mapping[str, Any],
    actor: Actor,
) -> list[Recipient]:
    """The active users `to` names for `record`, each once, in the order listed (users of a
    role by id); the acting user only when `actor` is listed."""
    model = store.model
    users = store.tables["user"]
    acting = actor.on_behalf_of if actor.is_system else actor.id
    ids: list[int] = []
    roles: list[str] = []
    accounts: list[int] = []
    for spec in to:
        if spec == "creator":
            ids.append(record.get("created_by") or 0)
        elif spec == "actor":
            ids.append(acting or 0)
        elif spec.startswith("role:"):
            roles.append(spec.removeprefix("role:"))
        elif "." in spec or _ref_target(entity, spec) == "account":
            target, reached = follow_path(store, conn, entity, record, spec)
            if target == "user":
                ids.append(reached or 0)
            elif reached is not None:
                accounts.append(reached)
        else:
            field = entity.fields.get(spec)
            if field is None or field.type != "ref" or getattr(field.config, "to", None) != "user":
                raise NotificationFailed(
                    "recipient {name!r} is not a field of {entity} referring to a user",
                    name=spec, entity=entity.name,
                )  # fmt: skip
            ids.append(record.get(spec) or 0)
    columns = [users.c[n] for n in ("id", "email", "name", "account", "roles", "locale")]
    active = sa.select(*columns).where(users.c.is_active.is_(True))
    found: dict[int, Recipient] = {}
    wanted = [i for i in ids if i]
    if wanted:
        for row in conn.execute(active.where(users.c.id.in_(wanted))).mappings():
            found[int(row["id"])] = _recipient(row)
    ordered = [found[i] for i in dict.fromkeys(wanted) if i in found]
    for account in dict.fromkeys(accounts):
        query = active.where(users.c.account == account).order_by(users.c.id)
        ordered.extend(_recipient(row) for row in conn.execute(query).mappings())
    for role in roles:
        ordered.extend(_role_members(model, conn, active, users, role, entity, record))
    seen: set[int] = set()
    out: list[Recipient] = []
    for user in ordered:
        if user.id in seen or (user.id == acting and "actor" not in to):
            continue
        seen.add(user.id)
        out.append(user)
    return out


def _ref_target(entity: Entity, name: str) -> str | None:
    """The entity a ref field points to (None: no such ref field)."""
    field = entity.fields.get(name)
    if field is None or field.type != "ref":
        return None
    target = getattr(field.config, "to", None)
    return str(target) if target else None


def follow_path(
    store: RecordStore,
    conn: sa.Connection,
    entity: Entity,
    record: Mapping[str, Any],
    path: str,
) -> tuple[str, int | None]:
    """Follow a recipient path (`account.sales_rep`) from `record`: (the entity the last ref
    points to — `user` or `account` —, the id it holds, None when a step is empty).

    The engine reads the refs itself: who is told is the definition's decision, and what each
    recipient then sees of the record is still decided by their own rights (`deliver`).
    """
    steps = path.split(".")
    current: Entity = entity
    value: Any = record.get(steps[0])
    target: str | None = None
    for i, step in enumerate(steps):
        target = _ref_target(current, step)
        if target is None or target not in store.model.entities:
            raise NotificationFailed(
                "recipient {name!r}: {entity} has no ref field {step!r}",
                name=path, entity=current.name, step=step,
            )  # fmt: skip
        if i > 0 and value is not None:
            table = store.tables[current.name]
            value = conn.execute(sa.select(table.c[step]).where(table.c.id == int(value))).scalar()
        current = store.model.entities[target]
    if target not in ("user", "account"):
        raise NotificationFailed(
            "recipient {name!r} leads to a {target}, not to a user or an account",
            name=path, target=target,
        )  # fmt: skip
    return target, int(value) if value is not None else None


def _role_members(
    model: PortalModel,
    conn: sa.Connection,
    active: sa.Select[Any],
    users: sa.Table,
    role: str,
    entity: Entity,
    record: Mapping[str, Any],
) -> list[Recipient]:
    spec = model.roles.get(role)
    if spec is None:
        raise NotificationFailed("unknown role {role!r} among the recipients", role=role)
    if role == "anonymous":
        return []
    query = active
    holders: frozenset[str] | None = None
    if role != "authenticated":
        # users store their declared roles; anyone whose role inherits `role` holds it too
        holders = frozenset(r.name for r in model.roles.values() if role in r.closure)
        # the JSON list as text narrows the scan portably; membership is checked below
        text = sa.cast(users.c.roles, sa.Text)
        query = query.where(sa.or_(*(text.like(f'%"{name}"%') for name in sorted(holders))))
    account = None if spec.staff else record_account(entity, record)
    if not spec.staff:
        if account is None:
            return []
        query = query.where(users.c.account == account)
    members = [_recipient(row) for row in conn.execute(query.order_by(users.c.id)).mappings()]
    if account is not None:
        members += _account_members(model, conn, active, users, account)
    if holders is None:
        return members
    return [m for m in members if holders & set(m.roles)]


def _account_members(
    model: PortalModel, conn: sa.Connection, active: sa.Select[Any], users: sa.Table, account: int
) -> list[Recipient]:
    """The active users who belong to `account` by a membership (not their home account),
    as that account's members: its id and the roles they hold there."""
    query = (
        active.add_columns(memberships.c.roles.label("member_roles"))
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(
            memberships.c.portal == model.slug,
            memberships.c.account_id == account,
            users.c.account.is_distinct_from(account),
        )
        .order_by(users.c.id)
    )
    return [
        _recipient({**row, "account": account, "roles": row["member_roles"]})
        for row in conn.execute(query).mappings()
    ]


def _recipient(row: Mapping[Any, Any]) -> Recipient:
    return Recipient(
        id=int(row["id"]),
        email=str(row["email"] or ""),
        name=str(row["name"] or ""),
        account=row["account"],
        roles=tuple(row["roles"] or ()),
        locale=row["locale"],
    )


def record_account(entity: Entity, record: Mapping[str, Any]) -> int | None:
    """The account a record belongs to (its `account_field`; the id of an account)."""
    if entity.account_field is None:
        return None
    value = record.get(entity.account_field)
    return int(value) if value is not None else None
