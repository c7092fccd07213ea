"""Definition-time half of the expression sandbox: parse, bound and allow-list.

`check_expression` turns expression text into an AST whose every node is allowed:

1. parse as one expression, bounded in length, node count and nesting depth (iteratively, so
   deep nesting cannot exhaust the stack of the checker itself);
2. check every node against an allow-list: a node type without a ``visit_`` method of
   `_Checker` is refused, so new Python syntax stays refused until someone allows it.

`portalis.engine.expr.expressions` then routes the checked tree through the budgeted helpers of
`expression_guards` and compiles it.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from . import sandbox as guards
from .parsing import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_SOURCE_CHARS,
    NOT_COUNTED,
    ExpressionError,
    Locator,
    check_size,
    parse,
    tree_source,
)
from .paths import RECORD, field_read

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_SOURCE_CHARS",
    "CheckedExpression",
    "ExpressionError",
    "check_expression",
]


# Known escape hatches, refused at definition time so the author hears about it early; the
# run-time `_getattr_` guard denies them (and everything else not exposed) regardless.
_DENIED_ATTRIBUTES: Final = INSPECT_ATTRIBUTES | frozenset(
    {"format", "format_map", "vformat", "get_field", "get_value", "mro", "obj"}
    | {"f_restricted", "func_globals", "func_code", "func_closure", "im_func", "im_self"}
)
_CONSTANT_TYPES: Final = (str, int, float, bool, type(None))
_UNARY_OPS: Final = (ast.Not, ast.USub, ast.UAdd)
_CONSTRUCTS: Final[Mapping[type[ast.AST], str]] = MappingProxyType(
    {
        ast.Lambda: "lambda",
        ast.NamedExpr: "the := operator",
        ast.JoinedStr: "f-strings",
        ast.FormattedValue: "f-strings",
        ast.Starred: "* unpacking",
        ast.Await: "await",
        ast.Yield: "yield",
        ast.YieldFrom: "yield",
    }
)
_ALLOWED: Final = "use operators, comparisons, literals, comprehensions and registered functions"


@dataclass(frozen=True, slots=True)
class CheckedExpression:
    """An expression that passed the allow-list: its tree and the names and keys it uses.

    `record_keys` holds `a.b` for `record.a.b` (a field of the record `a` refers to).
    `whole_record` is True when `record` is used other than as `record['key']`,
    `record.key` or `record.get('key')` (iterated, passed to a function, indexed by a computed key): the
    expression may then depend on every field, not only on `record_keys`.
    """

    tree: ast.Expression
    names: frozenset[str]
    record_keys: frozenset[str]
    whole_record: bool = False


def check_expression(
    source: str, *, declared: frozenset[str], functions: Mapping[str, Any]
) -> CheckedExpression:
    """Parse, bound and check `source` against the allow-list; or raise `ExpressionError`.

    `declared` are the names the caller will bind, `functions` the callable names.
    """
    tree, shift = parse(source)
    locate = Locator(tree_source(source), shift)
    check_size(tree, locate)
    checker = _Checker(locate, declared, functions)
    checker.visit(tree.body, frozenset())
    return CheckedExpression(
        tree=tree,
        names=frozenset(checker.names),
        record_keys=frozenset(checker.record_keys),
        whole_record=checker.record_uses > checker.keyed_record_uses,
    )


class _Checker:
    """The allow-list. Visits only node types it has a method for; everything else is refused.

    `scope` holds the comprehension variables visible at a node, so shadowing is handled and
    `names` lists only free names.
    """

    def __init__(
        self, locate: Locator, declared: frozenset[str], functions: Mapping[str, Any]
    ) -> None:
        self.locate = locate
        self.declared = declared
        self.functions = functions
        self.names: set[str] = set()
        self.record_keys: set[str] = set()
        #: reads of the free name `record`, and those of them that read one constant key
        self.record_uses = 0
        self.keyed_record_uses = 0

    def visit(self, node: ast.AST, scope: frozenset[str]) -> None:
        """Check `node` and its children, or raise `ExpressionError`."""
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            what = _CONSTRUCTS.get(type(node), type(node).__name__)
            raise self.forbid(node, f"{what} is not allowed in expressions", _ALLOWED)
        method(node, scope)

    def forbid(self, node: ast.AST, message: str, hint: str = "") -> ExpressionError:
        """An `expression-forbidden` error at `node`."""
        return self.locate.error(node, "expression-forbidden", message, hint)

    def check_identifier(self, node: ast.AST, name: str) -> None:
        """Refuse names starting with `_` (the guards and dunders live there)."""
        if name.startswith("_"):
            raise self.forbid(node, f"name {name!r} starts with '_'", "use a name without '_'")

    def resolve(self, node: ast.AST, name: str, scope: frozenset[str]) -> None:
        """Record a free name, or refuse a name that is not available."""
        self.check_identifier(node, name)
        if name in scope:
            return
        if name == "record":
            self.record_uses += 1
        if name in self.declared or name in self.functions:
            self.names.add(name)
            return
        known = sorted(self.declared) + sorted(self.functions)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        hint += f"available: {', '.join(sorted(self.declared))}; functions: "
        hint += ", ".join(sorted(self.functions))
        raise self.locate.error(node, "expression-name", f"unknown name {name!r}", hint)

    def note_record_key(self, value: ast.expr, key: ast.expr, scope: frozenset[str]) -> None:
        """Remember `record['key']` so the validator can check the field exists."""
        if (
            isinstance(value, ast.Name)
            and value.id == "record"
            and "record" not in scope
            and isinstance(key, ast.Constant)
            and isinstance(key.value, str)
        ):
            self.record_keys.add(key.value)
            self.keyed_record_uses += 1

    def visit_Constant(self, node: ast.Constant, scope: frozenset[str]) -> None:
        value = node.value
        if not isinstance(value, _CONSTANT_TYPES):
            kind = "bytes literals" if isinstance(value, bytes) else f"{type(value).__name__}"
            raise self.forbid(
                node, f"{kind} are not allowed in expressions", "use text, numbers, True/False/None"
            )
        if isinstance(value, int) and value.bit_length() > guards.MAX_INT_BITS:
            raise self.locate.error(node, "expression-too-large", "integer literal is too large")

    def visit_Name(self, node: ast.Name, scope: frozenset[str]) -> None:
        # A function handed around as a value (max(l, key=f)) would run once per item without
        # paying for each call; functions only run where a call pays for them.
        if node.id in self.functions and node.id not in scope:
            raise self.forbid(node, f"{node.id!r} is a function: call it", f"{node.id}(...)")
        self.resolve(node, node.id, scope)

    def visit_Attribute(self, node: ast.Attribute, scope: frozenset[str]) -> None:
        read = field_read(node)
        if read is not None and read[0] not in scope:
            # record.status, record.product.unit_price: a field, or a field of a referenced
            # record (the compiler reads it through `record['product.unit_price']`);
            # parent.status and before.status: a field of a record bound without references
            name, path = read
            for attr in path.split("."):
                self.check_identifier(node, attr)
            if name != RECORD and "." in path:
                first = path.split(".")[0]
                raise self.forbid(
                    node,
                    f"{name}.{path}: only the {name}'s own fields can be read",
                    f"read {name}.{first}, or a field of the record itself (record.…)",
                )
            self.resolve(node, name, scope)
            if name == RECORD:
                self.record_keys.add(path)
                self.keyed_record_uses += 1
            return
        # The value first, here and in calls, so problems are reported in reading order.
        self.visit(node.value, scope)
        if node.attr.startswith("_") or node.attr in _DENIED_ATTRIBUTES:
            raise self.forbid(
                node,
                f"attribute {node.attr!r} is not allowed",
                "expressions read data: record['field'], actor.id, text.lower()",
            )

    def visit_Call(self, node: ast.Call, scope: frozenset[str]) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in scope or func.id in self.declared:
                raise self.forbid(node, f"{func.id!r} is a value, not a function")
            if func.id not in self.functions:
                self.resolve(func, func.id, scope)
            self.names.add(func.id)
        else:
            self.visit(func, scope)
            if not isinstance(func, ast.Attribute):
                raise self.forbid(node, "only registered functions and methods can be called")
            if func.attr == "get" and node.args:
                self.note_record_key(func.value, node.args[0], scope)
        for arg in node.args:
            self.visit(arg, scope)
        for item in node.keywords:
            if item.arg is None:
                raise self.forbid(item, "** unpacking is not allowed in expressions")
            self.check_identifier(item, item.arg)
            self.visit(item.value, scope)

    def visit_Subscript(self, node: ast.Subscript, scope: frozenset[str]) -> None:
        self.note_record_key(node.value, node.slice, scope)
        self.visit(node.value, scope)
        self.visit(node.slice, scope)

    def visit_children(self, node: ast.AST, scope: frozenset[str]) -> None:
        """Check the children of a node that is allowed whatever its operands are."""
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, NOT_COUNTED):
                self.visit(child, scope)

    visit_Slice = visit_BoolOp = visit_Compare = visit_IfExp = visit_children
    visit_Tuple = visit_List = visit_Set = visit_children

    def visit_BinOp(self, node: ast.BinOp, scope: frozenset[str]) -> None:
        if type(node.op) not in guards.BINOP_HELPERS:
            raise self.forbid(node, f"operator {type(node.op).__name__} is not allowed")
        self.visit_children(node, scope)

    def visit_UnaryOp(self, node: ast.UnaryOp, scope: frozenset[str]) -> None:
        if not isinstance(node.op, _UNARY_OPS):
            raise self.forbid(node, f"operator {type(node.op).__name__} is not allowed")
        self.visit_children(node, scope)

    def visit_Dict(self, node: ast.Dict, scope: frozenset[str]) -> None:
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise self.forbid(value, "** unpacking is not allowed in expressions")
            self.visit(key, scope)
            self.visit(value, scope)

    def visit_ListComp(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp, scope: frozenset[str]
    ) -> None:
        self.visit(node.elt, self.comprehension_scope(node, node.generators, scope))

    visit_SetComp = visit_ListComp
    visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp, scope: frozenset[str]) -> None:
        inner = self.comprehension_scope(node, node.generators, scope)
        self.visit(node.key, inner)
        self.visit(node.value, inner)

    def comprehension_scope(
        self, node: ast.AST, generators: list[ast.comprehension], scope: frozenset[str]
    ) -> frozenset[str]:
        """Check the `for ... in ... if ...` clauses; return the scope their variables make."""
        inner = scope
        for generator in generators:
            if generator.is_async:
                raise self.forbid(node, "async comprehensions are not allowed")
            # Python evaluates each iterable where the previous clauses' variables are bound.
            self.visit(generator.iter, inner)
            inner = inner | self.targets(generator.target)
            for condition in generator.ifs:
                self.visit(condition, inner)
        return inner

    def targets(self, target: ast.expr) -> frozenset[str]:
        """The names a `for` target binds: a name or (nested) tuples of names."""
        if isinstance(target, ast.Name):
            self.check_identifier(target, target.id)
            return frozenset({target.id})
        if isinstance(target, ast.Tuple | ast.List):
            return frozenset().union(*(self.targets(element) for element in target.elts))
        raise self.forbid(target, "a loop variable must be a name or a tuple of names")
