"""Linter warnings: definitions that are valid but almost certainly wrong.

Run on the compiled model (they need grants, forms, workflows and compiled expressions), they
never block a deploy:

- `grant-fields-unshown`: a create grant lets a role set fields that no create form of that
  role shows: whoever holds the role can set them through the API (a staff-only answer field,
  a price). Restrict the grant with `fields:`.
- `grant-account-empty`: a create grant with `scope: own` on an entity with an account
  reference that may be left empty (not required, no default from the actor's account, and no
  account-scoped create grant of the role that fills it): the record then belongs to no account.
- `compute-stale`: a stored computed field uses `today()` or `now()`: it is computed when the
  record is written and then goes stale; make it virtual (`stored: false`).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...problems import Severity
from ..block_configs import FormBlock
from ..model import Entity, Grant, PortalModel
from .base import Ctx

#: expression functions whose value changes with time
_CLOCK = frozenset({"today", "now", "days_since", "hours_until"})


def lint(ctx: Ctx, model: PortalModel) -> None:
    """Add the linter warnings of a compiled model to `ctx.problems`."""
    for entity in model.entities.values():
        offset = len((ctx.entities.get(entity.name) or {}).get("__builtin_permissions__") or [])
        for grant in entity.grants:
            if grant.index < offset or "create" not in grant.actions:
                continue
            path = ("entities", entity.name, "permissions", grant.index - offset)
            _unshown_fields(ctx, model, entity, grant, path)
            _account_may_be_empty(ctx, model, entity, grant, path)
        _stale_computed(ctx, entity)


def _forms_of(model: PortalModel, role: str, entity: str) -> Iterator[FormBlock]:
    """Create forms of `entity` on pages a user with `role` (or a role inheriting it) sees."""
    related = {
        name
        for name, r in model.roles.items()
        if role in r.closure or name in model.roles[role].closure
    }
    for page in model.pages.values():
        if page.roles and not (page.roles & related) and not page.public:
            continue
        for block in page.blocks:
            config = block.config
            if isinstance(config, FormBlock) and config.entity == entity:
                if config.mode == "create":
                    yield config


def _creatable(model: PortalModel, entity: Entity, grant: Grant) -> set[str]:
    """Fields a create under `grant` can set: allowed by its restriction, written by people,
    not filled by the scope itself, not hidden on every new record."""
    states = {wf.field for wf in model.workflow_for(entity.name)}
    initial = {wf.field: wf.initial for wf in model.workflow_for(entity.name)}
    scoped = {grant.scope.field} if grant.scope.kind in ("account", "parent") else set()
    out = set()
    for name, field in entity.fields.items():
        if (
            not grant.allows_field(name)
            or field.derived
            or field.readonly
            or name in states
            or name in scoped
        ):
            continue
        cond = field.visible_when
        if cond is not None and cond.record_keys <= states and "actor" not in cond.names:
            try:  # hidden while the record is in its initial state: never set on create
                if not cond.test(record=dict(initial), actor=None):
                    continue
            except Exception:  # noqa: BLE001 - cannot tell: keep it (lint only)
                pass
        out.add(name)
    return out


def _unshown_fields(
    ctx: Ctx, model: PortalModel, entity: Entity, grant: Grant, path: tuple[str | int, ...]
) -> None:
    creatable = _creatable(model, entity, grant)
    for role in sorted(grant.roles):
        if role not in model.roles:
            continue
        forms = list(_forms_of(model, role, entity.name))
        if not forms:
            continue  # no form at all: the grant is for the API on purpose
        shown = {n for f in forms for n in f.fields} | {f.parent for f in forms if f.parent}
        extra = sorted(creatable - shown)
        if not extra:
            continue
        keep = sorted(creatable & shown)
        ctx.problems.append(
            ctx.source.problem(
                "grant-fields-unshown",
                f"{role} may create {entity.name} with {', '.join(extra)} through the API, "
                f"but no form of {role} shows {'it' if len(extra) == 1 else 'them'}",
                path,
                f"restrict the grant with `fields: {{only: [{', '.join(keep)}]}}`"
                if keep
                else f"restrict the grant with `fields: {{except: [{', '.join(extra)}]}}`",
                severity=Severity.WARNING,
            )
        )


def _account_may_be_empty(
    ctx: Ctx, model: PortalModel, entity: Entity, grant: Grant, path: tuple[str | int, ...]
) -> None:
    name = entity.account_field
    if grant.scope.kind != "own" or name is None or name == "id":
        return
    field = entity.fields.get(name)
    if field is None or field.required or field.derived:
        return
    default = field.default_expr
    if default is not None and "actor" in default.names:
        return  # filled from the creating actor
    for role in sorted(grant.roles):
        filled = any(
            "create" in g.actions and g.scope.kind == "account" and role in g.roles
            for g in entity.grants
        )
        if filled:  # the store fills the actor's account for account-scoped creators
            continue
        ctx.problems.append(
            ctx.source.problem(
                "grant-account-empty",
                f"{role} creates {entity.name} with scope own, but {name} may be left empty: "
                "such a record belongs to no account",
                path,
                f"make {entity.name}.{name} required, or give it "
                f'`default: {{expr: "actor.account"}}`',
                severity=Severity.WARNING,
            )
        )


def _stale_computed(ctx: Ctx, entity: Entity) -> None:
    for name, field in entity.fields.items():
        compute = field.compute
        if compute is None or not field.stored:
            continue
        clock = sorted(compute.names & _CLOCK)
        if clock:
            ctx.problems.append(
                ctx.source.problem(
                    "compute-stale",
                    f"stored computed field {entity.name}.{name} uses "
                    f"{', '.join(c + '()' for c in clock)}: its value is fixed when the record "
                    "is written and goes stale",
                    ("entities", entity.name, "fields", name, "compute"),
                    "make it virtual with `stored: false` (computed whenever it is read) or "
                    "`stored: sql` (computed by the database: filterable and sortable)",
                    severity=Severity.WARNING,
                )
            )
