"""Semantic checks of online payments: `payable:` on entities, the names of the
`payments.providers` entries and the `pay` and `refund` grant actions.

What a provider type's options must hold is its definition section's business
(`semantics.sections`); here: provider entries have distinct names, a payable entity's
`amount` is one of its money fields, `paid` and `reopened` are transitions of its workflows,
`providers` names declared entries, the description's placeholders are fields and a partial
minimum is above zero. After compiling, a warning when the amount does not depend on
`paid_online` (the record would stay open after a payment, and the payer could pay again).
"""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath, Severity
from ..model import SYSTEM_COLUMNS, Entity, PortalModel
from ..payable_spec import PAID_ONLINE, entry_name, placeholders
from .base import Ctx, suggest

#: Grant actions that only payable entities have.
PAYMENT_ACTIONS = ("pay", "refund")


def check_payable(ctx: Ctx) -> None:
    """Provider entry names, every entity's `payable:` and its payment grant actions, and
    the `payments` blocks that show payable records."""
    entries = _entry_names(ctx)
    for name, entity in ctx.entities.items():
        if not isinstance(entity, dict):
            continue
        spec = entity.get("payable")
        if isinstance(spec, dict):
            _check_spec(ctx, name, entity, spec, entries)
        else:
            _check_actions(ctx, name, entity)
    _check_blocks(ctx)


def _check_blocks(ctx: Ctx) -> None:
    """A `payments` block names a payable entity."""
    for page, spec in (ctx.data.get("pages") or {}).items():
        if not isinstance(spec, dict):
            continue
        for i, block in enumerate(spec.get("blocks") or []):
            options = block.get("payments") if isinstance(block, dict) else None
            entity = options.get("entity") if isinstance(options, dict) else None
            raw = ctx.entities.get(entity) if isinstance(entity, str) else None
            if isinstance(raw, dict) and "payable" not in raw:
                ctx.add(
                    "payable-undeclared",
                    f"{entity} declares no payable:, so it has nothing to pay online",
                    ("pages", page, "blocks", i, "payments", "entity"),
                    f"add payable: {{amount: <money field>}} to entity {entity}",
                )


def _entry_names(ctx: Ctx) -> list[str]:
    """The names of the `payments.providers` entries; a name given twice is a problem."""
    names: list[str] = []
    for i, entry in enumerate((ctx.data.get("payments") or {}).get("providers") or ()):
        if not isinstance(entry, dict):
            continue
        name = entry_name(entry)
        if name in names:
            ctx.add(
                "schema-value",
                f"two payment providers are named {name!r}",
                ("payments", "providers", i),
                "give each entry of the same type a distinct name:",
            )
        names.append(name)
    return names


def _check_actions(ctx: Ctx, name: str, entity: dict[str, Any]) -> None:
    """`pay` and `refund` are granted on payable entities only."""
    for i, grant in enumerate(entity.get("permissions") or ()):
        actions = grant.get("actions") if isinstance(grant, dict) else None
        for j, action in enumerate(actions or ()):
            if action in PAYMENT_ACTIONS:
                ctx.add(
                    "grant-action",
                    f"{action!r} granted on {name}, which is not payable",
                    ("entities", name, "permissions", i, "actions", j),
                    f"declare payable: {{amount: <money field>}} on {name} or remove the action",
                )


def _check_spec(
    ctx: Ctx, name: str, entity: dict[str, Any], spec: dict[str, Any], entries: list[str]
) -> None:
    path: JsonPath = ("entities", name, "payable")
    if not entries:
        ctx.add(
            "payable-no-providers",
            f"{name} is payable, but the portal declares no payments.providers",
            path,
            "add payments: {providers: [{type: <a payment provider plugin's type>}]}",
            key=True,
        )
    _check_amount(ctx, name, str(spec.get("amount")), (*path, "amount"))
    transitions = {
        str(t.get("name"))
        for w in (ctx.data.get("workflows") or {}).values()
        if isinstance(w, dict) and w.get("entity") == name
        for t in w.get("transitions") or ()
        if isinstance(t, dict)
    }
    for key in ("paid", "reopened"):
        wanted = spec.get(key)
        if wanted is not None and wanted not in transitions:
            ctx.add(
                "payable-transition",
                f"{key}: {wanted!r} is no transition of a workflow of {name}",
                (*path, key),
                suggest(str(wanted), transitions) or f"declare a workflow of {name}",
            )
    for i, provider in enumerate(spec.get("providers") or ()):
        if entries and provider not in entries:
            ctx.add(
                "payable-provider",
                f"no payments.providers entry is named {provider!r}",
                (*path, "providers", i),
                suggest(str(provider), entries),
            )
    _check_description(ctx, name, spec.get("description"), (*path, "description"))
    partial = spec.get("partial")
    if isinstance(partial, dict) and not partial.get("minimum", 0) > 0:
        ctx.add(
            "payable-partial-minimum",
            f"a partial payment's minimum must be above zero, not {partial.get('minimum')}",
            (*path, "partial", "minimum"),
            "write partial: true for any amount, or a minimum such as 10",
        )
    declared = ((ctx.data.get("entities") or {}).get(name) or {}).get("fields") or {}
    if PAID_ONLINE in declared:
        ctx.add(
            "field-reserved",
            f"{PAID_ONLINE!r} is the built-in field of a payable entity",
            ("entities", name, "fields", PAID_ONLINE),
            "Portalis keeps paid_online itself: rename this field and read paid_online",
            key=True,
        )


def _check_amount(ctx: Ctx, entity: str, amount: str, path: JsonPath) -> None:
    fields = ctx.fields_of(entity)
    if amount not in fields:
        ctx.add(
            "ref-unknown-field",
            f"{entity} has no field {amount!r}",
            path,
            suggest(amount, fields),
        )
        return
    money = [n for n, f in fields.items() if f.get("type") == "money" and n != PAID_ONLINE]
    if amount == PAID_ONLINE:
        ctx.add(
            "payable-amount",
            "amount is what is open to pay, not paid_online (what was paid)",
            path,
            "compute the open amount, e.g. open_amount: {type: money, compute: "
            '"record.total - record.paid_online"}',
        )
    elif fields[amount].get("type") != "money":
        ctx.add(
            "payable-amount",
            f"amount {amount!r} is a {fields[amount].get('type')} field, not money",
            path,
            "name a money field: " + (", ".join(money) if money else "declare one"),
        )


def _check_description(ctx: Ctx, entity: str, description: Any, path: JsonPath) -> None:
    texts = description if isinstance(description, dict) else {"": description}
    known = set(ctx.fields_of(entity)) | set(SYSTEM_COLUMNS)
    for locale, text in texts.items():
        if not isinstance(text, str):
            continue
        for placeholder in placeholders(text):
            if placeholder not in known:
                ctx.add(
                    "payable-description",
                    f"{{{placeholder}}} names no field of {entity}",
                    (*path, locale) if locale else path,
                    suggest(placeholder, known) or "write a field name in braces: {number}",
                )


def check_payable_model(ctx: Ctx, model: PortalModel) -> None:
    """Warn when a payable entity's amount does not depend on `paid_online`."""
    for entity in model.entities.values():
        spec = entity.payable
        if spec is None or spec.amount not in entity.fields:
            continue
        if not _reads(entity, spec.amount, PAID_ONLINE, set()):
            ctx.add(
                "payable-amount-static",
                f"{spec.amount} does not depend on {PAID_ONLINE}: a paid record still shows "
                "the amount as open, and the payer could pay it again",
                ("entities", entity.name, "payable", "amount"),
                f'compute it from {PAID_ONLINE}, e.g. compute: "record.total - '
                f'record.{PAID_ONLINE}"',
                severity=Severity.WARNING,
            )


def _reads(entity: Entity, name: str, wanted: str, seen: set[str]) -> bool:
    """True when field `name`'s value is computed, directly or through other computed
    fields of the entity, from field `wanted`."""
    field = entity.fields.get(name)
    if field is None or field.compute is None or name in seen:
        return False
    seen.add(name)
    keys = field.compute.record_keys
    return wanted in keys or any(_reads(entity, key, wanted, seen) for key in keys)
