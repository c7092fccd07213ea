"""What runs inside the expression sandbox: the guards RestrictedPython calls, and budgets.

`portalis.engine.expr.expressions` checks an expression against an AST allow-list, rewrites every
operator whose cost depends on its operands into a call of a helper below and compiles the
result with RestrictedPython. At evaluation time the code sees exactly one namespace, built
fresh by `sandbox_namespace`: the declared names, the registered functions, RestrictedPython's
hooks (`_getattr_`, `_getitem_`, `_getiter_`, ...) bound to a new `Budget`, and empty builtins.
There is no "inside the sandbox" flag anywhere (Frappe CVE-2023-54406): the restrictions are
the shape of that namespace, so a nested evaluation is exactly as restricted as any other.

Cost model. Every operation whose cost grows with the size of its operands pays that size from
the evaluation's work budget *before* it runs: comparisons and membership tests, arithmetic on
non-numbers, hashing (set elements, dict keys, subscript keys), call arguments, slices, string
methods and values produced by generator expressions. Sizes are deep (a list of lists costs all
inner items); text costs one unit per `TEXT_UNIT` characters. Every guard call, function call
and attribute read pays a few units as well, and loops pay one step per item, so together with
the AST size limits the CPU time of any evaluation is bounded (SECURITY R13): the worst cases
in tests/security/test_sandbox.py stay well under a second.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from ..problems import PortalisError

#: Items a single evaluation may iterate over, summed over all its loops.
MAX_ITERATIONS: Final = 10_000
#: Largest string, list or tuple that `*` or `+` may build.
MAX_SEQUENCE: Final = 100_000
#: Work units one evaluation may spend (see the module docstring). A unit is at most about
#: half a microsecond of CPU: one guard call, one item of a deep size, `TEXT_UNIT` characters.
MAX_WORK: Final = 500_000
#: Units a function or method call costs on top of its arguments (calls run Python code).
CALL_UNITS: Final = 10
#: Units an attribute read costs (the guard does several look-ups).
GETATTR_UNITS: Final = 2
#: Units starting a loop costs (an iterator, a generator and usually a new list or set).
ITER_UNITS: Final = 4
#: Characters of text that cost one work unit (text operations run at memcpy speed).
TEXT_UNIT: Final = 16
#: Largest absolute exponent of `**`.
MAX_EXPONENT: Final = 64
#: Largest integer (in bits) that `*`, `**` or a literal may produce. Integers count as one
#: unit of work wherever they are, so they must stay small enough that str() of one is cheap.
MAX_INT_BITS: Final = 256
#: Decimal digits of a `MAX_INT_BITS` integer.
MAX_INT_DIGITS: Final = 77
#: Longest text `int()` and `days_since()` parse.
MAX_PARSE_CHARS: Final = 100

#: Prefix of the helper names the compiler inserts. ":" cannot occur in a Python identifier,
#: so no expression text can name, shadow or capture a helper.
HELPER_PREFIX: Final = "portalis:"
CHARGE: Final = HELPER_PREFIX + "charge"
CALL: Final = HELPER_PREFIX + "call"
ADD: Final = HELPER_PREFIX + "add"
SUB: Final = HELPER_PREFIX + "sub"
MUL: Final = HELPER_PREFIX + "mul"
DIV: Final = HELPER_PREFIX + "div"
FLOORDIV: Final = HELPER_PREFIX + "floordiv"
MOD: Final = HELPER_PREFIX + "mod"
POW: Final = HELPER_PREFIX + "pow"

#: The helper each allowed arithmetic operator is rewritten into.
BINOP_HELPERS: Final[Mapping[type[ast.operator], str]] = MappingProxyType(
    {
        ast.Add: ADD,
        ast.Sub: SUB,
        ast.Mult: MUL,
        ast.Div: DIV,
        ast.FloorDiv: FLOORDIV,
        ast.Mod: MOD,
        ast.Pow: POW,
    }
)
_NUMBERS: Final = (int, float, Decimal)
_TEXT: Final = (str, bytes)
_REPEATABLE: Final = (str, bytes, list, tuple)
_CONTAINERS: Final = (list, tuple, set, frozenset)
# Values that cost one unit and hold nothing else; their exact types keep the fast path exact.
_SCALAR_TYPES: Final = frozenset(
    {int, float, bool, type(None), Decimal, dt.date, dt.datetime, dt.time, dt.timedelta}
)
# Read-only data attributes of exact standard types; methods stay out on purpose.
_SAFE_ATTRIBUTES: Final[Mapping[type, frozenset[str]]] = MappingProxyType(
    {
        dt.date: frozenset({"year", "month", "day"}),
        dt.datetime: frozenset({"year", "month", "day", "hour", "minute", "second"}),
        dt.time: frozenset({"hour", "minute", "second"}),
        dt.timedelta: frozenset({"days", "seconds"}),
    }
)
# Harmless, linear-time methods of exact `str` (not `format`, which walks attributes).
_STR_METHODS: Final = frozenset({"lower", "upper", "strip", "startswith", "endswith"})
#: The class attribute through which a type lists the attributes expressions may read.
EXPOSE_ATTRIBUTE: Final = "__portalis_expose__"
#: The class attribute (True) through which a value type says `+ - * /` on it are safe: they
#: run in constant time and raise TypeError for operands they do not support (`Money`).
ARITHMETIC_ATTRIBUTE: Final = "__portalis_arithmetic__"


class EvaluationError(PortalisError):
    """An expression failed while running: `expression-failed` or `expression-budget`.

    Carries only text: the exception that caused it is neither chained nor kept, so nothing an
    expression touched (frames, modules, `AttributeError.obj`) leaks to the caller.
    """

    code = "expression-failed"

    def __init__(
        self, message: str, *, code: str | None = None, source: str = "", origin: str = ""
    ) -> None:
        super().__init__(message, code=code)
        self.source = source
        #: where the expression is written in the definition: `file:line:col` (or "")
        self.origin = origin


def _over_budget(what: str) -> EvaluationError:
    return EvaluationError(f"expression exceeds its budget: {what}", code="expression-budget")


def _refused(what: str) -> EvaluationError:
    return EvaluationError(f"not allowed in expressions: {what}")


def is_number(value: object) -> bool:
    """True for the numbers arithmetic runs on directly: int (and bool), float, Decimal."""
    return isinstance(value, _NUMBERS)


def is_quantity(value: object) -> bool:
    """True for numbers and for values whose type declares `ARITHMETIC_ATTRIBUTE` (money):
    their operators run in constant time and refuse what they do not support themselves."""
    return isinstance(value, _NUMBERS) or getattr(type(value), ARITHMETIC_ATTRIBUTE, False) is True


def measure(value: object, limit: int) -> int:
    """The deep cost of `value` in work units, or some number above `limit` once it exceeds it.

    Stops as soon as `limit` is passed, so measuring costs no more than the budget it guards.
    """
    total = 0
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind in _SCALAR_TYPES:
            total += 1
        elif isinstance(item, _TEXT):
            total += 1 + len(item) // TEXT_UNIT
        elif isinstance(item, _CONTAINERS):
            total += 1 + len(item)
            # map(type, ...) runs in C: flat lists of scalars are measured without a Python loop.
            if total <= limit and not _SCALAR_TYPES.issuperset(map(type, item)):
                pending.extend(x for x in item if type(x) not in _SCALAR_TYPES)
        elif isinstance(item, Mapping):
            total += 1 + 2 * len(item)
            if total <= limit:
                pending.extend(k for k in item if type(k) not in _SCALAR_TYPES)
                pending.extend(v for v in item.values() if type(v) not in _SCALAR_TYPES)
        else:
            # Opaque objects (the actor, generators, functions) are not looked into.
            total += 1
        if total > limit:
            return total
    return total


class Budget:
    """The limits and hooks of one evaluation. Built fresh per call: evaluations share nothing."""

    __slots__ = ("steps", "work")

    def __init__(self) -> None:
        self.steps = MAX_ITERATIONS
        self.work = MAX_WORK

    # -- accounting ---------------------------------------------------------------------------
    def spend(self, units: int) -> None:
        """Pay `units` of work or fail with `expression-budget`."""
        self.work -= units
        if self.work < 0:
            raise _over_budget(f"more than {MAX_WORK:,} units of work")

    def charge(self, value: Any) -> Any:
        """Pay the deep size of `value` (before an operation that is linear in it); return it."""
        # The common case (a number, a date, None) without the cost of a `measure` call.
        self.spend(1 if type(value) in _SCALAR_TYPES else measure(value, self.work))
        return value

    def call(self, function: Any) -> Any:
        """Pay for calling `function` (wrapped around every callee); return it."""
        self.spend(CALL_UNITS)
        return function

    def step(self) -> None:
        """Pay one loop iteration."""
        self.steps -= 1
        if self.steps < 0:
            raise _over_budget(f"more than {MAX_ITERATIONS:,} loop iterations")

    # -- RestrictedPython hooks ---------------------------------------------------------------
    def getattr(self, obj: Any, name: Any) -> Any:
        """`_getattr_`: default-deny attribute reads.

        Allowed: attributes a type lists in `__portalis_expose__`, a few data attributes of
        dates and times, five methods of exact `str`, and `get` of mappings.
        """
        self.spend(GETATTR_UNITS)
        # A str subclass could lie in startswith/__eq__; only exact, public names are looked up.
        if type(name) is not str or name.startswith("_"):
            raise _refused("a private or computed attribute name")
        kind = type(obj)
        # Looked up on the type, never the instance, so data cannot widen what is exposed.
        exposed = getattr(kind, EXPOSE_ATTRIBUTE, None)
        if isinstance(exposed, frozenset) and name in exposed:
            return getattr(obj, name)
        if name in _SAFE_ATTRIBUTES.get(kind, ()):
            return getattr(obj, name)
        if kind is str and name in _STR_METHODS:
            self.spend(1 + len(obj) // TEXT_UNIT)
            return getattr(obj, name)
        if name == "get" and isinstance(obj, Mapping):
            return obj.get
        raise _refused(f"attribute {name!r} of {kind.__name__}")

    def getitem(self, obj: Any, key: Any) -> Any:
        """`_getitem_`: items of mappings and sequences only; slices pay for their copy."""
        if isinstance(key, slice):
            if not isinstance(obj, Sequence):
                raise _refused(f"slicing {type(obj).__name__}")
            size = len(range(*key.indices(len(obj))))
            self.spend(1 + (size // TEXT_UNIT if isinstance(obj, _TEXT) else size))
            return obj[key]
        if not isinstance(obj, Mapping | Sequence):
            raise _refused(f"items of {type(obj).__name__}")
        return obj[self.charge(key)]

    def getiter(self, obj: Any) -> Iterator[Any]:
        """`_getiter_`: iterate anything iterable, paying one step per item."""
        self.spend(ITER_UNITS)
        return self._counted(iter(obj))

    def _counted(self, iterator: Iterator[Any]) -> Iterator[Any]:
        for item in iterator:
            self.step()
            yield item

    def iter_unpack_sequence(
        self, iterable: Any, spec: Mapping[str, Any], getiter: Callable[[Any], Any]
    ) -> Iterator[list[Any]]:
        """`_iter_unpack_sequence_`: `for a, (b, c) in ...` with every level paid for.

        The `getiter` RestrictedPython passes is ignored: this budget's own is used.
        """
        for item in self.getiter(iterable):
            yield self._unpack(item, spec)

    def _unpack(self, value: Any, spec: Mapping[str, Any]) -> list[Any]:
        if isinstance(value, list | tuple):
            self.spend(1 + len(value))
            items = list(value)
        else:
            items = list(self.getiter(value))
        if len(items) >= spec["min_len"]:
            for index, child in spec["childs"]:
                items[index] = self._unpack(items[index], child)
        return items

    def write(self, obj: Any) -> Any:
        """`_write_`: expressions never change anything."""
        raise _refused("changing a value")

    # -- operators (the compiler rewrites BinOp into these) -----------------------------------
    def add(self, left: Any, right: Any) -> Any:
        """`+`; concatenations are limited to `MAX_SEQUENCE` items and paid for."""
        self.spend(1)
        if is_number(left) and is_number(right):
            return left + right
        self.charge(left)
        self.charge(right)
        if isinstance(left, Sized) and isinstance(right, Sized):
            size = len(left) + len(right)
            if size > MAX_SEQUENCE:
                raise _over_budget(f"a result longer than {MAX_SEQUENCE:,}")
        return left + right

    def sub(self, left: Any, right: Any) -> Any:
        """`-`; set differences pay for both operands."""
        self.spend(1)
        if is_number(left) and is_number(right):
            return left - right
        return self.charge(left) - self.charge(right)

    def mul(self, left: Any, right: Any) -> Any:
        """`*`; integer results and repetitions are bounded before they are computed."""
        self.spend(1)
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _over_budget(f"an integer larger than {MAX_INT_BITS} bits")
            return left * right
        if is_quantity(left) and is_quantity(right):
            return left * right
        if isinstance(left, int) and isinstance(right, _REPEATABLE):
            left, right = right, left
        if isinstance(left, _REPEATABLE) and isinstance(right, int):
            size = len(left) * max(right, 0)
            if size > MAX_SEQUENCE:
                raise _over_budget(f"a result longer than {MAX_SEQUENCE:,}")
            self.spend(1 + (size // TEXT_UNIT if isinstance(left, _TEXT) else size))
            return left * right
        raise TypeError(f"cannot multiply {type(left).__name__} by {type(right).__name__}")

    def div(self, left: Any, right: Any) -> Any:
        """`/` on numbers and amounts of money."""
        self.spend(1)
        if not (is_quantity(left) and is_quantity(right)):
            raise TypeError(
                f"'/' needs numbers, not {type(left).__name__} and {type(right).__name__}"
            )
        return left / right

    def floordiv(self, left: Any, right: Any) -> Any:
        """`//` on numbers."""
        self._numbers("//", left, right)
        return left // right

    def mod(self, left: Any, right: Any) -> Any:
        """`%` on numbers only: `'%*d' % (10**9, 1)` would allocate without limit."""
        self._numbers("%", left, right)
        return left % right

    def pow(self, base: Any, exponent: Any) -> Any:
        """`**` with |exponent| <= `MAX_EXPONENT` and integer results of at most `MAX_INT_BITS`."""
        self._numbers("**", base, exponent)
        if abs(exponent) > MAX_EXPONENT:
            raise _over_budget(f"an exponent larger than {MAX_EXPONENT}")
        if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
            if base.bit_length() * exponent > MAX_INT_BITS:
                raise _over_budget(f"an integer larger than {MAX_INT_BITS} bits")
        return base**exponent

    def _numbers(self, symbol: str, left: Any, right: Any) -> None:
        self.spend(1)
        if not (is_number(left) and is_number(right)):
            raise TypeError(
                f"{symbol!r} needs numbers, not {type(left).__name__} and {type(right).__name__}"
            )

    def hooks(self) -> dict[str, Any]:
        """The names RestrictedPython's output and the compiler's rewrites call."""
        return {
            "_getattr_": self.getattr,
            "_getitem_": self.getitem,
            "_getiter_": self.getiter,
            "_iter_unpack_sequence_": self.iter_unpack_sequence,
            "_write_": self.write,
            CHARGE: self.charge,
            CALL: self.call,
            ADD: self.add,
            SUB: self.sub,
            MUL: self.mul,
            DIV: self.div,
            FLOORDIV: self.floordiv,
            MOD: self.mod,
            POW: self.pow,
        }


def sandbox_namespace(
    functions: Mapping[str, Callable[..., Any]], values: Mapping[str, Any]
) -> dict[str, Any]:
    """The only globals an evaluation sees, new for every evaluation.

    Hooks are written last so no declared name or function can replace one, and builtins are
    an empty dict: Python would otherwise insert the real `builtins` module.
    """
    namespace: dict[str, Any] = {**values, **functions}
    namespace.update(Budget().hooks())
    namespace["__builtins__"] = {}
    return namespace
