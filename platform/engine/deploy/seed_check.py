"""Checks of seed files at validate time, so a broken seed file fails `validate`, not deploy.

`check_seed_files` runs with the other semantic checks (files, schema, names);
`check_seed` on the compiled model runs the rows through what `deploy --seed` does.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from ..data.lookups import pick
from ..data.permissions import Actor
from ..data.related import fill_related, ref_id, related_keys
from ..data.tables import utcnow
from ..definition.bundle import Bundle
from ..definition.loader import DEFINITION_SUFFIXES, SourceMap, match_files
from ..definition.model import Entity, PortalModel
from ..definition.schema.check import schema_problems
from ..definition.schema.compose import seed_schema
from ..definition.semantics.base import Ctx, suggest
from ..definition.yamlsource import parse_text
from ..problems import JsonPath, Problem
from .seed_plan import RowKey, SeedRow, blocked_by, plan_seed
from .seed_values import UniqueValues, finish

_SEED_KEYS = frozenset({"key", "created_by"})


def definition_files(ctx: Ctx) -> set[str]:
    """The root file and every file its include patterns pull in."""
    files = {ctx.source.root_file}
    includes = ctx.data.get("include") or []
    for pattern in [includes] if isinstance(includes, str) else includes:
        files.update(
            f
            for f in match_files(ctx.bundle, str(pattern)) or []
            if f.endswith(DEFINITION_SUFFIXES)
        )
    return files


def check_seed_files(ctx: Ctx) -> None:
    """Parse and check every seed file: YAML, seed schema, entities, fields and roles."""
    definition = definition_files(ctx)
    validator = Draft202012Validator(seed_schema())
    for i, pattern in enumerate(ctx.data.get("seed") or []):
        for rel in match_files(ctx.bundle, str(pattern)) or []:
            if rel in definition:
                ctx.add(
                    "include-bad",
                    f"seed pattern {pattern!r} matches the definition file {rel}",
                    ("seed", i),
                    "keep seed data in its own folder, e.g. seed/*.yaml",
                )
                continue
            parsed = parse_text(ctx.bundle.files[rel], rel)
            ctx.problems.extend(parsed.problems)
            if parsed.problems or parsed.data is None:
                continue
            source = SourceMap(parsed.positions, parsed.key_positions, rel)
            problems = schema_problems(validator, parsed.data, source)
            ctx.problems.extend(problems)
            if not problems:
                _check_content(ctx, parsed.data, source)


def _check_content(ctx: Ctx, data: dict[str, Any], source: SourceMap) -> None:
    def add(message: str, path: JsonPath, hint: str = "") -> None:
        ctx.problems.append(source.problem("seed-invalid", message, path, hint, key=True))

    for i, item in enumerate(data.get("accounts") or []):
        _unknown_fields(ctx, "account", item, ("accounts", i), add)
    roles = set(ctx.data.get("roles") or {})
    for i, item in enumerate(data.get("users") or []):
        for j, role in enumerate(item.get("roles") or []):
            if role not in roles:
                add(f"unknown role {role!r}", ("users", i, "roles", j), suggest(str(role), roles))
        extra = {k: v for k, v in item.items() if k not in ("password", "roles", "memberships")}
        _unknown_fields(ctx, "user", extra, ("users", i), add)
    for entity, items in (data.get("records") or {}).items():
        if entity not in ctx.entities:
            add(
                f"unknown entity {entity!r}",
                ("records", entity),
                suggest(str(entity), ctx.entities),
            )
            continue
        for i, item in enumerate(items):
            _unknown_fields(ctx, entity, item, ("records", entity, i), add)


def _unknown_fields(ctx: Ctx, entity: str, item: dict[str, Any], path: JsonPath, add: Any) -> None:
    fields = ctx.fields_of(entity)
    for name in item:
        if name not in fields and name not in _SEED_KEYS:
            add(f"{entity} has no field {name!r}", (*path, name), suggest(str(name), fields))


def check_seed(model: PortalModel, bundle: Bundle) -> list[Problem]:
    """Validate-time seed check: the plan finished with placeholder ids, as on an empty
    database (the problems `deploy --seed` would report there)."""
    plan = plan_seed(model, bundle)
    ids: dict[RowKey, int] = {}
    counters: dict[str, int] = {}
    failed: dict[RowKey, SeedRow] = {row.row_key: row for row in plan.cyclic}
    system = Actor.system()
    unique = UniqueValues()
    planned: dict[tuple[str, int], dict[str, Any]] = {}

    def related(entity: Entity, values: dict[str, Any]) -> None:
        # the referenced rows are planned ones (placeholder ids), looked up in memory
        paths = related_keys(entity.reads)
        fill_related(model, entity, values, paths, lambda e, i: planned.get((e, i)))
        for name in (key for key in entity.reads if key in entity.lookups):
            lookup = entity.lookups[name]
            rows = [v for (e, _), v in planned.items() if e == lookup.entity]
            candidates = [r for r in rows if all(
                ref_id(r.get(key)) == ref_id(values.get(path)) for key, path in lookup.match
            )]  # fmt: skip
            values[name] = pick(lookup, candidates, utcnow().date())

    for row in plan.rows:
        cause = blocked_by(row, failed)
        if cause is not None:
            cause.dependents += 1
            failed[row.row_key] = cause
            continue
        values = finish(model, row, ids, system, related)
        if values is None or not unique.take(model, row, values):
            failed[row.row_key] = row
            continue
        counters[row.entity] = ids[row.row_key] = counters.get(row.entity, 0) + 1
        planned[(row.entity, ids[row.row_key])] = {**values, "id": ids[row.row_key]}
    return plan.collected()
