"""The page around a portal page's blocks, rendered once per shape (`fragments`).

`page.html` (with `layout.html`) depends on the request through few things: the locale, the
URL prefix, the page, the actor's roles and whether they are signed in, which navigation
entry is current, whether the bell shows unread notifications, and whether an overlay (the
builder's preview banner) is present. Those make the shape's key. What varies within a shape
— the title, the user's name and initial, the CSRF field, the bell's label and badge, the
account switcher, the overlay and the blocks' HTML — are the holes (a hole `split` does not
find in the shape makes it unkeepable, and every request would render the template). A request with flashed messages renders the
template as it is (the messages are read once, then gone; only the layout reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app, g, render_template, session
from markupsafe import Markup

from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.model import Page

from .auth.account_switch import account_switcher
from .fragments import fragments_of, hole
from .notifications import notification_bell
from .registry import RuntimePortal
from .templating import OVERLAY, csrf_input, current_nav, initial, nav_entries, portal_overlay

_CACHE = "page-shells"
_FIXED = ("title", "who", "initial", "csrf", "bell_label", "bell_badge", "overlay", "switcher")


class _ShellActor:
    """What the layout reads of the actor while a shape is rendered: the real roles and
    sign-in state, holes for the name."""

    def __init__(self, actor: Actor) -> None:
        self.is_authenticated = actor.is_authenticated
        self.roles = actor.roles
        self.name = hole("who")
        self.email = hole("who")


def render_page(
    portal: RuntimePortal,
    actor: Actor,
    page: Page,
    blocks: Sequence[Markup],
    title: str,
    record: Record | None,
) -> str:
    """`page.html` for this request: filled from its shape's fragment when there is one."""
    if "_flashes" in session:
        return render_template("page.html", page=page, blocks=blocks, title=title, record=record)
    bell = notification_bell()
    overlay = current_app.extensions.get(OVERLAY)
    roles = actor.roles
    key = (
        g.locale,
        g.get("portal_prefix"),
        page.name,
        len(blocks),
        roles,
        actor.is_authenticated,
        current_nav(nav_entries(portal.cache, roles)),
        None if bell is None else bool(bell["count"]),
        overlay is not None,
    )
    names = (*_FIXED, *(f"block{i}" for i in range(len(blocks))))
    fragment = fragments_of(portal.cache, _CACHE).get_or_render(
        key, lambda: _render_shape(page, len(blocks), actor, bell, overlay is not None), names
    )
    if fragment is None:
        return render_template("page.html", page=page, blocks=blocks, title=title, record=record)
    who = actor.name or actor.email
    values: dict[str, Any] = {
        "title": title,
        "who": who,
        "initial": initial(who),
        "csrf": csrf_input() if actor.is_authenticated else "",
        "bell_label": bell["label"] if bell is not None else "",
        "bell_badge": bell["badge"] if bell is not None else "",
        "overlay": portal_overlay() if overlay is not None else "",
        "switcher": account_switcher(actor) if actor.is_authenticated else "",
    }
    for i, html in enumerate(blocks):
        values[f"block{i}"] = html
    return fragment.fill(values)


def _render_shape(
    page: Page, count: int, actor: Actor, bell: dict[str, Any] | None, overlay: bool
) -> str:
    """`page.html` of one shape, with holes for what varies within it."""
    shape_bell = (
        None if bell is None else {**bell, "label": hole("bell_label"), "badge": hole("bell_badge")}
    )
    extra: dict[str, Any] = {"portal_overlay": lambda: hole("overlay")} if overlay else {}
    shell_actor = _ShellActor(actor)
    return render_template(
        "page.html",
        page=page,
        blocks=[hole(f"block{i}") for i in range(count)],
        title=hole("title"),
        record=None,
        actor=lambda: shell_actor,
        initial=lambda _who: hole("initial"),
        csrf_input=lambda: hole("csrf"),
        notification_bell=lambda: shape_bell,
        account_switcher=lambda _actor: hole("switcher"),
        **extra,
    )
