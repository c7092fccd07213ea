"""Reads of referenced records in expressions: `record.product.unit_price`.

An expression may read a field of a record its record refers to, through a chain of ref
fields (`record.order.account.currency`: at most `MAX_STEPS` refs). The path is declared by
writing it: the compiler checks every step (a ref field, then a stored field of the target),
gives the expression checker the target field's type (so `record.product.unit_price *
record['quantity']` is money), and lists the paths per entity (`Entity.reads`) so the record
store loads them in one query per step for a whole page, never per row.

Related reads are for values computed by the engine — `compute`, `default: {expr: …}` and
rule `check`s — where the record store loads them with the engine's rights; what a computed
field then shows a reader is held to the field-mask rule (`semantics.exposure`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..problems import JsonPath
from .lookups import Lookup, lookup_field
from .model import SYSTEM_COLUMNS, Field, Rule
from .semantics.base import Ctx

#: Most ref fields a path may follow (`order.account.sales_rep.email` is three).
MAX_STEPS: Final = 3
#: The expression keys that may read referenced records (their value is computed by the
#: engine inside a write or a read that loads the paths).
RELATED_SITES: Final = frozenset({"compute", "check", "expr"})
_HINT: Final = "write record.<ref field>.<field>, e.g. record.product.unit_price"


def entity_reads(
    fields: Mapping[str, Field], rules: Iterable[Rule], lookups: Mapping[str, Lookup]
) -> frozenset[str]:
    """`Entity.reads`: the related paths and lookups an entity's compute, default and rule
    expressions read, plus what reading them needs (the paths lookups match on, the paths
    money fields take their currency from)."""
    expressions = [
        *(f.compute for f in fields.values()),
        *(f.default_expr for f in fields.values()),
        *(rule.check for rule in rules),
    ]
    used = frozenset(
        key
        for e in expressions
        if e is not None
        for key in e.record_keys
        if "." in key or key in lookups
    )
    matched = (path for name in used if name in lookups for path in lookups[name].paths)
    sources = (str(getattr(f.config, "currency_from", "") or "") for f in fields.values())
    return (
        used
        | frozenset(source for source in sources if "." in source)
        | frozenset(path for path in matched if "." in path)
    )


class RelatedReads:
    """Checks the related paths of expressions against the definition's raw entities."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def is_lookup(self, entity: str, name: str) -> bool:
        """True when `name` is a lookup declared by `entity` (`record.negotiated_price`)."""
        return lookup_field(self.ctx, entity, name) is not None

    def field(self, entity: str, key: str, path: JsonPath) -> Mapping[str, Any] | None:
        """The raw spec of the field `key` ("ref.field", or a lookup's name) reads from
        `entity`, or None after reporting why it cannot be read (with its location)."""
        what = "a referenced record" if "." in key else f"the lookup {key!r}"
        lookup_on_read = "." not in key and _virtual(self.ctx, entity, path)
        if not path or path[-1] not in RELATED_SITES or lookup_on_read:
            self.ctx.add(
                "expression-related",
                f"record.{key} reads {what}, which only compute, default: {{expr: …}} and "
                "rule checks can (a lookup only where the value is stored)",
                path,
                "compute the value into a stored field of this record, and use that here",
            )
            return None
        if "." not in key:
            return lookup_field(self.ctx, entity, key)
        steps = key.split(".")
        if len(steps) - 1 > MAX_STEPS:
            self.ctx.add(
                "expression-related",
                f"record.{key} follows {len(steps) - 1} references; at most {MAX_STEPS}",
                path,
                "store an intermediate value in a computed field of a referenced record",
            )
            return None
        current = entity
        for index, step in enumerate(steps):
            fields = self.ctx.fields_of(current)
            spec = fields.get(step)
            last = index == len(steps) - 1
            if last and spec is None and step in SYSTEM_COLUMNS:
                return {"type": _SYSTEM_TYPES.get(step, "string")}
            if not isinstance(spec, dict):
                where = ".".join(steps[:index]) or entity
                self.ctx.add(
                    "ref-unknown-field",
                    f"expression reads record.{key}, but {current} (record.{where}) has no "
                    f"field {step!r}",
                    path,
                    _HINT,
                )
                return None
            if last:
                if spec.get("stored") in (False, "sql"):  # no column to read
                    self.ctx.add(
                        "expression-related",
                        f"record.{key} is computed when {current} is read; it has no stored "
                        "value to read from here",
                        path,
                        f"make the field stored (drop stored: {str(spec['stored']).lower()}), "
                        "or compute it here",
                    )
                    return None
                return spec
            if spec.get("type") != "ref" or not isinstance(spec.get("to"), str):
                self.ctx.add(
                    "expression-related",
                    f"record.{key}: {current}.{step} is not a reference, so it has no fields",
                    path,
                    _HINT,
                )
                return None
            current = str(spec["to"])
        return None


def _virtual(ctx: Ctx, entity: str, path: JsonPath) -> bool:
    """True for the `compute` of a field computed on read (`stored: false`): a lookup there
    would run a query per record read; related paths are loaded per page (see `records`)."""
    if len(path) < 3 or path[-1] != "compute" or path[-3] != "fields":
        return False
    spec = ctx.fields_of(entity).get(str(path[-2]))
    return isinstance(spec, dict) and spec.get("stored") is False


_SYSTEM_TYPES: Final = {
    "id": "int",
    "created_at": "datetime",
    "updated_at": "datetime",
    "created_by": "ref",
    "version": "int",
}
