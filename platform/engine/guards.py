"""Request guards: plugin checks that may refuse a portal request before it is served.

Plugins return guards from the `portalis_request_guards` hook. The runtime collects them once
when the application starts and calls each one for every portal request with a `GuardRequest`;
a guard that returns False refuses the request (403, with no portal data in the answer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .data.permissions import Actor
from .definition.model import PortalModel


@dataclass(frozen=True, slots=True)
class GuardRequest:
    """What a request guard may look at: portal, client address, actor and path."""

    #: the compiled definition of the portal the request is for
    model: PortalModel
    #: the client address (`X-Forwarded-For` only from `PORTALIS_TRUSTED_PROXIES`), as sent:
    #: may be an IPv4-mapped IPv6 address, or empty when the server does not know it
    client_ip: str
    #: the signed-in user (effective roles included), or an anonymous actor
    actor: Actor
    #: the path inside the portal, starting with "/" (no portal prefix, no query string)
    path: str
    #: the HTTP method
    method: str = "GET"


#: A request guard: True lets the request through, False refuses it.
RequestGuard = Callable[[GuardRequest], bool]
