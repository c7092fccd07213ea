"""Operators and functions of live computed fields (`stored: sql`, see `sql_compute`):
comparisons, `in`, and/or/not, `x or default`, `+ - *` with exact decimals, `a if c else b`,
`today()`, `now()` and `days_since()`."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any, Final

import sqlalchemy as sa

from .sql_dialect import utc_now, utc_today
from .sql_reads import NUMBERS, Sql, SqlReads, is_record, kind_text

_COMPARE: Final[Mapping[type[ast.cmpop], Callable[[Any, Any], Any]]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_ORDERED: Final = ("int", "decimal", "text", "date", "datetime")
_OPERATORS: Final[Mapping[type[ast.operator], str]] = {
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}


class SqlCompiler(SqlReads):
    """Compiles one entity's `stored: sql` expressions to SQLAlchemy column expressions."""

    def visit_Call(self, node: ast.Call) -> Sql:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and is_record(func.value)
            and len(node.args) == 1
            and not node.keywords
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            return self.read(node, node.args[0].value)
        name = func.id if isinstance(func, ast.Name) else None
        if node.keywords or name not in ("today", "now", "days_since"):
            raise self.refuse(node, f"{name or 'this call'}() cannot be computed by the database")
        if name == "today" and not node.args:
            return Sql(utc_today(), "date")
        if name == "now" and not node.args:
            return Sql(utc_now(), "datetime")
        if name == "days_since" and len(node.args) == 1:
            return self.days_since(node, self.visit(node.args[0]))
        raise self.refuse(node, f"{name}() is called with the wrong arguments")

    def days_since(self, node: ast.AST, value: Sql) -> Sql:
        if value.kind not in ("date", "datetime"):
            raise self.refuse(node, "days_since() needs a date or datetime field")
        if self.units:
            if value.kind == "date":
                days = sa.func.julianday(utc_today()) - sa.func.julianday(value.expr)
                return Sql(sa.cast(days, sa.BigInteger()), "int")
            # whole elapsed days, rounded down like Python's timedelta.days
            elapsed = sa.func.julianday("now") - sa.func.julianday(value.expr)
            whole = sa.cast(elapsed, sa.BigInteger())
            return Sql(whole - sa.case((elapsed < whole, 1), else_=0), "int")
        if value.kind == "date":
            return Sql(sa.cast(utc_today() - value.expr, sa.BigInteger()), "int")
        seconds = sa.extract("epoch", utc_now() - value.expr)
        return Sql(sa.cast(sa.func.floor(seconds / 86400), sa.BigInteger()), "int")

    def visit_Compare(self, node: ast.Compare) -> Sql:
        parts = []
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, ast.Is | ast.IsNot):
                if not (isinstance(right_node, ast.Constant) and right_node.value is None):
                    raise self.refuse(node, "`is` compares with None only")
                parts.append(
                    left.expr.is_(None) if isinstance(op, ast.Is) else left.expr.is_not(None)
                )
                left = Sql(sa.null(), "null")
                continue
            if isinstance(op, ast.In | ast.NotIn):
                parts.append(self.member(node, left, right_node, isinstance(op, ast.NotIn)))
                continue
            right = self.visit(right_node)
            compare = _COMPARE.get(type(op))
            if compare is None:
                raise self.refuse(node, "this comparison cannot be computed by the database")
            a, b = self.align(node, left, right, ordered=not isinstance(op, ast.Eq | ast.NotEq))
            parts.append(compare(a.expr, b.expr))
            left = right
        return Sql(parts[0] if len(parts) == 1 else sa.and_(*parts), "bool")

    def member(self, node: ast.AST, left: Sql, options: ast.expr, negate: bool) -> Any:
        if not isinstance(options, ast.Tuple | ast.List | ast.Set) or not all(
            isinstance(e, ast.Constant) and e.value is not None for e in options.elts
        ):
            raise self.refuse(node, "`in` needs a list of literals, e.g. ('issued', 'sent')")
        values = [self.visit(e) for e in options.elts]
        aligned = [self.align(node, left, v, ordered=False) for v in values]
        column = aligned[0][0].expr if aligned else left.expr
        items = [b.expr for _, b in aligned]
        if not items:
            return sa.false() if not negate else sa.true()
        return column.not_in(items) if negate else column.in_(items)

    def align(self, node: ast.AST, a: Sql, b: Sql, *, ordered: bool) -> tuple[Sql, Sql]:
        """Two operands of one kind (numbers at one scale), or a `compute-not-sql` error."""
        if a.kind in NUMBERS and b.kind in NUMBERS:
            scale = max(a.scale, b.scale)
            return self.rescale(a, scale), self.rescale(b, scale)
        if "null" in (a.kind, b.kind):
            raise self.refuse(node, "compare with None using `is None`")
        if {a.kind, b.kind} == {"ref", "int"} and not ordered:  # a reference and an id
            return a, b
        if a.kind != b.kind or (ordered and a.kind not in _ORDERED):
            raise self.refuse(node, f"cannot compare {kind_text(a.kind)} with {kind_text(b.kind)}")
        return a, b

    def rescale(self, value: Sql, scale: int) -> Sql:
        if value.scale == scale or not self.units:
            return Sql(value.expr, "decimal" if scale else value.kind, scale)
        return Sql(value.expr * 10 ** (scale - value.scale), "decimal", scale)

    def visit_BinOp(self, node: ast.BinOp) -> Sql:
        left, right = self.visit(node.left), self.visit(node.right)
        if left.kind not in NUMBERS or right.kind not in NUMBERS:
            raise self.refuse(node, "arithmetic in the database needs int or decimal operands")
        if isinstance(node.op, ast.Add | ast.Sub):
            a, b = self.align(node, left, right, ordered=True)
            expr = a.expr + b.expr if isinstance(node.op, ast.Add) else a.expr - b.expr
            return Sql(expr, a.kind, a.scale)
        if isinstance(node.op, ast.Mult):
            kind = "decimal" if "decimal" in (left.kind, right.kind) else "int"
            return Sql(left.expr * right.expr, kind, left.scale + right.scale)
        symbol = _OPERATORS.get(type(node.op), type(node.op).__name__)
        raise self.refuse(
            node,
            f"operator {symbol} cannot be computed exactly by the database",
            "use + - * (a quotient is not exact in SQL), or stored: false",
        )

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Sql:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return Sql(sa.not_(self.truth(node, operand)), "bool")
        if operand.kind in NUMBERS and isinstance(node.op, ast.USub):
            return Sql(-operand.expr, operand.kind, operand.scale)
        if operand.kind in NUMBERS and isinstance(node.op, ast.UAdd):
            return operand
        raise self.refuse(node, "this operator cannot be computed by the database")

    def visit_BoolOp(self, node: ast.BoolOp) -> Sql:
        first = self.visit(node.values[0])
        if first.kind != "bool" and isinstance(node.op, ast.Or):
            return self.default(first, node.values[1:])
        values = [self.truth(node.values[0], first)]
        values += [self.truth(v, self.visit(v)) for v in node.values[1:]]
        join = sa.and_ if isinstance(node.op, ast.And) else sa.or_
        return Sql(join(*values), "bool")

    def default(self, first: Sql, rest: list[ast.expr]) -> Sql:
        """`x or y`: x unless it is empty or false in Python's sense (0, ''), else y — as
        Python has it, not COALESCE (which would keep a 0)."""
        result = first
        for node in rest:
            a, b = self.align(node, result, self.visit(node), ordered=False)
            empty = a.expr.is_(None)
            if a.kind in NUMBERS:
                empty = sa.or_(empty, a.expr == 0)
            elif a.kind == "text":
                empty = sa.or_(empty, a.expr == "")
            result = Sql(sa.case((empty, b.expr), else_=a.expr), a.kind, a.scale)
        return result

    def visit_IfExp(self, node: ast.IfExp) -> Sql:
        test = self.truth(node.test, self.visit(node.test))
        body, other = self.visit(node.body), self.visit(node.orelse)
        if body.kind == "null":
            body = Sql(sa.null(), other.kind, other.scale)
        if other.kind == "null":
            other = Sql(sa.null(), body.kind, body.scale)
        a, b = self.align(node, body, other, ordered=False)
        return Sql(sa.case((test, a.expr), else_=b.expr), a.kind, a.scale)

    def truth(self, node: ast.AST, value: Sql) -> Any:
        if value.kind != "bool":
            raise self.refuse(
                node,
                f"{kind_text(value.kind)} is not a truth value in the database",
                "compare it explicitly, e.g. record['x'] is not None or record['n'] > 0",
            )
        return value.expr
