"""The shared state and helpers of the semantic passes (after the schema pass).

Input is schema-valid raw data, so shapes are known; every check reports located problems and
never raises. The passes live beside this module, one concept each: `roles`, `entities`,
`grants`, `workflows`, `pages`, `auth`, `flow`, `derived`, `notify`, `exposure` and `lint`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ...problems import JsonPath, Problem, Severity
from ..bundle import Bundle
from ..fields import FieldTypeRegistry
from ..loader import SourceMap
from ..model import BUILTIN_ROLES, SYSTEM_COLUMNS
from ..sections import SectionRegistry


@dataclass(slots=True)
class Ctx:
    """Shared state of one semantic pass."""

    data: dict[str, Any]
    entities: dict[str, Any]
    source: SourceMap
    registry: FieldTypeRegistry
    bundle: Bundle
    #: the loaded definition sections (blocks, provider types, plugin-owned `auth:` keys)
    sections: SectionRegistry = field(default_factory=lambda: SectionRegistry(()))
    problems: list[Problem] = field(default_factory=list)

    @property
    def roles(self) -> set[str]:
        """Declared and built-in role names."""
        return set(self.data.get("roles") or {}) | set(BUILTIN_ROLES)

    def add(
        self,
        code: str,
        message: str,
        path: JsonPath,
        hint: str = "",
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> None:
        """Record a problem at `path`."""
        self.problems.append(
            self.source.problem(code, message, path, hint, key=key, severity=severity)
        )

    def fields_of(self, entity: str) -> dict[str, Any]:
        """Raw fields of an entity (empty when unknown)."""
        raw = self.entities.get(entity) or {}
        fields = raw.get("fields") or {}
        return fields if isinstance(fields, dict) else {}


def suggest(name: str, options: Iterable[str]) -> str:
    """`did you mean 'x'?` or a short list of what exists."""
    pool = sorted(set(options))
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if pool:
        return "known: " + ", ".join(pool[:10]) + (" …" if len(pool) > 10 else "")
    return ""


def check_role_refs(ctx: Ctx, roles: Iterable[str], path: JsonPath) -> None:
    """Each role in `roles` must exist."""
    for i, role in enumerate(roles):
        if role not in ctx.roles:
            ctx.add(
                "ref-unknown-role", f"unknown role {role!r}", (*path, i), suggest(role, ctx.roles)
            )


def check_entity_ref(ctx: Ctx, entity: str, path: JsonPath) -> bool:
    """True when `entity` exists; else a `ref-unknown-entity` problem at `path`."""
    if entity in ctx.entities:
        return True
    ctx.add("ref-unknown-entity", f"unknown entity {entity!r}", path, suggest(entity, ctx.entities))
    return False


def check_field_ref(
    ctx: Ctx, entity: str, fname: str, path: JsonPath, *, need: str = "", system: bool = False
) -> bool:
    """True when `fname` is a field of `entity` (or a system column, with `system`) with the
    capability `need` (a field type attribute such as `searchable`); else a located problem."""
    fields = ctx.fields_of(entity)
    if system and fname in SYSTEM_COLUMNS:
        return True
    if fname not in fields:
        options = list(fields) + (list(SYSTEM_COLUMNS) if system else [])
        ctx.add(
            "ref-unknown-field", f"{entity} has no field {fname!r}", path, suggest(fname, options)
        )
        return False
    ftype = ctx.registry.get(str(fields[fname].get("type")))
    if ftype is not None and need and not getattr(ftype, need):
        ctx.add(
            "field-capability",
            f"field {fname!r} ({ftype.name}) is not {need}",
            path,
            f"{need} fields: "
            + ", ".join(
                n
                for n, f in fields.items()
                if (t := ctx.registry.get(str(f.get("type")))) is not None and getattr(t, need)
            ),
        )
        return False
    return True


def tree_parent(ctx: Ctx) -> str | None:
    """The account entity's `parent_field` (the ref that makes accounts a tree), if any."""
    account = ctx.entities.get("account") or {}
    name = account.get("parent_field")
    spec = (account.get("fields") or {}).get(name) if isinstance(name, str) else None
    ok = isinstance(spec, dict) and spec.get("type") == "ref" and spec.get("to") == "account"
    return str(name) if ok else None


def account_field(ctx: Ctx, entity_name: str, *, report: bool = False) -> str | None:
    """The ref to account that the account scope uses (`id` for the account entity)."""
    if entity_name == "account":
        return "id"
    entity = ctx.entities.get(entity_name) or {}
    fields = entity.get("fields") or {}
    refs = [n for n, f in fields.items() if f.get("type") == "ref" and f.get("to") == "account"]
    declared = entity.get("account_field")
    if declared is not None:
        if declared not in refs:
            if report:
                ctx.add(
                    "scope-account",
                    f"account_field {declared!r} is not a ref to account",
                    ("entities", entity_name, "account_field"),
                    suggest(declared, refs) or "declare a field {type: ref, to: account}",
                )
            return None
        return str(declared)
    return refs[0] if len(refs) == 1 else None
