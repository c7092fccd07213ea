"""The semantic pass of the definition sections: every block's, provider entry's and plugin-owned
`auth:` key's own checks, plus the `${ENV}` rule for the options a section declares secret.

The schema pass has already checked each value against its section's schema; here each section
adds what a schema cannot say, with located problems. A check that raises is reported as a
`plugin-error` problem at the section (a plugin must not crash validation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...problems import JsonPath
from ..sections import DefinitionSection
from .base import Ctx, check_field_ref, check_role_refs, suggest
from .derived import literal_problem

#: `auth:` keys the core itself reads (everything else under `auth:` is a section).
CORE_AUTH_KEYS = frozenset({"providers", "sessions", "admin_roles"})


class _Context:
    """A `SectionContext` over one semantic pass."""

    __slots__ = ("_ctx", "page")

    def __init__(self, ctx: Ctx, page: Mapping[str, Any] | None = None) -> None:
        self._ctx = ctx
        self.page = page

    def problem(
        self, code: str, message: str, path: JsonPath, hint: str = "", *, key: bool = False
    ) -> None:
        self._ctx.add(code, message, path, hint, key=key)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self._ctx.roles)

    @property
    def entities(self) -> frozenset[str]:
        return frozenset(self._ctx.entities)

    @property
    def pages(self) -> Mapping[str, Any]:
        pages = self._ctx.data.get("pages") or {}
        return pages if isinstance(pages, dict) else {}

    def fields_of(self, entity: str) -> Mapping[str, Any]:
        return self._ctx.fields_of(entity)

    def rules_of(self, entity: str) -> list[Mapping[str, Any]]:
        raw = self._ctx.entities.get(entity) or {}
        rules = raw.get("rules") or []
        return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []

    def workflows_of(self, entity: str) -> list[Mapping[str, Any]]:
        workflows = self._ctx.data.get("workflows") or {}
        return [w for w in workflows.values() if isinstance(w, dict) and w.get("entity") == entity]

    def check_roles(self, roles: Iterable[str], path: JsonPath) -> None:
        check_role_refs(self._ctx, list(roles), path)

    def check_entity(self, entity: str, path: JsonPath) -> bool:
        if entity in self._ctx.entities:
            return True
        self.problem(
            "ref-unknown-entity",
            f"unknown entity {entity!r}",
            path,
            suggest(entity, self._ctx.entities),
        )
        return False

    def check_field(
        self, entity: str, field: str, path: JsonPath, *, need: str = "", system: bool = False
    ) -> bool:
        return check_field_ref(self._ctx, entity, field, path, need=need, system=system)

    def check_page(self, page: str, path: JsonPath, *, need_id: bool = False) -> bool:
        pages = self.pages
        if page not in pages:
            self.problem("ref-unknown-page", f"unknown page {page!r}", path, suggest(page, pages))
            return False
        if need_id and "<id>" not in str(pages[page].get("route", "")):
            self.problem(
                "route-param", f"page {page!r} has no <id> in its route to link a row to", path
            )
            return False
        return True

    def suggest(self, name: str, options: Iterable[str]) -> str:
        return suggest(name, options)

    def value_problem(self, entity: str, field: str, value: Any) -> str | None:
        spec = self._ctx.fields_of(entity).get(field)
        return literal_problem(self._ctx, field, spec, value) if isinstance(spec, dict) else None


def check_sections(ctx: Ctx) -> None:
    """Run every section's check on the values that use it."""
    registry = ctx.sections
    for name, page in (ctx.data.get("pages") or {}).items():
        for i, block in enumerate(page.get("blocks") or []):
            kind, options = next(iter(block.items()))
            section = registry.get("block", kind)
            if section is not None:
                path: JsonPath = ("pages", name, "blocks", i, kind)
                _run(ctx, section, options, path, _Context(ctx, page))
    auth = ctx.data.get("auth") or {}
    for i, provider in enumerate(auth.get("providers") or []):
        section = registry.get("provider", str(provider.get("type")))
        if section is not None:
            options = {k: v for k, v in provider.items() if k not in ("type", "name", "label")}
            _run(ctx, section, options, ("auth", "providers", i), _Context(ctx))
    for key, value in auth.items():
        section = registry.get("auth", key)
        if section is not None and key not in CORE_AUTH_KEYS:
            _run(ctx, section, value, ("auth", key), _Context(ctx))
    payments = ctx.data.get("payments") or {}
    for i, provider in enumerate(payments.get("providers") or []):
        section = registry.get("payment", str(provider.get("type")))
        if section is not None:
            options = {k: v for k, v in provider.items() if k not in ("type", "name", "label")}
            _run(ctx, section, options, ("payments", "providers", i), _Context(ctx))


def _run(ctx: Ctx, section: DefinitionSection, value: Any, path: JsonPath, view: _Context) -> None:
    if isinstance(value, dict):
        _check_secrets(ctx, section, value, path)
    if section.check is None:
        return
    try:
        section.check(value, path, view)
    except Exception as exc:  # a plugin's check must not crash validation
        ctx.add("plugin-error", f"the checks of {section.key} failed: {exc}", path)


def _check_secrets(
    ctx: Ctx, section: DefinitionSection, value: Mapping[str, Any], path: JsonPath
) -> None:
    for key in section.secret_options:
        if key in value and (*path, key) not in ctx.source.env_paths:
            ctx.add(
                "secret-literal",
                f"{key} is written into the definition",
                (*path, key),
                f"secrets never live in definition files: write {key}: "
                f'"${{{key.upper()}}}" and set that environment variable for every process',
            )
