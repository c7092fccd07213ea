"""A list block's URL parameters and links: the query it reads from the URL, the sort,
pager, clear and export links, and the parameters its toolbar keeps. `changed_url` is pure
and memoized: a list page asks for the same links on every request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from flask import request

from ..urls import portal_url
from .base import BlockContext

#: Parameter names a filter field may not take (it becomes `f_<name>` instead).
RESERVED_PARAMS = frozenset({"sort", "page", "size", "q", "lang", "id", "next"})


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The block's parameters from the URL: filters, search, sort and paging."""

    prefix: str
    filters: Mapping[str, str]
    search: str | None
    sort: str
    page: int
    size: int

    def param(self, name: str) -> str:
        """The URL name of parameter `name` for this block."""
        return self.prefix + name

    @property
    def narrowed(self) -> bool:
        """True when a filter or search is active."""
        return bool(self.filters or self.search)


def filter_param(prefix: str, name: str) -> str:
    """The URL name of the filter on field `name`."""
    return prefix + (f"f_{name}" if name in RESERVED_PARAMS else name)


def kept_params(
    args: Mapping[str, Any], query: ListQuery, filters: Sequence[str]
) -> list[tuple[str, str]]:
    """Parameters of other blocks (and the sort), kept when this toolbar is submitted."""
    own = {query.param(p) for p in ("page", "q")} | {filter_param(query.prefix, n) for n in filters}
    getlist = getattr(args, "getlist", None)
    pairs = []
    for key in args:
        if key in own:
            continue
        for value in getlist(key) if getlist else [args[key]]:
            pairs.append((key, str(value)))
    return pairs


def list_url(
    ctx: BlockContext,
    query: ListQuery,
    *,
    page: int | None = None,
    sort: str | None = None,
    clear: bool = False,
) -> str:
    """The current page's URL with this block's parameters changed."""
    getlist = getattr(ctx.args, "getlist", None)
    args = tuple((k, tuple(getlist(k)) if getlist else (ctx.args[k],)) for k in ctx.args)
    dropped = (query.param("q"), query.param("page")) + tuple(
        filter_param(query.prefix, name) for name in query.filters
    )
    change = (request.path, args, dropped if clear else (), query.param("sort"), sort)
    try:
        return changed_url(*change, query.param("page"), page)
    except TypeError:  # an unhashable argument value: the same URL, not memoized
        return changed_url.__wrapped__(*change, query.param("page"), page)


def export_url(ctx: BlockContext, query: ListQuery, parent_id: int | None) -> str:
    """The CSV export of this block with the same filters, search and sort."""
    params: dict[str, Any] = {filter_param(query.prefix, k): v for k, v in query.filters.items()}
    params[query.param("q")] = query.search
    params[query.param("sort")] = query.sort
    params["id"] = parent_id
    return portal_url(f"/_export/{ctx.page.name}/{ctx.block.index}.csv", **params)


@lru_cache(maxsize=4096)
def changed_url(
    path: str,
    args: tuple[tuple[str, tuple[Any, ...]], ...],
    dropped: tuple[str, ...],
    sort_param: str,
    sort: str | None,
    page_param: str,
    page: int | None,
) -> str:
    """`path` with the query `args` less the `dropped` parameters and with a new sort and
    page (page 1 drops the parameter). Pure, so memoized: a list page asks for the same
    sort, pager and clear links on every request."""
    pairs = {k: list(values) for k, values in args}
    for key in dropped:
        pairs.pop(key, None)
    if sort is not None:
        pairs[sort_param] = [sort]
    if page is not None:
        pairs[page_param] = [str(page)]
        if page == 1:
            pairs.pop(page_param)
    flat = [(k, v) for k, values in pairs.items() for v in values]
    return path + ("?" + urlencode(flat) if flat else "")
