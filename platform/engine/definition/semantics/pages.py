"""Semantic checks of pages, blocks, navigation, auth references, theme, locales and labels."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies

from ...problems import JsonPath, Severity
from ..css import unsafe_css
from ..loader import match_files
from ..model import RESERVED_ROUTE_SEGMENTS, SYSTEM_COLUMNS
from .base import Ctx, check_field_ref, check_role_refs, suggest

_SEGMENT = re.compile(r"^([A-Za-z0-9._~-]+|<id>)$")
_LABEL_KEYS = frozenset({"label", "plural_label", "title", "description", "message", "help"})


def normalize_route(route: str) -> str:
    """The route with parameters replaced, for duplicate detection."""
    return re.sub(r"<[^>]*>", "<>", route.rstrip("/") or "/")


def check_pages(ctx: Ctx) -> None:
    """Routes, page roles and every block."""
    pages = ctx.data.get("pages") or {}
    routes: dict[str, str] = {}
    for name, page in pages.items():
        base: JsonPath = ("pages", name)
        route = str(page.get("route", ""))
        segments = route.split("/")[1:] if route != "/" else []
        if route != "/" and not all(_SEGMENT.match(s) for s in segments):
            ctx.add(
                "route-syntax",
                f"malformed route {route!r}",
                (*base, "route"),
                "routes look like /tickets or /tickets/<id>; <id> is the only parameter",
            )
        elif route.count("<id>") > 1:
            ctx.add("route-syntax", "a route has at most one <id>", (*base, "route"))
        elif segments and (segments[0] in RESERVED_ROUTE_SEGMENTS or segments[0].startswith("_")):
            ctx.add(
                "route-reserved",
                f"route {route!r} is reserved for the portal's own pages",
                (*base, "route"),
                "reserved: /"
                + ", /".join(sorted(RESERVED_ROUTE_SEGMENTS))
                + " and paths starting with _",
            )
        key = normalize_route(route)
        if key in routes:
            ctx.add(
                "route-duplicate",
                f"route {route!r} is also the route of page {routes[key]!r}",
                (*base, "route"),
                "give each page its own route",
            )
        else:
            routes[key] = name
        check_role_refs(ctx, page.get("roles") or [], (*base, "roles"))
        for i, block in enumerate(page.get("blocks") or []):
            kind, options = next(iter(block.items()))
            check_block(ctx, name, page, kind, options, (*base, "blocks", i, kind))


def check_block(
    ctx: Ctx, page_name: str, page: dict[str, Any], kind: str, options: Any, path: JsonPath
) -> None:
    """References inside one built-in block."""
    has_id = "<id>" in str(page.get("route", ""))
    if kind == "metrics":
        for i, metric in enumerate(options):
            _check_metric(ctx, metric, (*path, i))
        return
    if not isinstance(options, dict) or "entity" not in options:
        return
    entity = options["entity"]
    if entity not in ctx.entities:
        ctx.add(
            "ref-unknown-entity",
            f"unknown entity {entity!r}",
            (*path, "entity"),
            suggest(entity, ctx.entities),
        )
        return
    if kind == "list":
        for i, col in enumerate(options.get("columns") or []):
            check_field_ref(ctx, entity, col, (*path, "columns", i), system=True)
        for i, col in enumerate(options.get("filters") or []):
            check_field_ref(ctx, entity, col, (*path, "filters", i), need="filterable")
        for i, col in enumerate(options.get("search") or []):
            check_field_ref(ctx, entity, col, (*path, "search", i), need="searchable")
        sort = str(options.get("sort", "-updated_at")).lstrip("-")
        check_field_ref(ctx, entity, sort, (*path, "sort"), need="sortable", system=True)
        link = options.get("link")
        if link is not None:
            _check_page_link(ctx, link, (*path, "link"), need_id=True)
    elif kind == "detail":
        if not has_id:
            ctx.add(
                "block-route",
                f"a detail block needs a route with <id>; page {page_name!r} has none",
                path,
            )
        for i, col in enumerate(options.get("fields") or []):
            check_field_ref(ctx, entity, col, (*path, "fields", i), system=True)
    elif kind == "form":
        if options.get("mode") == "edit" and not has_id:
            ctx.add("block-route", "an edit form needs a route with <id>", (*path, "mode"))
        for i, col in enumerate(options.get("fields") or []):
            if col in SYSTEM_COLUMNS:
                ctx.add(
                    "ref-unknown-field",
                    f"{col!r} is a system column and cannot be edited",
                    (*path, "fields", i),
                )
            else:
                check_field_ref(ctx, entity, col, (*path, "fields", i))
        redirect = options.get("redirect")
        if redirect is not None:
            _check_page_link(ctx, redirect, (*path, "redirect"), need_id=False)
    parent = options.get("parent")
    if parent is not None and kind in ("list", "form"):
        _check_parent_option(ctx, entity, parent, has_id, (*path, "parent"), _page_entity(page))


def _page_entity(page: dict[str, Any]) -> str | None:
    """The entity whose record a page with <id> shows (its detail block, or edit form)."""
    for block in page.get("blocks") or []:
        kind, options = next(iter(block.items()))
        if isinstance(options, dict) and (
            kind == "detail" or (kind == "form" and options.get("mode") == "edit")
        ):
            return str(options.get("entity"))
    return None


def _check_parent_option(
    ctx: Ctx, entity: str, parent: str, has_id: bool, path: JsonPath, shown: str | None
) -> None:
    spec = ctx.fields_of(entity).get(parent)
    if spec is None or spec.get("type") != "ref":
        refs = [n for n, f in ctx.fields_of(entity).items() if f.get("type") == "ref"]
        ctx.add(
            "ref-unknown-field",
            f"parent {parent!r} is not a ref field of {entity}",
            path,
            suggest(parent, refs),
        )
    elif not has_id:
        ctx.add("block-route", "a block with parent: belongs on a page whose route has <id>", path)
    elif shown is not None and spec.get("to") != shown:
        ctx.add(
            "block-option",
            f"parent {parent!r} refers to {spec.get('to')}, but this page shows a {shown}",
            path,
            f"use the ref field of {entity} that points to {shown}",
        )


def _check_page_link(ctx: Ctx, page: str, path: JsonPath, *, need_id: bool) -> None:
    pages = ctx.data.get("pages") or {}
    if page not in pages:
        ctx.add("ref-unknown-page", f"unknown page {page!r}", path, suggest(page, pages))
    elif need_id and "<id>" not in str(pages[page].get("route", "")):
        ctx.add("route-param", f"page {page!r} has no <id> in its route to link a row to", path)


def _check_metric(ctx: Ctx, metric: dict[str, Any], path: JsonPath) -> None:
    entity = metric.get("entity")
    if entity not in ctx.entities:
        ctx.add(
            "ref-unknown-entity",
            f"unknown entity {entity!r}",
            (*path, "entity"),
            suggest(str(entity), ctx.entities),
        )
        return
    if metric.get("aggregate") == "sum":
        fname = metric.get("field")
        if fname is None:
            ctx.add("block-option", "a sum needs field:", path)
        elif check_field_ref(ctx, entity, fname, (*path, "field")):
            ftype = ctx.fields_of(entity)[fname].get("type")
            if ftype not in ("int", "decimal", "money"):
                ctx.add(
                    "block-option",
                    f"cannot sum {fname!r} ({ftype})",
                    (*path, "field"),
                    "sum int, decimal or money fields",
                )
    if metric.get("group_by") is not None:
        check_field_ref(ctx, entity, metric["group_by"], (*path, "group_by"), need="filterable")


def check_navigation(ctx: Ctx) -> None:
    """Navigation entries name pages without parameters."""
    pages = ctx.data.get("pages") or {}
    for i, name in enumerate(ctx.data.get("navigation") or []):
        if name not in pages:
            ctx.add(
                "navigation-unknown",
                f"unknown page {name!r}",
                ("navigation", i),
                suggest(name, pages),
            )
        elif "<" in str(pages[name].get("route", "")):
            ctx.add(
                "navigation-param",
                f"page {name!r} needs a record id and cannot be in navigation",
                ("navigation", i),
            )


def check_theme_and_locales(ctx: Ctx) -> None:
    """Theme assets exist and are safe; locales and currency are known."""
    theme = ctx.data.get("theme") or {}
    for key in ("logo", "css"):
        asset = theme.get(key)
        if asset is None:
            continue
        if asset not in ctx.bundle.files:
            ctx.add(
                "file-missing",
                f"theme {key} {asset!r} is not in the definition folder",
                ("theme", key),
            )
        elif key == "css" and (found := unsafe_css(ctx.bundle.files[asset])):
            ctx.add(
                "asset-unsafe",
                f"custom CSS contains {found!r}",
                ("theme", key),
                "remove @import, expression(), javascript: and </style from the CSS",
            )
        elif key == "logo" and not asset.endswith(".svg"):
            ctx.add("file-type", "the logo must be an SVG file", ("theme", key))
    for i, code in enumerate(ctx.data.get("locales") or []):
        try:
            Locale.parse(code.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            ctx.add(
                "locale-unknown",
                f"unknown locale {code!r}",
                ("locales", i),
                "use codes like en, de, fr, es, pt-BR",
            )
    currency = ctx.data.get("currency")
    if currency is not None and currency not in list_currencies():
        ctx.add(
            "currency-unknown",
            f"unknown currency {currency!r}",
            ("currency",),
            "use an ISO 4217 code such as EUR, USD, GBP",
        )


def check_seed_and_networks(ctx: Ctx) -> None:
    """Seed globs stay inside the definition; allow-list entries are networks."""
    for i, pattern in enumerate(ctx.data.get("seed") or []):
        matches = match_files(ctx.bundle, str(pattern))
        if matches is None:
            ctx.add(
                "include-bad",
                f"seed pattern {pattern!r} must be a relative path inside the definition",
                ("seed", i),
                "write patterns like seed/*.yaml",
            )
        elif not matches:
            ctx.add(
                "include-empty",
                f"seed pattern {pattern!r} matches no file",
                ("seed", i),
                severity=Severity.WARNING,
            )
    allowlist = (ctx.data.get("auth") or {}).get("ip_allowlist") or {}
    entries: list[tuple[JsonPath, Any]] = []
    for key in ("portal", "builder"):
        entries.extend(
            (("auth", "ip_allowlist", key, i), v) for i, v in enumerate(allowlist.get(key) or [])
        )
    for role, nets in (allowlist.get("roles") or {}).items():
        entries.extend(
            (("auth", "ip_allowlist", "roles", role, i), v) for i, v in enumerate(nets or [])
        )
    for path, value in entries:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            ctx.add(
                "schema-format",
                f"{value!r} is not an IP network",
                path,
                "write networks as 10.0.0.0/8 or 2001:db8::/32",
            )


def check_translations(ctx: Ctx) -> None:
    """Warn about labels that miss a declared locale (they fall back to the default)."""
    locales = list(ctx.data.get("locales") or [])
    if len(locales) < 2:
        return
    _walk_labels(ctx, ctx.data, (), locales)


def _walk_labels(ctx: Ctx, node: Any, path: JsonPath, locales: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            child = (*path, key)
            texts = (
                isinstance(value, dict)
                and bool(value)
                and all(isinstance(v, str) for v in value.values())
            )
            if texts and (key in _LABEL_KEYS or key == "markdown"):
                missing = [loc for loc in locales if loc not in value]
                if missing:
                    ctx.add(
                        "translation-missing",
                        f"no {', '.join(missing)} text",
                        child,
                        "the default locale's text is shown instead",
                        severity=Severity.WARNING,
                    )
            else:
                _walk_labels(ctx, value, child, locales)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _walk_labels(ctx, item, (*path, i), locales)
