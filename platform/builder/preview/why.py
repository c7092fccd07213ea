"""The "why?" panel of a previewed or viewed-as page: the policy's reasons for what it shows.

For the page being served (its `page:` endpoint), each entity its blocks show is explained
with `portalis.engine.data.explain`: whether the actor may read it and by which grant, each
field visible or hidden and why, and each record shown (the record of a record page, else
the newest records the actor may read — the first page of a list). System pages (profile,
notifications) show no entity: their panel says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from werkzeug.exceptions import HTTPException

from portalis.engine.data.explain import EntityReason, explain_entity, page_entities
from portalis.runtime.context import current_actor, state
from portalis.runtime.registry import RuntimePortal


@dataclass(frozen=True, slots=True)
class WhyPanel:
    """The explanations of one page for the request's actor."""

    page: str | None
    actor: str
    roles: tuple[str, ...]
    entities: tuple[EntityReason, ...]


def _record_id(portal: RuntimePortal) -> int | None:
    # inner requests address the portal by its slug (`/<slug>/tickets/3`)
    rest = str(request.environ.get("PATH_INFO", "")).removeprefix("/" + portal.slug)
    try:
        _, args = portal.url_map.bind("portal").match(rest or "/", method="GET")
    except HTTPException:
        return None
    found = args.get("id")
    return found if isinstance(found, int) else None


def why_panel(portal: RuntimePortal) -> WhyPanel:
    """The panel of the current inner request."""
    actor = current_actor()
    who = actor.name or actor.email or ("anonymous" if not actor.is_authenticated else "?")
    roles = tuple(sorted(actor.roles))
    endpoint = str(g.get("endpoint", ""))
    kind, _, name = endpoint.partition(":")
    model = portal.compiled.model
    if kind != "page" or name not in model.pages:
        return WhyPanel(None, who, roles, ())
    page = model.pages[name]
    record = _record_id(portal) if page.has_id else None
    reasons = []
    with state().engine.connect() as conn:
        for index, entity in enumerate(page_entities(model.entities, page.blocks)):
            ids = [record] if record is not None and index == 0 else None
            reasons.append(explain_entity(conn, portal.compiled, actor, entity, record_ids=ids))
    return WhyPanel(name, who, roles, tuple(reasons))
