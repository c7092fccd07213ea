"""Live updates: open pages learn of news without a reload, by short polling.

A page with something live — blocks with `live: true`, or the notification bell when the
portal declares `live_updates:` — carries a small hidden element with its updates URL, a
cursor and the stamp of each live part, and loads `static/live-updates.js`. While the page is
visible, the script asks `GET /<portal>/_updates/<page>[/<id>]?since=<cursor>` every
`interval_seconds` (backing off on errors). The answer is:

- **304 Not Modified** when the cursor still matches: the work is the session check every
  request makes (which also brings the unread count of the bell) plus one statement of
  indexed scalar subqueries under the viewer's row filters (`engine.data.change_stamps`);
- **200** with the new cursor, each part's stamp and the bell — the script then re-fetches
  only the blocks whose stamp changed, rendered by the server as on the page
  (`GET <page URL>?_fragment=<block index>`, see `pages`), so no HTML is built in JavaScript;
- **404** when the page is not live, the viewer may not open it, or may not read its record:
  the same answer a record page gives, so the endpoint tells nothing about other accounts.

Polls are no activity: they do not extend the session's idle time (`context.load_user`). No
thread waits per client and no state is kept in a process: every worker on every host gives
the same answer from the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from flask import abort, g, render_template, request
from markupsafe import Markup
from werkzeug.wrappers import Response

from portalis.engine.data.change_stamps import Stamp, Watch, read_stamps
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.block_configs import DetailBlock, ListBlock
from portalis.engine.definition.model import Page

from .fragments import fragments_of, hole
from .notifications import notification_bell
from .page_records import page_entity
from .registry import RuntimePortal
from .templating import gettext as _
from .urls import portal_url

#: The poll interval (seconds) of pages with live blocks in a portal without `live_updates:`.
DEFAULT_INTERVAL = 10
#: Answers of the updates endpoint are never stored by a browser or a proxy.
NO_STORE = "no-store, private"
_CACHE = "live-elements"


def live_blocks(page: Page) -> list[int]:
    """Indexes of the page's blocks that refresh themselves (`live: true`)."""
    return [
        b.index
        for b in page.blocks
        if isinstance(b.config, DetailBlock | ListBlock) and b.config.live and page.has_id
    ]


def bell_is_live(portal: RuntimePortal, actor: Actor) -> bool:
    """True when the portal's bell updates live and the actor has one (signed in)."""
    live = portal.compiled.model.live_updates
    return live is not None and live.bell and actor.id is not None


def _watches(page: Page, entity: str, record_id: int) -> list[Watch]:
    """The page's record (always: it decides 404) and the children its live lists show."""
    watches = [Watch("record", entity, record_id)]
    for index in live_blocks(page):
        cfg = page.blocks[index].config
        if isinstance(cfg, ListBlock) and cfg.parent:
            watches.append(Watch(f"block-{index}", cfg.entity, record_id, cfg.parent))
    return watches


def current_parts(
    portal: RuntimePortal, actor: Actor, page: Page, record_id: int | None, entity: str | None
) -> dict[str, str] | None:
    """Each live part's stamp for this viewer (`block-<i>`, `bell`); None when the page's
    record (`entity` #`record_id`, when given) is not readable to them. At most one query
    (none for the bell: its count came with the session)."""
    parts: dict[str, str] = {}
    if record_id is not None and entity:
        stamps = read_stamps(portal.store, actor, _watches(page, entity, record_id))
        record = stamps.get("record")
        if record is None:
            return None
        for index in live_blocks(page):
            key = f"block-{index}"
            stamp = record if isinstance(page.blocks[index].config, DetailBlock) else stamps[key]
            parts[key] = _digest(stamp)
    if bell_is_live(portal, actor):
        bell = notification_bell()
        if bell is not None:
            parts["bell"] = str(bell["count"])
    return parts


def cursor_of(portal: RuntimePortal, actor: Actor, parts: Mapping[str, str]) -> str:
    """The cursor of a state: changes with any part, with the viewer and the portal version
    (a republished page asks its blocks again only when their stamps differ)."""
    text = json.dumps([portal.version, actor.id, sorted(parts.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _digest(stamp: Stamp | None) -> str:
    text = json.dumps(stamp, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _interval(portal: RuntimePortal) -> int:
    live = portal.compiled.model.live_updates
    return live.interval_seconds if live is not None else DEFAULT_INTERVAL


def _updates_url(page: Page, record_id: int | None) -> str:
    suffix = f"/{int(record_id)}" if record_id is not None else ""
    return portal_url(f"/_updates/{page.name}{suffix}")


def live_element(
    portal: RuntimePortal, actor: Actor, page: Page, record_id: int | None, entity: str | None
) -> Markup | None:
    """The hidden element (and script) that makes an open page live, or None when nothing
    on it is. Read before the blocks render: a change in between makes the first poll
    fetch again rather than miss it."""
    blocks = live_blocks(page)
    if not blocks and not bell_is_live(portal, actor):
        return None
    # the page has just read its record as the actor: without live blocks, nothing to stamp
    parts = current_parts(portal, actor, page, record_id, entity if blocks else None)
    if parts is None or not parts:
        return None
    values = {
        "url": _updates_url(page, record_id),
        "cursor": cursor_of(portal, actor, parts),
        "parts": json.dumps(parts, separators=(",", ":")),
    }
    # rendered once per locale and URL prefix with holes for what varies (`fragments`)
    key = (g.locale, g.get("portal_prefix"))
    fragment = fragments_of(portal.cache, _CACHE).get_or_render(
        key, lambda: _render(portal, {n: hole(n) for n in values}), values
    )
    return fragment.fill(values) if fragment is not None else _render(portal, values)


def _render(portal: RuntimePortal, values: Mapping[str, Any]) -> Markup:
    return Markup(
        render_template(
            "live.html",
            interval=_interval(portal),
            # what the script announces to screen readers ({section}: the block's name)
            msg_new=_("New in %(section)s:", section="{section}"),
            msg_updated=_("%(section)s was updated.", section="{section}"),
            **values,
        )
    )


def updates_view(portal: RuntimePortal, actor: Actor, page: str, id: int | None = None) -> Response:
    """GET: 304 when nothing the viewer watches on `page` changed since the cursor (`since=`
    or `If-None-Match`), else 200 with the new cursor, the parts' stamps and the bell."""
    found = portal.compiled.model.pages.get(page)
    if found is None or not found.roles & actor.roles or found.has_id != (id is not None):
        abort(404)
    if not live_blocks(found) and not bell_is_live(portal, actor):
        abort(404)
    entity = page_entity(portal.compiled.model, found) if id is not None else None
    parts = current_parts(portal, actor, found, id, entity)
    if parts is None or not parts:
        abort(404)
    cursor = cursor_of(portal, actor, parts)
    headers = {"Cache-Control": NO_STORE, "ETag": f'"{cursor}"', "Vary": "Cookie"}
    since = request.args.get("since") or request.headers.get("If-None-Match", "").strip('W/"')
    if since == cursor:
        return Response(status=304, headers=headers)
    body: dict[str, Any] = {"cursor": cursor, "interval": _interval(portal), "parts": parts}
    if "bell" in parts:
        bell = notification_bell()
        body["bell"] = None if bell is None else {k: bell[k] for k in ("count", "badge", "label")}
    return Response(json.dumps(body), headers=headers, mimetype="application/json")


#: `sys:*` endpoint → view (see `routing.SYSTEM_ROUTES`).
VIEWS: dict[str, Any] = {"sys:updates": updates_view, "sys:record_updates": updates_view}
