"""Pages and endpoints plugins add to every portal (`portalis_portal_routes`).

Collected once at start-up; `routing.build_map` adds them to each version's URL map. The
dispatcher calls a plugin view like a system view, after checking `access`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pluggy

from portalis.engine.definition.model import RESERVED_ROUTE_SEGMENTS

if TYPE_CHECKING:
    from .auth.common import ViewResult

#: Who may call a plugin route: anyone, a signed-in user, or a user between the first and
#: the second factor of a login (enrolment pages of a required second factor).
Access = Literal["public", "user", "pending"]


@dataclass(frozen=True, slots=True)
class PortalRoute:
    """One plugin route inside every portal."""

    #: Werkzeug rule relative to the portal, e.g. "/profile/two-factor"
    rule: str
    #: "<plugin>:<name>"; must not start with "page:", "sys:" or "api:"
    endpoint: str
    #: the view: `view(portal, actor, **rule_args)` → a response or (body, status[, headers])
    view: Callable[..., ViewResult]
    methods: tuple[str, ...] = ("GET",)
    access: Access = "user"


def collect_routes(pm: pluggy.PluginManager, reserved: Iterable[str]) -> tuple[PortalRoute, ...]:
    """Every plugin's routes; ValueError for a clash with a system route or another plugin."""
    taken = set(reserved)
    endpoints: set[str] = set()
    routes: list[PortalRoute] = []
    results: list[list[PortalRoute]] = pm.hook.portalis_portal_routes()
    for result in reversed(results):
        for route in result:
            kind = route.endpoint.partition(":")[0]
            if kind in ("page", "sys", "api") or ":" not in route.endpoint:
                raise ValueError(f"plugin endpoint {route.endpoint!r} must be '<plugin>:<name>'")
            if route.rule.split("/")[1:2] not in [[s] for s in RESERVED_ROUTE_SEGMENTS]:
                # under a reserved segment a plugin route can never shadow a definition's page
                raise ValueError(
                    f"plugin route {route.rule!r} must start with one of "
                    + ", ".join(f"/{s}/" for s in sorted(RESERVED_ROUTE_SEGMENTS))
                )
            if route.rule in taken or route.endpoint in endpoints:
                raise ValueError(f"plugin route {route.rule!r} ({route.endpoint}) is taken")
            taken.add(route.rule)
            endpoints.add(route.endpoint)
            routes.append(route)
    return tuple(routes)
