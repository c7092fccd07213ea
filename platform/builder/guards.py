"""The request guards of a portal, applied to the builder's pages of that portal.

`/_builder/p/<slug>/…` is served at platform level, not through the portal's dispatcher, so
the guards (`portalis_request_guards`, collected once at start-up) are asked here with the
portal's served version and the path `/_builder/<rest>` — the path a guard sees for the
builder area inside a portal. A guard that keeps the builder to some networks (a portal's
`builder` allow-list) therefore applies to these pages exactly as it does under the portal.
The builder account is no portal user: the guard sees an anonymous actor.
"""

from __future__ import annotations

from flask import request

from portalis.engine.data.permissions import Actor
from portalis.engine.guards import GuardRequest
from portalis.runtime.context import request_client_ip, state
from portalis.runtime.dispatch import ask_guards
from portalis.runtime.registry import RuntimePortal


def builder_path(rest: str) -> str:
    """The portal-relative path guards see for the builder page `rest` of a portal."""
    return "/_builder/" + rest.lstrip("/")


def guards_allow(portal: RuntimePortal | None, rest: str) -> bool:
    """True when every guard lets this client open the builder page `rest` of `portal`.

    Without a served version (none ever loaded) the guards cannot be asked: refused when
    any guard is loaded (fail closed), allowed otherwise.
    """
    guards = state().guards
    if not guards:
        return True
    if portal is None:
        return False
    ip = request_client_ip()
    actor = Actor.anonymous().with_ip(ip)
    ask = GuardRequest(portal.compiled.model, ip, actor, builder_path(rest), request.method)
    return ask_guards(portal.slug, ask)
