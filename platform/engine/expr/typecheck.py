"""Definition-time type checks of expressions, where the types are known.

`record['price']` has the type of the field `price`; literals have theirs; an operator's
result type comes from `RESULTS`. An operation a value type does not support (a plain number
added to money, money times money, EUR minus USD) is reported at validate time instead of
failing at run time.

The checks are table-driven: `RESULTS` lists every (left, operator, right) combination that
gives a value; a combination with money that is not listed is a problem. Money of a field with
one fixed currency carries it (`money:EUR`), so mixing currencies is found where both are
known. An unknown type (a function's result, a subscript of a list, a field whose currency
comes from elsewhere ...) is never an error: the checker only speaks when it is sure.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from .parsing import ExpressionError, Locator, parse, tree_source
from .paths import record_path

#: The value type (as far as expressions are concerned) of each field type.
FIELD_VALUE_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "int": "number",
        "decimal": "number",
        "float": "number",
        "money": "money",
    }
)

_ARITHMETIC: Final = frozenset({"+", "-", "*", "/", "//", "%", "**"})
_ORDER: Final = frozenset({"<", "<=", ">", ">="})
#: (left type, operator, right type) → result type. Number arithmetic is open-ended; money
#: has exactly the operations an amount has (see `portalis.engine.expr.money`).
RESULTS: Final[Mapping[tuple[str, str, str], str]] = MappingProxyType(
    {
        **{("number", op, "number"): "number" for op in _ARITHMETIC},
        ("money", "+", "money"): "money",
        ("money", "-", "money"): "money",
        ("money", "*", "number"): "money",
        ("number", "*", "money"): "money",
        ("money", "/", "number"): "money",
        ("money", "/", "money"): "number",
    }
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
_COMPARE: Final[Mapping[type[ast.cmpop], str]] = MappingProxyType(
    {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
)
_VERBS: Final = MappingProxyType(
    {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "<": "compare"}
)


@dataclass(frozen=True, slots=True)
class ValueType:
    """What the checker knows of a value: its kind (`number`, `money`) and, for money of a
    known currency, that currency."""

    kind: str
    currency: str = ""


@dataclass(frozen=True, slots=True)
class _Types:
    fields: Mapping[str, ValueType]
    locate: Locator

    def of(self, node: ast.expr) -> ValueType | None:
        """The value type of `node`, or None when unknown."""
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            return ValueType("number")
        key = _record_key(node)
        if key is not None:
            return self.fields.get(key)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            left, right = self.of(node.left), self.of(node.right)
            if op is None or left is None or right is None:
                return None
            kind = RESULTS.get((left.kind, op, right.kind))
            if kind is None:
                return None
            currencies = {t.currency for t in (left, right) if t.kind == "money"}
            same = currencies.pop() if len(currencies) == 1 else ""
            return ValueType(kind, same if kind == "money" else "")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return self.of(node.operand)
        if isinstance(node, ast.Call) and _called(node) == "round" and node.args:
            money = self.of(node.args[0])
            return money if money is not None and money.kind == "money" else None
        return None


def _called(node: ast.Call) -> str | None:
    return node.func.id if isinstance(node.func, ast.Name) else None


def _record_key(node: ast.expr) -> str | None:
    """`x` for `record['x']`, `record.x` and `record.get('x')` (the value may be None: still
    its type); `a.b` for `record.a.b`."""
    if isinstance(node, ast.Attribute):
        return record_path(node)
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


def value_types(
    field_types: Mapping[str, str], currencies: Mapping[str, str] | None = None
) -> dict[str, ValueType]:
    """Field name → `ValueType`, from field types and the fixed currency of money fields."""
    known = currencies or {}
    return {
        name: ValueType(FIELD_VALUE_TYPES[kind], known.get(name, ""))
        for name, kind in field_types.items()
        if kind in FIELD_VALUE_TYPES
    }


def type_errors(
    source: str,
    field_types: Mapping[str, str],
    *,
    currencies: Mapping[str, str] | None = None,
    target: str | None = None,
) -> Iterator[ExpressionError]:
    """Problems (`expression-type`, located in the expression text) of an expression whose
    `record` has fields of `field_types` (name → field type); `currencies` gives the one
    currency of money fields that have one; `target` is the type of the field the value is
    stored in (a `compute`), whose kind must match the expression's when both are known."""
    try:
        tree, shift = parse(source)
    except ExpressionError:
        return  # reported by the syntax check
    types = _Types(value_types(field_types, currencies), Locator(tree_source(source), shift))
    for node in ast.walk(tree):
        problem = _problem(types, node)
        if problem is not None:
            yield types.locate.error(node, "expression-type", problem[0], problem[1])
    wanted = FIELD_VALUE_TYPES.get(target or "")
    got = types.of(tree.body)
    if wanted is not None and got is not None and got.kind != wanted:
        yield types.locate.error(
            tree.body,
            "expression-type",
            f"the expression gives {_a(got.kind)} value, but the field is a {target} field",
            _hint_target(got.kind),
        )


def _problem(types: _Types, node: ast.AST) -> tuple[str, str] | None:
    """(message, hint) of an operation `node` that cannot work, or None."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        if op in ("+", "-") and (_zero(node.left) or _zero(node.right)):
            return None  # adding 0 is harmless (and what sum() starts with)
        return _operation(op, types.of(node.left), types.of(node.right))
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for index, comparison in enumerate(node.ops):
            if type(comparison) not in _COMPARE:
                continue
            left, right = operands[index], operands[index + 1]
            if _zero(left) or _zero(right):
                continue  # every amount compares with 0
            found = _operation("<", types.of(left), types.of(right))
            if found is not None:
                return found
    return None


def _operation(op: str, left: ValueType | None, right: ValueType | None) -> tuple[str, str] | None:
    if left is None or right is None or "money" not in (left.kind, right.kind):
        return None
    verb = _VERBS.get(op, op)
    if op == "<":
        if left.kind != right.kind:
            return (
                "an amount of money cannot be compared with a plain number",
                "compare amounts of one currency, or compare with 0",
            )
    elif (left.kind, op, right.kind) not in RESULTS:
        return _unsupported(op, left.kind, right.kind)
    if left.kind == right.kind == "money" and left.currency and right.currency:
        if left.currency != right.currency:
            return (
                f"cannot {verb} amounts in {left.currency} and {right.currency}",
                "amounts of different currencies are never mixed; convert one first, or keep "
                "them in separate fields",
            )
    return None


def _unsupported(op: str, left: str, right: str) -> tuple[str, str]:
    if op in ("+", "-"):
        return (
            f"the operation {op} is not supported on money and a plain number",
            "add or subtract amounts of the same currency; multiply an amount to scale it "
            "(record['price'] * record['quantity'])",
        )
    if op == "*":
        return (
            "the operation * is not supported on two amounts of money",
            "multiply an amount by a number (a quantity, a rate)",
        )
    if op == "/" and right == "money":
        return (
            "the operation / is not supported on a number and money",
            "divide an amount by a number, or an amount by an amount (a ratio)",
        )
    return (
        f"the operation {op} is not supported on money",
        "money supports + and - (same currency), * and / by a number, comparisons and round()",
    )


def _zero(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and not isinstance(node.value, bool)
        and isinstance(node.value, int | float)
        and node.value == 0
    )


def _a(kind: str) -> str:
    return "a money" if kind == "money" else "a number"


def _hint_target(kind: str) -> str:
    if kind == "money":
        return "make the field a money field, or take .amount of the money value"
    return "make the field a number field, or multiply an amount of money by this number"
