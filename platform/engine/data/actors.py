"""Who acts on portal data: a signed-in user in their active account, an anonymous visitor or
the system actor, and how `$actor.*` values in declarative scopes resolve for them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ..definition.builtins import SYSTEM_ROLE
from ..definition.model import PortalModel


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user (with account and effective roles) or an anonymous visitor.

    `roles` are effective roles: declared roles, everything they inherit, and `authenticated`
    or `anonymous`. Expressions may read the attributes named in `__portalis_expose__`.
    """

    id: int | None
    account: int | None
    roles: frozenset[str]
    email: str = ""
    name: str = ""
    locale: str | None = None
    #: the client address of the request that acts (audit log only; never in expressions)
    ip: str | None = None
    #: for the system actor: the user whose action caused this write, if any
    on_behalf_of: int | None = None
    __portalis_expose__: ClassVar[frozenset[str]] = frozenset(
        {"id", "account", "roles", "email", "name"}
    )

    @property
    def is_authenticated(self) -> bool:
        """True for signed-in users."""
        return self.id is not None

    @property
    def is_system(self) -> bool:
        """True for the system actor of automations, timers and workflow actions."""
        return SYSTEM_ROLE in self.roles

    @classmethod
    def system(cls, on_behalf_of: int | None = None, *, ip: str | None = None) -> Actor:
        """The system actor: allowed everything, acting for `on_behalf_of` when a user's
        action caused the write (audit entries name that user)."""
        return cls(
            None, None, frozenset({SYSTEM_ROLE}), name="system", ip=ip, on_behalf_of=on_behalf_of
        )

    def with_ip(self, ip: str | None) -> Actor:
        """The same actor acting from `ip`."""
        return replace(self, ip=ip)

    @classmethod
    def anonymous(cls) -> Actor:
        """A visitor who is not signed in."""
        return cls(None, None, frozenset({"anonymous"}))

    @classmethod
    def for_user(
        cls,
        model: PortalModel,
        user_id: int,
        account: int | None,
        roles: Iterable[str],
        *,
        email: str = "",
        name: str = "",
        locale: str | None = None,
    ) -> Actor:
        """An actor for a user: declared roles expanded by inheritance, plus authenticated."""
        effective = model.role_closure(frozenset(roles) & frozenset(model.roles)) | {
            "authenticated"
        }
        return cls(user_id, account, frozenset(effective), email, name, locale)


class _Missing:
    """Marker: an `$actor.*` value the actor does not have (anonymous, staff account)."""


#: The value of an `$actor.*` reference the actor lacks (never matches a row).
MISSING: Any = _Missing()


def resolve_actor_value(actor: Actor, raw: Any) -> Any:
    """Substitute `$actor.id` / `$actor.account`; a missing actor value never matches."""
    if raw == "$actor.id":
        return MISSING if actor.id is None else actor.id
    if raw == "$actor.account":
        return MISSING if actor.account is None else actor.account
    return raw
