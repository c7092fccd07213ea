"""Reading fields in live computed fields (`stored: sql`, see `sql_compute`): literals, the
record's fields and system columns, and fields of referenced records as correlated scalar
subqueries — typed, with decimals scaled as their columns store them."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa

from ..definition.fieldtypes.exact import MAX_SCALED_PRECISION
from ..definition.model import SYSTEM_COLUMNS, Entity, Field
from ..expr.checks import ExpressionError

#: the problem code of an expression with no SQL form
CODE: Final = "compute-not-sql"
#: what the database can compute, for the problems' hints
HINT: Final = (
    "stored: sql compiles comparisons, and/or/not, + - *, if/else, literals, today(), now() "
    "and days_since() over this record's fields; use stored: false to compute it in Python"
)
#: kinds of value arithmetic works on
NUMBERS: Final = ("int", "decimal")
#: field type → kind of value in SQL
KINDS: Final = {
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


@dataclass(frozen=True, slots=True)
class Sql:
    """A compiled operand: its SQL, kind of value and (decimals) digits after the point.

    On SQLite (`units`) a decimal's SQL is an integer count of 10**-scale.
    """

    expr: Any
    kind: str
    scale: int = 0


#: The table of an entity, by entity name (a `TableSet`, or stand-ins at validation).
Tables = Callable[[str], Any]


class SqlReads:
    """The compiler's reading half: operands from literals and fields (`SqlCompiler` adds
    the operators and functions)."""

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
        want = KINDS.get(field.type)
        if want is None or want == "ref":
            raise self.refuse(node, f"a {field.type} field cannot be computed by the database")
        if value.kind == "null":
            return sa.null()
        if want == "decimal" and value.kind in NUMBERS:
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
                f"the expression gives {kind_text(value.kind)}, the field is {field.type}",
                "give the field the type of the expression's value",
            )
        return value.expr

    def scaled(self, field: Field) -> bool:
        """True when the decimal field's column holds units (SQLite, up to 18 digits)."""
        precision = int(getattr(field.config, "precision", 18))
        return self.units and precision <= MAX_SCALED_PRECISION

    def refuse(self, node: ast.AST, message: str, hint: str = HINT) -> ExpressionError:
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
            raise self.refuse(node, f"{construct(node)} cannot be computed by the database")
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
        if is_record(node.value) and isinstance(key, ast.Constant) and isinstance(key.value, str):
            return self.read(node, key.value)
        raise self.refuse(node, "only record['field'] can be read by the database")

    def visit_Attribute(self, node: ast.Attribute) -> Sql:
        if is_record(node.value):
            return self.read(node, node.attr)
        path = related_path(node)
        if path:
            return self.related(node, path)
        raise self.refuse(node, f"attribute .{node.attr} cannot be computed by the database")

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
        kind = KINDS.get(field.type)
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


def is_record(node: ast.expr) -> bool:
    """True for the name `record`."""
    return isinstance(node, ast.Name) and node.id == "record"


def _lookup(alias: Any, name: str, key: Any) -> Any:
    """`(SELECT alias.name FROM alias WHERE alias.id = key)`, correlated to every table but its
    own: `key` may read the outermost row from two subqueries down (auto-correlation only
    looks at the enclosing SELECT, and would join the outer table in again)."""
    query = sa.select(alias.c[name]).where(alias.c.id == key).correlate_except(alias)
    return query.scalar_subquery()


def related_path(node: ast.expr) -> list[str]:
    """["order", "status"] for `record.order.status`; [] for anything else."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.insert(0, node.attr)
        node = node.value
    return names if is_record(node) and len(names) > 1 else []


def construct(node: ast.AST) -> str:
    """How an error names an expression node that has no SQL form."""
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


def kind_text(kind: str) -> str:
    """A kind of value in an error message ("a number", "a date")."""
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
