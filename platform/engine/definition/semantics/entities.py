"""Semantic checks of entities: table names, fields (each through its field type's own
checks), title, search and account fields; each entity's grants are checked in `grants`,
its declared indexes in `indexes`."""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath
from ..fields import CheckContext
from ..model import SYSTEM_COLUMNS, Field
from ..naming import MAX_IDENTIFIER, table_name
from ..values import Label
from .base import Ctx, account_field, suggest, tree_parent
from .grants import check_grant, check_parent_cycles
from .indexes import check_indexes
from .search import check_search


def check_entities(ctx: Ctx) -> None:
    """Fields, title/account/search fields, grants and table names of every entity."""
    slug = str(ctx.data.get("portal", ""))
    for name, entity in ctx.entities.items():
        base: JsonPath = ("entities", name)
        if len(table_name(slug, name)) > MAX_IDENTIFIER:
            ctx.add(
                "table-name-too-long",
                f"table name {table_name(slug, name)!r} exceeds {MAX_IDENTIFIER} characters",
                base,
                "shorten the portal slug or the entity name",
                key=True,
            )
        fields = entity.get("fields") or {}
        _check_fields(ctx, name, entity, fields, base)
        title = entity.get("title_field")
        if title is not None and title not in fields:
            ctx.add(
                "title-field",
                f"title_field {title!r} is not a field",
                (*base, "title_field"),
                suggest(title, fields),
            )
        check_search(ctx, name, entity, base)
        account_field(ctx, name, report=True)
        check_parent_field(ctx, name, entity, base)
        check_indexes(ctx, name, entity, base)
        for i, grant in enumerate(entity.get("permissions") or []):
            check_grant(ctx, name, grant, (*base, "permissions", i))
        check_parent_cycles(ctx, name, base)


def _check_fields(
    ctx: Ctx, entity_name: str, entity: dict[str, Any], fields: dict[str, Any], base: JsonPath
) -> None:
    builtin_fields = set(entity.get("__builtin_fields__") or [])
    _check_column_collisions(ctx, fields, base)
    entities_view = {n: (e.get("fields") or {}) for n, e in ctx.entities.items()}
    currency = str(ctx.data.get("currency") or "EUR")
    for fname, spec in fields.items():
        fpath: JsonPath = (*base, "fields", fname)
        if fname in SYSTEM_COLUMNS:
            ctx.add(
                "field-reserved",
                f"{fname!r} is a system column every entity already has",
                fpath,
                "remove it or give the field another name",
                key=True,
            )
            continue
        if entity.get("__builtin__") and fname in builtin_fields:
            declared = (ctx.data.get("entities") or {}).get(entity_name) or {}
            if fname in (declared.get("fields") or {}):
                ctx.add(
                    "field-reserved",
                    f"{fname!r} is a built-in field of {entity_name}",
                    fpath,
                    "built-in fields cannot be redefined; add a new field instead",
                    key=True,
                )
                continue
        ftype = ctx.registry.get(str(spec.get("type")))
        if ftype is None:
            continue  # the schema pass reported the unknown type
        options = {k: v for k, v in spec.items() if k in ftype.options_schema}
        check_ctx = CheckContext(entity_name, fpath, entities_view, currency, ctx.source.problem)
        try:
            ctx.problems.extend(ftype.check(options, check_ctx))
        except Exception as exc:  # a plugin's type must not crash validation
            ctx.add("plugin-error", f"field type {ftype.name} failed to check: {exc}", fpath)
        if "renamed_from" in spec and spec["renamed_from"] in fields:
            ctx.add(
                "field-option",
                f"renamed_from {spec['renamed_from']!r} is still a field",
                (*fpath, "renamed_from"),
                "remove the old field when renaming",
            )


def _check_column_collisions(ctx: Ctx, fields: dict[str, Any], base: JsonPath) -> None:
    """Extra columns of a field (money's `<name>_currency`) must not clash with other fields."""
    owners: dict[str, str] = {}
    for fname, spec in fields.items():
        ftype = ctx.registry.get(str(spec.get("type")))
        if ftype is None:
            continue
        probe = Field(fname, ftype.name, Label.of(fname), ftype)
        for column in ftype.column_names(probe):
            if column in owners or (column != fname and column in fields):
                other = owners.get(column, column)
                ctx.add(
                    "field-reserved",
                    f"field {fname!r} needs the column {column!r}, which field {other!r} uses",
                    (*base, "fields", fname),
                    "rename one of the two fields",
                    key=True,
                )
            owners.setdefault(column, fname)


def check_parent_field(ctx: Ctx, name: str, entity: dict[str, Any], base: JsonPath) -> None:
    """`parent_field` (accounts only) names a ref from account to account."""
    declared = entity.get("parent_field")
    if declared is None:
        return
    path: JsonPath = (*base, "parent_field")
    if name != "account":
        ctx.add("parent-field", "parent_field applies only to the account entity", path,
                "declare it under entities: {account: ...}", key=True)  # fmt: skip
    elif tree_parent(ctx) is None:
        refs = [n for n, f in (entity.get("fields") or {}).items()
                if isinstance(f, dict) and f.get("type") == "ref" and f.get("to") == "account"]  # fmt: skip
        ctx.add("parent-field", f"parent_field {declared!r} is not a ref to account", path,
                suggest(str(declared), refs) if refs else "add {type: ref, to: account}")  # fmt: skip
