"""Definition-time type checks of expressions, where the types are known.

`record['price']` has the type of the field `price`; literals have theirs; an operator's
result type comes from `RESULTS`. An operator applied to a value type that does not support
it (arithmetic on money today) is reported at validate time instead of failing at run time
with `TypeError: cannot multiply int by Money`.

The checks are table-driven: `OPERATORS` says which operators each value type supports, so
money arithmetic is switched on by adding its operators there (and its result types to
`RESULTS`). Ordering comparisons (`<`, `>=`, ...) are checked the same way. An unknown type (a function's result, a subscript of a list, ...) is never an
error: the checker only speaks when it is sure.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from .checks import ExpressionError, _Locator, _parse, _tree_source

#: The value type (as far as expressions are concerned) of each field type.
FIELD_VALUE_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "int": "number",
        "decimal": "number",
        "float": "number",
        "money": "money",
    }
)

_ARITHMETIC: Final = frozenset({"+", "-", "*", "/", "//", "%", "**", "unary -", "unary +"})
_ORDER: Final = frozenset({"<", "<=", ">", ">="})
#: The operators each value type supports; a type not listed is not checked.
OPERATORS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "number": _ARITHMETIC | _ORDER,
        "money": frozenset(),  # Money has no arithmetic and no order yet (== works)
    }
)
#: (left type, operator, right type) → result type; a missing entry gives an unknown type.
RESULTS: Final[Mapping[tuple[str, str, str], str]] = MappingProxyType(
    {("number", op, "number"): "number" for op in _ARITHMETIC if not op.startswith("unary")}
)

_BINARY: Final[Mapping[type[ast.operator], str]] = MappingProxyType(
    {
        ast.Add: "+",
        ast.Sub: "-",
        ast.Mult: "*",
        ast.Div: "/",
        ast.FloorDiv: "//",
        ast.Mod: "%",
        ast.Pow: "**",
    }
)
_UNARY: Final[Mapping[type[ast.unaryop], str]] = MappingProxyType(
    {ast.USub: "unary -", ast.UAdd: "unary +"}
)
_COMPARE: Final[Mapping[type[ast.cmpop], str]] = MappingProxyType(
    {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
)


@dataclass(frozen=True, slots=True)
class _Types:
    fields: Mapping[str, str]
    locate: _Locator

    def of(self, node: ast.expr) -> str | None:
        """The value type of `node`, or None when unknown."""
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                return None
            return "number" if isinstance(value, int | float) else None
        key = _record_key(node)
        if key is not None:
            return FIELD_VALUE_TYPES.get(self.fields.get(key, ""))
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            left, right = self.of(node.left), self.of(node.right)
            if op is None or left is None or right is None:
                return None
            return RESULTS.get((left, op, right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return self.of(node.operand)
        return None


def _record_key(node: ast.expr) -> str | None:
    """`x` for `record['x']` and `record.get('x')` (the value may be None: still its type)."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "record"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        return node.slice.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "record"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def type_errors(source: str, field_types: Mapping[str, str]) -> Iterator[ExpressionError]:
    """Problems (`expression-type`, located in the expression text) of an expression whose
    `record` has fields of `field_types` (name → field type)."""
    try:
        tree, shift = _parse(source)
    except ExpressionError:
        return  # reported by the syntax check
    types = _Types(field_types, _Locator(_tree_source(source), shift))
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op = _BINARY[type(node.op)]
            operands: tuple[str | None, ...] = (types.of(node.left), types.of(node.right))
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            op = _UNARY[type(node.op)]
            operands = (types.of(node.operand), None)
        elif isinstance(node, ast.Compare) and any(type(o) in _COMPARE for o in node.ops):
            op = next(_COMPARE[type(o)] for o in node.ops if type(o) in _COMPARE)
            operands = (types.of(node.left), *(types.of(c) for c in node.comparators))
        else:
            continue
        for kind in operands:  # the first operand type that refuses `op` is the problem
            if kind is not None and kind in OPERATORS and op not in OPERATORS[kind]:
                yield types.locate.error(
                    node,
                    "expression-type",
                    f"the operation {op.removeprefix('unary ')} is not supported on {kind} values",
                    _hint(kind),
                )
                break


def _hint(kind: str) -> str:
    if kind == "money":
        return (
            "money values cannot be used in arithmetic or compared by size yet: use a decimal "
            "field for amounts you compute, or a rollup to add money up"
        )
    return f"use {kind} values only with {', '.join(sorted(OPERATORS[kind])) or 'no operators'}"
