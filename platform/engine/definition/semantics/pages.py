"""Semantic checks of pages (routes, roles), navigation, theme, locales, seed globs and labels;
each block's options are checked by its definition section."""

from __future__ import annotations

import re
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies

from ...problems import JsonPath, Severity
from ..css import unsafe_css
from ..loader import match_files
from ..model import RESERVED_ROUTE_SEGMENTS
from .base import Ctx, check_role_refs, suggest

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


def check_seed_globs(ctx: Ctx) -> None:
    """Seed globs stay inside the definition."""
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
