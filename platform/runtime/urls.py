"""Portal-relative URLs (the portal may be mounted at /<slug> or at a domain's root)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import g


def portal_url(path: str = "/", **query: object) -> str:
    """`/acme-support/tickets?page=2` for `portal_url("/tickets", page=2)`."""
    prefix = str(g.get("portal_prefix", ""))
    url = prefix + (path if path.startswith("/") else "/" + path)
    params = {k: v for k, v in query.items() if v is not None and v != ""}
    if params:
        url += "?" + urlencode(params, doseq=True)
    return url


def page_url(page_name: str, record_id: int | None = None, **query: object) -> str:
    """The URL of a page of the current portal (with the record id for `<id>` routes)."""
    model = g.portal.compiled.model
    route = model.pages[page_name].route
    if record_id is not None:
        route = route.replace("<id>", str(int(record_id)))
    return portal_url(route, **query)


def record_urls(page_name: str) -> Callable[[int], str]:
    """`page_url(page_name, id)` as a function of the id, with the route resolved once (list
    rows and reference cells link many records to one page)."""
    head, _, tail = page_url(page_name).partition("<id>")
    return lambda record_id: f"{head}{int(record_id)}{tail}"
