"""The request guards of a portal, applied to the builder's pages of that portal.

`/_builder/p/<slug>/…` is served at platform level, not through the portal's dispatcher, so
the guards (`portalis_request_guards`, collected once at start-up) are asked here with a
model of the portal and the path `/_builder/<rest>` — the path a guard sees for the builder
area inside a portal. A guard that keeps the builder to some networks (a portal's `builder`
allow-list) therefore applies to these pages exactly as it does under the portal. The
builder account is no portal user: the guard sees an anonymous actor.

Which model the guards are asked with:

- a portal this process serves: its served version, for every page of the portal and of
  its drafts (a draft cannot loosen what is live);
- a portal that is live but not served here (its version failed to load): none, so the
  pages are refused while any guard is loaded (fail closed);
- a portal that was never published (a new portal's draft, from `/_builder/new`): the
  draft's head revision, compiled once per revision (`reviews`), so the allow-list the
  draft declares already keeps its pages to those networks. When that revision does not
  compile, the pages follow the rule of the platform-level pages (`/_builder/`,
  `/_builder/new`): no portal's guards apply, the account's rights decide — a broken draft
  of a portal that serves nothing can still be fixed in the files editor.
"""

from __future__ import annotations

from flask import request

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.model import PortalModel
from portalis.engine.deploy.versions import live_versions
from portalis.engine.drafts import DraftInfo
from portalis.engine.guards import GuardRequest
from portalis.runtime.context import request_client_ip, state
from portalis.runtime.dispatch import ask_guards
from portalis.runtime.registry import RuntimePortal

from .reviews import reviewed


def builder_path(rest: str) -> str:
    """The portal-relative path guards see for the builder page `rest` of a portal."""
    return "/_builder/" + rest.lstrip("/")


def guards_allow(portal: RuntimePortal | None, rest: str) -> bool:
    """True when every guard lets this client open the builder page `rest` of `portal`.

    Without a served version (none ever loaded) the guards cannot be asked: refused when
    any guard is loaded (fail closed), allowed otherwise.
    """
    if not state().guards:
        return True
    if portal is None:
        return False
    return _ask(portal.slug, portal.compiled.model, rest)


def draft_guards_allow(slug: str, draft: DraftInfo, rest: str) -> bool:
    """True when every guard lets this client open the builder page `rest` of `draft` of
    portal `slug`: asked with the served version, or, for a portal that was never
    published, with the draft's head revision (allowed when it does not compile)."""
    st = state()
    if not st.guards:
        return True
    served = st.registry.get(slug)
    if served is not None or slug in live_versions(st.engine):
        return guards_allow(served, rest)
    compiled = reviewed(draft.id, draft.head).compiled
    if compiled is None:
        return True  # as on /_builder/new: nothing of this portal is served anywhere
    return _ask(slug, compiled.model, rest)


def _ask(slug: str, model: PortalModel, rest: str) -> bool:
    ip = request_client_ip()
    actor = Actor.anonymous().with_ip(ip)
    return ask_guards(slug, GuardRequest(model, ip, actor, builder_path(rest), request.method))
