"""Expressions: the single Python expressions of definitions, compiled once, evaluated many times.

`when`, `check`, `visible_when`, `required_when`, `compute` and `default` hold expressions such
as ``record['due'] is None or record['due'] >= today()``. `compile_expression`:

1. checks the text against an AST allow-list (`expression_checks`);
2. rewrites every operation whose cost depends on its operands into a call of a budgeted
   helper (RestrictedPython guards neither ``*`` nor ``**``, nor the cost of ``==``);
3. compiles the result once with RestrictedPython's `compile_restricted_eval`.

`Expression.evaluate` runs that code object in a namespace built for the one call
(`expression_guards.sandbox_namespace`): declared names, functions, guards bound to a fresh
budget and empty builtins. Every failure while running, including a refused attribute or an
exhausted budget, is an `EvaluationError`; nothing else escapes.

Objects expose attributes to expressions by declaring them on their type::

    class Actor:
        __portalis_expose__: ClassVar[frozenset[str]] = frozenset({"id", "account", "roles"})

`BUILTIN_FUNCTIONS` (module `functions`) are plain functions (never the builtins themselves, whose
``__self__`` is the builtins module); plugin functions must be pure and bounded too.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import CodeType, GeneratorType, MappingProxyType, ModuleType
from typing import Any, Final

from RestrictedPython.compile import compile_restricted_eval

from . import sandbox as guards
from .checks import ExpressionError, check_expression
from .functions import BUILTIN_FUNCTIONS, ExpressionFunction
from .paths import field_read
from .sandbox import EvaluationError

__all__ = [
    "BUILTIN_FUNCTIONS",
    "DEFAULT_NAMES",
    "EvaluationError",
    "Expression",
    "ExpressionError",
    "ExpressionFunction",
    "compile_expression",
]

log = logging.getLogger("portalis.expressions")

#: The names every expression may use unless the caller declares others.
DEFAULT_NAMES: Final = ("record", "actor")

# Builtins a plugin must never register as functions: each one reaches code, frames or modules.
_UNSAFE_CALLABLES: Final = tuple(
    getattr(builtins, name)
    for name in (
        "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr", "vars",
        "globals", "locals", "dir", "open", "input", "breakpoint", "help", "type", "object",
        "super", "memoryview", "classmethod", "staticmethod", "property", "iter", "next",
    )
)  # fmt: skip
# `is` and `is not` cost the same whatever they compare; every other comparison is paid for.
_IDENTITY_TESTS: Final = (ast.Is, ast.IsNot)


class RecordView(Mapping[str, Any]):
    """A record as an expression sees it: read-only items, and no dump of its fields.

    `str(record)` or `repr(record)` print `<record>`, so an expression shown to a reader
    (a computed field, a message) cannot copy every field of the record into its value.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return "<record>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "<record>"


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression: evaluate it as often as needed, it is never compiled again.

    `names` are the free names it uses (declared names and functions); `record_keys` are the
    constant keys it reads as ``record['key']`` or ``record.get('key')``, for field checks;
    `whole_record` says it also reads `record` in other ways (it may depend on any field).
    """

    source: str
    names: frozenset[str]
    record_keys: frozenset[str]
    whole_record: bool
    _code: CodeType = field(repr=False, compare=False)
    _functions: Mapping[str, Callable[..., Any]] = field(repr=False, compare=False)
    _declared: frozenset[str] = field(repr=False, compare=False)
    #: where the expression is written: `file:line:col` (set by the compiler), for errors
    origin: str = field(default="", compare=False)

    def evaluate(
        self, *, record: Mapping[str, Any] | None = None, actor: Any = None, **extra: Any
    ) -> Any:
        """Run the expression and return its value; raise `EvaluationError` on any failure.

        Every declared name is bound (to `None` when not given); values for names the
        expression did not declare are ignored. A generator result is returned as a list.
        """
        given = {
            name: RecordView(value) if isinstance(value, Mapping) else value
            for name, value in {"record": record, "actor": actor, **extra}.items()
        }
        namespace = guards.sandbox_namespace(
            self._functions, {name: given.get(name) for name in self._declared}
        )
        try:
            # The one sanctioned eval: a code object compiled by RestrictedPython from a
            # checked and rewritten AST, run with the guarded namespace and empty builtins.
            value = eval(self._code, namespace)  # noqa: S307
            if isinstance(value, GeneratorType):
                value = list(value)
            return value
        except EvaluationError as exc:
            message, code = str(exc), exc.code
        except Exception as exc:
            message, code = _describe(exc), "expression-failed"
        # Raised outside the handler so the original exception is neither cause nor context:
        # it may hold objects (AttributeError.obj, frames) the caller must never see.
        # The caller turns it into a form error or a refused transition; the log keeps a line
        # for whoever maintains the definition.
        log.warning(
            "%s: expression failed (%s): %s — %s",
            self.origin or "<expression>",
            code,
            self.source,
            message,
        )
        raise EvaluationError(message, code=code, source=self.source, origin=self.origin)

    def test(self, **kwargs: Any) -> bool:
        """Evaluate (same arguments as `evaluate`) and coerce the value to a bool."""
        value = self.evaluate(**kwargs)
        try:
            return bool(value)
        except Exception as exc:
            message = _describe(exc)
        raise EvaluationError(message, source=self.source, origin=self.origin)


def compile_expression(
    source: str,
    *,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    names: Iterable[str] = DEFAULT_NAMES,
) -> Expression:
    """Check and compile `source` into an `Expression`; raise `ExpressionError` if unacceptable.

    `functions` (plugin functions, pure and bounded) are merged over `BUILTIN_FUNCTIONS`;
    `names` are the values the caller will pass to `evaluate`. Raises `ValueError` for an
    unsafe or malformed function or name (a programming error, not a definition problem).
    """
    registry = _function_registry(functions)
    declared = _declared_names(names, registry)
    checked = check_expression(source, declared=declared, functions=registry)
    result = compile_restricted_eval(_rewrite(checked.tree), filename="<expression>")
    if result.errors or result.code is None:
        # The allow-list is stricter than RestrictedPython; this is a second line of defence.
        raise ExpressionError(
            "; ".join(result.errors) or "the expression was refused",
            code="expression-forbidden",
            hint="use only the constructs listed in the expression reference",
        )
    return Expression(
        source=source,
        names=checked.names,
        record_keys=checked.record_keys,
        whole_record=checked.whole_record,
        _code=result.code,
        _functions=registry,
        _declared=declared,
    )


def _describe(exc: BaseException) -> str:
    try:
        detail = str(exc)
    except Exception:
        detail = ""
    return (type(exc).__name__ + (f": {detail}" if detail else ""))[:300]


def _require_identifier(name: object, what: str) -> str:
    if not (
        isinstance(name, str)
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
    ):
        raise ValueError(f"{what} {name!r} is not a public Python identifier")
    return name


def _function_registry(
    functions: Mapping[str, Callable[..., Any]] | None,
) -> Mapping[str, Callable[..., Any]]:
    merged = dict(BUILTIN_FUNCTIONS)
    for name, function in (functions or {}).items():
        _require_identifier(name, "expression function")
        unsafe = any(function is bad for bad in _UNSAFE_CALLABLES)
        if unsafe or isinstance(function, ModuleType) or not callable(function):
            raise ValueError(f"expression function {name!r} is not a safe, pure callable")
        merged[name] = function
    return MappingProxyType(merged)


def _declared_names(names: Iterable[str], functions: Mapping[str, Any]) -> frozenset[str]:
    if isinstance(names, str):
        raise TypeError("names must be an iterable of names, not one string")
    declared = frozenset(_require_identifier(name, "expression name") for name in names)
    clash = sorted(declared & functions.keys())
    if clash:
        raise ValueError(f"expression names clash with functions: {', '.join(clash)}")
    return declared


def _rewrite(tree: ast.Expression) -> ast.Expression:
    """Route every size-dependent operation of a checked tree through the `Budget` helpers.

    Arithmetic becomes helper calls (RestrictedPython guards neither ``*`` nor ``**``);
    operands of comparisons, set elements, dict keys, call arguments and the values of
    generator expressions are charged; every callee pays for its call.
    """
    rewritten: ast.Expression = ast.fix_missing_locations(_Rewriter().visit(tree))
    return rewritten


def _charge(node: ast.expr) -> ast.expr:
    call = ast.Call(func=ast.Name(id=guards.CHARGE, ctx=ast.Load()), args=[node], keywords=[])
    return ast.copy_location(call, node)


class _Rewriter(ast.NodeTransformer):
    """Rewrites checked nodes so every size-dependent operation goes through a budgeted helper."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        # record.a.b reads the key "a.b" (loaded with the record); a loop variable that
        # shadows `record` gets the same item read, which is all a mapping offers anyway
        field = field_read(node)
        if field is None:
            self.generic_visit(node)
            return node
        name, path = field
        read = ast.Subscript(
            value=ast.Name(id=name, ctx=ast.Load()),
            slice=ast.Constant(value=path),
            ctx=ast.Load(),
        )
        return ast.copy_location(read, node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        helper = ast.Name(id=guards.BINOP_HELPERS[type(node.op)], ctx=ast.Load())
        call = ast.Call(func=helper, args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        operands = [node.left, *node.comparators]
        for index, operand in enumerate(operands):
            # An operand needs paying for unless only identity tests (`is None`) touch it.
            touching = node.ops[max(index - 1, 0) : index + 1]
            if not all(isinstance(op, _IDENTITY_TESTS) for op in touching):
                operands[index] = _charge(operand)
        node.left = operands[0]
        node.comparators = operands[1:]
        return node

    def visit_Set(self, node: ast.Set) -> ast.expr:
        self.generic_visit(node)
        node.elts = [_charge(element) for element in node.elts]
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.expr:
        self.generic_visit(node)
        node.keys = [None if key is None else _charge(key) for key in node.keys]
        return node

    def visit_SetComp(self, node: ast.SetComp) -> ast.expr:
        self.generic_visit(node)
        node.elt = _charge(node.elt)
        return node

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.expr:
        # Generators feed C code (sum, min, `in`) that no other guard sees item by item.
        self.generic_visit(node)
        node.elt = _charge(node.elt)
        return node

    def visit_DictComp(self, node: ast.DictComp) -> ast.expr:
        self.generic_visit(node)
        node.key = _charge(node.key)
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        callee = ast.Call(
            func=ast.Name(id=guards.CALL, ctx=ast.Load()), args=[node.func], keywords=[]
        )
        node.func = ast.copy_location(callee, node.func)
        node.args = [_charge(arg) for arg in node.args]
        for item in node.keywords:
            item.value = _charge(item.value)
        return node
