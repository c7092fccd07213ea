"""Computed fields the database evaluates (`stored: sql`): an expression compiled to SQL.

A `stored: sql` field has no column. Its expression — the same Python expression a virtual
field has — is compiled to a SQLAlchemy column expression over the entity's table and selected
with every row, so lists, filters, sorts and metrics read it like a column and it is never stale
(`today()` is the database's today, in UTC).

Only a subset of expressions has an exact SQL meaning; anything else is refused when the
definition is validated (`compute-not-sql`, located in the expression):

- fields of the record (`record['x']`, `record.x`, `record.get('x')`) of type bool, int,
  decimal, string, text, choice, email, date, datetime and ref (refs: `is None`, `==` an id),
  the system columns, and earlier `stored: sql` fields; stored fields of referenced records
  (`record.customer.tier`, a correlated subquery per step, read with the engine's rights
  like every related read); no money (an amount is two columns whose currencies SQL would
  have to match);
- literals; `== != < <= > >=` (chains too), `is None`, `is not None`, `in (literals)`;
  `and`, `or`, `not` on truth values; `x or default` (as Python: a 0 or '' is replaced too);
  `+ - *` on numbers; `a if c else b`;
- `today()`, `now()`, `days_since(date or datetime)`.

Decimals stay exact: on SQLite a decimal column holds whole units of 10**-scale (see
`fieldtypes.exact`), so arithmetic runs on those integers, each operand scaled to a common
scale; PostgreSQL's NUMERIC is exact as it is. Comparisons follow SQL: an empty operand makes
the result empty (as a virtual field whose expression fails is empty).
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from ..definition.fieldtypes.exact import MAX_SCALED_PRECISION
from ..definition.model import SYSTEM_COLUMNS, Entity, Field
from ..expr.checks import ExpressionError

CODE: Final = "compute-not-sql"
_HINT: Final = (
    "stored: sql compiles comparisons, and/or/not, + - *, if/else, literals, today(), now() "
    "and days_since() over this record's fields; use stored: false to compute it in Python"
)
#: field type → kind of value in SQL
_KINDS: Final = {
    "bool": "bool",
    "int": "int",
    "decimal": "decimal",
    "string": "text",
    "text": "text",
    "choice": "text",
    "email": "text",
    "date": "date",
    "datetime": "datetime",
    "ref": "ref",
}
_SYSTEM_KINDS: Final = {
    "id": "int",
    "version": "int",
    "created_by": "ref",
    "created_at": "datetime",
    "updated_at": "datetime",
}
_NUMBERS: Final = ("int", "decimal")
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


# -- dialect functions -----------------------------------------------------------------------
class utc_today(FunctionElement[dt.date]):  # noqa: N801 - SQL function spelling
    """Today's date in UTC, as the database sees it."""

    type = sa.Date()
    inherit_cache = True


class utc_now(FunctionElement[dt.datetime]):  # noqa: N801 - SQL function spelling
    """The current time (UTC)."""

    type = sa.DateTime(timezone=True)
    inherit_cache = True


@compiles(utc_today, "sqlite")
def _today_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "date('now')"


@compiles(utc_today)
def _today_default(element: Any, compiler: Any, **kw: Any) -> str:
    return "CAST(timezone('UTC', now()) AS DATE)"


@compiles(utc_now, "sqlite")
def _now_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    # the text form SQLAlchemy stores datetimes in, so text comparisons order them
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


@compiles(utc_now)
def _now_default(element: Any, compiler: Any, **kw: Any) -> str:
    return "now()"


# -- the compiler ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Sql:
    """A compiled operand: its SQL, kind of value and (decimals) digits after the point.

    On SQLite (`units`) a decimal's SQL is an integer count of 10**-scale.
    """

    expr: Any
    kind: str
    scale: int = 0


def sql_fields(entity: Entity) -> tuple[str, ...]:
    """Names of the entity's `stored: sql` fields, in definition order."""
    return tuple(name for name, field in entity.fields.items() if field.sql)


#: The table of an entity, by entity name (a `TableSet`, or stand-ins at validation).
Tables = Callable[[str], Any]


def sql_columns(
    entities: Mapping[str, Entity], entity: Entity, tables: Tables, dialect: str
) -> dict[str, sa.ColumnElement[Any]]:
    """The SQL of each `stored: sql` field of `entity` over its table, typed as the field's
    column so its value is read (and bound in filters) as the field's type. A referenced
    record's field is a correlated scalar subquery. Raise `ExpressionError` (code
    `compute-not-sql`) for an expression with no exact SQL form; `sql_problems` reports them
    all at validation."""
    done: dict[str, sa.ColumnElement[Any]] = {}
    for name in sql_fields(entity):
        compiler = _Compiler(entities, entity, tables, dialect, done)
        done[name] = compiler.field(entity.fields[name])
    return done


def sql_problems(entities: Mapping[str, Entity], entity: Entity) -> dict[str, ExpressionError]:
    """Why each `stored: sql` field of `entity` cannot be compiled (field name → error).

    Compiled for SQLite, whose unit-scaled decimals are the stricter case; the structure of
    the SQL is the same on PostgreSQL."""
    stand_ins = {
        e.name: sa.table(
            e.name,
            *(sa.column(n) for n in SYSTEM_COLUMNS),
            *(sa.column(n) for n, f in e.fields.items() if f.stored),
        )
        for e in entities.values()
    }
    done: dict[str, sa.ColumnElement[Any]] = {}
    problems: dict[str, ExpressionError] = {}
    for name in sql_fields(entity):
        try:
            compiler = _Compiler(entities, entity, stand_ins.__getitem__, "sqlite", done)
            done[name] = compiler.field(entity.fields[name])
        except ExpressionError as exc:
            problems[name] = exc
    return problems


class _Compiler:
    def __init__(
        self,
        entities: Mapping[str, Entity],
        entity: Entity,
        tables: Tables,
        dialect: str,
        done: Mapping[str, sa.ColumnElement[Any]],
    ) -> None:
        self.entities = entities
        self.entity = entity
        self.tables = tables
        self.column: Callable[[str], Any] = tables(entity.name).c.__getitem__
        self.units = dialect == "sqlite"
        self.shift = 0
        self.text = ""
        self.done = done

    # -- entry ------------------------------------------------------------------------------
    def field(self, field: Field) -> sa.ColumnElement[Any]:
        assert field.compute is not None
        source = field.compute.source
        self.text = source.lstrip(" \t")
        self.shift = len(source) - len(self.text)
        tree = ast.parse(self.text, mode="eval")
        result = self.visit(tree.body)
        return sa.type_coerce(self.convert(result, field, tree.body), field.kind.column_type(field))

    def convert(self, value: Sql, field: Field, node: ast.AST) -> Any:
        """`value` as the stored form of `field` (decimal units rescaled on SQLite)."""
        want = _KINDS.get(field.type)
        if want is None or want == "ref":
            raise self.refuse(node, f"a {field.type} field cannot be computed by the database")
        if value.kind == "null":
            return sa.null()
        if want == "decimal" and value.kind in _NUMBERS:
            places = int(getattr(field.config, "places", 2))
            if value.scale > places:
                raise self.refuse(
                    node,
                    f"the result has {value.scale} decimal places, the field keeps {places}",
                    f"give the field places: {value.scale} or more",
                )
            if self.scaled(field):
                shift = places - value.scale
                return value.expr * 10**shift if shift else value.expr
            # NUMERIC(p, s) as the column is: the field's places on every row (no rounding:
            # the result has no more places than the field)
            precision = int(getattr(field.config, "precision", 18))
            return sa.cast(value.expr, sa.Numeric(precision, places))
        if want != value.kind:
            raise self.refuse(
                node,
                f"the expression gives {_a(value.kind)}, the field is {field.type}",
                "give the field the type of the expression's value",
            )
        return value.expr

    def scaled(self, field: Field) -> bool:
        """True when the decimal field's column holds units (SQLite, up to 18 digits)."""
        precision = int(getattr(field.config, "precision", 18))
        return self.units and precision <= MAX_SCALED_PRECISION

    def refuse(self, node: ast.AST, message: str, hint: str = _HINT) -> ExpressionError:
        """A `compute-not-sql` error located at `node` in the expression text."""
        line = getattr(node, "lineno", 0)
        offset = getattr(node, "col_offset", 0)
        lines = self.text.splitlines() or [""]
        col = 0
        if 0 < line <= len(lines):
            col = len(lines[line - 1].encode()[:offset].decode("utf-8", "ignore")) + 1
            col += self.shift if line == 1 else 0
        return ExpressionError(message, code=CODE, line=line, col=col, hint=hint)

    # -- nodes ------------------------------------------------------------------------------
    def visit(self, node: ast.expr) -> Sql:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.refuse(node, f"{_construct(node)} cannot be computed by the database")
        result: Sql = method(node)
        return result

    def visit_Constant(self, node: ast.Constant) -> Sql:
        value = node.value
        if value is None:
            return Sql(sa.null(), "null")
        if isinstance(value, bool):
            return Sql(sa.literal(value, sa.Boolean()), "bool")
        if isinstance(value, int):
            return Sql(sa.literal(value, sa.BigInteger()), "int")
        if isinstance(value, str):
            return Sql(sa.literal(value, sa.String()), "text")
        if isinstance(value, float):
            return self.decimal(Decimal(repr(value)))
        raise self.refuse(
            node, f"{type(value).__name__} literals cannot be computed by the database"
        )

    def decimal(self, value: Decimal) -> Sql:
        scale = max(0, -int(value.as_tuple().exponent))
        if self.units:
            return Sql(sa.literal(int(value.scaleb(scale)), sa.BigInteger()), "decimal", scale)
        return Sql(sa.literal(value, sa.Numeric(38, scale)), "decimal", scale)

    def visit_Subscript(self, node: ast.Subscript) -> Sql:
        key = node.slice
        if _is_record(node.value) and isinstance(key, ast.Constant) and isinstance(key.value, str):
            return self.read(node, key.value)
        raise self.refuse(node, "only record['field'] can be read by the database")

    def visit_Attribute(self, node: ast.Attribute) -> Sql:
        if _is_record(node.value):
            return self.read(node, node.attr)
        path = _record_path(node)
        if path:
            return self.related(node, path)
        raise self.refuse(node, f"attribute .{node.attr} cannot be computed by the database")

    def visit_Call(self, node: ast.Call) -> Sql:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and _is_record(func.value)
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

    def related(self, node: ast.AST, path: list[str]) -> Sql:
        """`record.order.account.name`: nested correlated scalar subqueries, one per step,
        each over an alias (an entity may refer to itself)."""
        *refs, last = path
        current, key, alias = self.entity, None, None
        for ref in refs:
            field = current.fields.get(ref)
            target = self.entities.get(str(getattr(field.config, "to", ""))) if field else None
            if field is None or field.type != "ref" or not field.stored or target is None:
                raise self.refuse(node, f"{current.name}.{ref} is not a reference")
            if key is None or alias is None:
                key = self.column(ref)
            else:
                key = _lookup(alias, ref, key)
            current, alias = target, self.tables(target.name).alias()
        assert key is not None and alias is not None

        def column(name: str) -> Any:
            return _lookup(alias, name, key)

        if last in SYSTEM_COLUMNS:
            return Sql(column(last), _SYSTEM_KINDS[last])
        return self.field_value(node, current, last, column, {})

    def read(self, node: ast.AST, name: str) -> Sql:
        if name in SYSTEM_COLUMNS:
            return Sql(self.column(name), _SYSTEM_KINDS[name])
        return self.field_value(node, self.entity, name, self.column, self.done)

    def field_value(
        self,
        node: ast.AST,
        entity: Entity,
        name: str,
        column: Callable[[str], Any],
        done: Mapping[str, Any],
    ) -> Sql:
        """The value of `entity`'s field `name` from `column(name)` (or `done`: the live
        fields compiled so far)."""
        field = entity.fields.get(name)
        if field is None:
            raise self.refuse(node, f"{entity.name} has no field {name!r}")
        kind = _KINDS.get(field.type)
        if field.type == "money":
            raise self.refuse(
                node,
                f"{name} is money, which the database cannot compute with: an amount and its "
                "currency are two columns",
                "compute it with stored: false, or compare it in a stored computed field "
                "and read that field here",
            )
        if kind is None:
            raise self.refuse(
                node,
                f"{name} is a {field.type} field, which the database cannot compute with",
                "compute with bool, int, decimal, text, choice, date, datetime and ref fields",
            )
        if not field.stored:
            if name in done:
                return self.typed_read(field, kind, done[name])
            raise self.refuse(
                node,
                f"{name} is computed when read and has no value the database can use",
                "read only stored fields, and stored: sql fields of this record declared "
                "before this one",
            )
        return self.typed_read(field, kind, column(name))

    def typed_read(self, field: Field, kind: str, expr: Any) -> Sql:
        if kind != "decimal":
            return Sql(expr, kind)
        places = int(getattr(field.config, "places", 2))
        if self.scaled(field):
            # the stored units, read as the integers they are
            return Sql(sa.type_coerce(expr, sa.BigInteger()), kind, places)
        return Sql(expr, kind, places)

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
        if a.kind in _NUMBERS and b.kind in _NUMBERS:
            scale = max(a.scale, b.scale)
            return self.rescale(a, scale), self.rescale(b, scale)
        if "null" in (a.kind, b.kind):
            raise self.refuse(node, "compare with None using `is None`")
        if {a.kind, b.kind} == {"ref", "int"} and not ordered:  # a reference and an id
            return a, b
        if a.kind != b.kind or (ordered and a.kind not in _ORDERED):
            raise self.refuse(node, f"cannot compare {_a(a.kind)} with {_a(b.kind)}")
        return a, b

    def rescale(self, value: Sql, scale: int) -> Sql:
        if value.scale == scale or not self.units:
            return Sql(value.expr, "decimal" if scale else value.kind, scale)
        return Sql(value.expr * 10 ** (scale - value.scale), "decimal", scale)

    def visit_BinOp(self, node: ast.BinOp) -> Sql:
        left, right = self.visit(node.left), self.visit(node.right)
        if left.kind not in _NUMBERS or right.kind not in _NUMBERS:
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
        if operand.kind in _NUMBERS and isinstance(node.op, ast.USub):
            return Sql(-operand.expr, operand.kind, operand.scale)
        if operand.kind in _NUMBERS and isinstance(node.op, ast.UAdd):
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
            if a.kind in _NUMBERS:
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
                f"{_a(value.kind)} is not a truth value in the database",
                "compare it explicitly, e.g. record['x'] is not None or record['n'] > 0",
            )
        return value.expr


def _is_record(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "record"


def _lookup(alias: Any, name: str, key: Any) -> Any:
    """`(SELECT alias.name FROM alias WHERE alias.id = key)`, correlated to every table but its
    own: `key` may read the outermost row from two subqueries down (auto-correlation only
    looks at the enclosing SELECT, and would join the outer table in again)."""
    query = sa.select(alias.c[name]).where(alias.c.id == key).correlate_except(alias)
    return query.scalar_subquery()


def _record_path(node: ast.expr) -> list[str]:
    """["order", "status"] for `record.order.status`; [] for anything else."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.insert(0, node.attr)
        node = node.value
    return names if _is_record(node) and len(names) > 1 else []


def _construct(node: ast.AST) -> str:
    names = {
        "ListComp": "a comprehension",
        "GeneratorExp": "a comprehension",
        "SetComp": "a comprehension",
        "DictComp": "a comprehension",
        "Name": "this name",
        "Dict": "a dict",
        "List": "a list",
        "Tuple": "a tuple",
        "JoinedStr": "an f-string",
    }
    return names.get(type(node).__name__, type(node).__name__)


def _a(kind: str) -> str:
    return {
        "int": "a number",
        "decimal": "a decimal",
        "text": "text",
        "bool": "a truth value",
        "date": "a date",
        "datetime": "a datetime",
        "ref": "a reference",
        "null": "None",
    }.get(kind, kind)
