"""Field types that point elsewhere: ref (a record of an entity) and file (stored bytes)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal

import sqlalchemy as sa

from ...problems import Problem
from ..fields import CheckContext, FieldValueError, TableContext
from ._base import BuiltinType, config_of, is_blank, option_problem, require_text

if TYPE_CHECKING:
    from ..model import Field

OnDelete = Literal["restrict", "set_null", "cascade"]
_ON_DELETE_SQL: Final[Mapping[str, str]] = MappingProxyType(
    {
        "restrict": "RESTRICT",
        "set_null": "SET NULL",
        "cascade": "CASCADE",
    }
)
#: Record ids are INTEGER primary keys; a larger number can name no record on any database.
ID_MAX: Final = 2**31 - 1


@dataclass(frozen=True, slots=True)
class RefConfig:
    """Options of a ref field: the target entity and what deleting a target does."""

    to: str = ""
    on_delete: OnDelete = "restrict"


_DEFAULT_REF: Final = RefConfig()


class RefType(BuiltinType):
    """A reference to a record of another (or the same) entity, by id."""

    name = "ref"
    description = "A reference to a record of an entity (built in: account, user), by id."
    options_schema = {
        "to": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]*$",
            "description": "The entity referenced (account and user are built in).",
        },
        "on_delete": {
            "enum": list(_ON_DELETE_SQL),
            "default": "restrict",
            "description": "When the target is deleted: refuse (restrict), clear this field "
            "(set_null) or delete this record too (cascade).",
        },
    }
    required_options = ("to",)
    filterable = True

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> RefConfig:
        """The config from validated options."""
        on_delete = options.get("on_delete", "restrict")
        return RefConfig(
            to=str(options.get("to", "")),
            on_delete=on_delete if on_delete in ("set_null", "cascade") else "restrict",
        )

    def check(self, options: Mapping[str, Any], ctx: CheckContext) -> Iterator[Problem]:
        """Refuse a target entity that does not exist, suggesting the closest name."""
        target = options.get("to")
        if not isinstance(target, str) or target in ctx.entities:
            return
        names = sorted(ctx.entities)
        close = difflib.get_close_matches(target, names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "entities: " + ", ".join(names)
        yield option_problem(
            ctx, "ref-unknown-entity", f"entity {target!r} does not exist", "to", hint
        )

    def columns(self, field: Field, ctx: TableContext) -> list[sa.Column[Any]]:
        """INTEGER with a foreign key to the target's id, ON DELETE as configured.

        Entities that reference each other need nothing special: SQLAlchemy's `create_all`
        adds the keys of a cycle with ALTER TABLE after creating the tables.
        """
        config = config_of(field, _DEFAULT_REF)
        key = sa.ForeignKey(
            f"{ctx.table_names[config.to]}.id", ondelete=_ON_DELETE_SQL[config.on_delete]
        )
        return [sa.Column(field.name, sa.Integer(), key, nullable=True)]

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """INTEGER, like every id."""
        return sa.Integer()

    def clean(self, field: Field, raw: Any) -> int | None:
        """A positive record id from an int, an integral float (JSON's `7.0` is the integer
        7, as JSON Schema's `integer` says) or digit text.

        Whether the record exists and the actor may see it is the record store's question.
        """
        if is_blank(raw):
            return None
        if isinstance(raw, float) and raw.is_integer():  # False for inf and nan
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise FieldValueError("type", "must be a record id")
        if isinstance(raw, str):
            text = raw.strip()
            if not (text.isascii() and text.isdigit()) or len(text) > 10:
                raise FieldValueError("format", "must be a record id")
        value = int(raw) if isinstance(raw, str) else raw
        if not 0 < value <= ID_MAX:
            raise FieldValueError("format", "must be a record id")
        return value

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A positive integer, the id of a record of the target entity."""
        config = config_of(field, _DEFAULT_REF)
        return {
            "type": "integer",
            "minimum": 1,
            "maximum": ID_MAX,
            "description": f"id of a {config.to} record" if config.to else "a record id",
        }


_FILE_ID: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_FILE_MB: Final = 100


@dataclass(frozen=True, slots=True)
class FileConfig:
    """Options of a file field: allowed extensions (empty: any) and the size limit."""

    accept: frozenset[str] = frozenset()
    max_bytes: int = 10 * 1024 * 1024

    def allows(self, filename: str) -> bool:
        """True when `filename`'s extension is accepted."""
        if not self.accept:
            return True
        _, dot, extension = filename.rpartition(".")
        return bool(dot) and extension.lower() in self.accept


_DEFAULT_FILE: Final = FileConfig()


class FileType(BuiltinType):
    """An uploaded file, referenced by an opaque id; the runtime stores the bytes."""

    name = "file"
    description = "An uploaded file with allowed extensions and a size limit."
    options_schema = {
        "accept": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z0-9]{1,10}$"},
            "uniqueItems": True,
            "description": "Allowed file extensions, lower-case without the dot (pdf, png).",
        },
        "max_size_mb": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_FILE_MB,
            "default": 10,
            "description": "Largest allowed file, in MiB.",
        },
    }
    sortable = False

    def make_config(self, options: Mapping[str, Any], *, currency: str) -> FileConfig:
        """The config from validated options."""
        accept = options.get("accept") or ()
        size = options.get("max_size_mb", 10)
        megabytes = size if isinstance(size, int | float) and 0 < size <= MAX_FILE_MB else 10
        return FileConfig(
            accept=frozenset(str(a).lower() for a in accept),
            max_bytes=int(megabytes * 1024 * 1024),
        )

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """VARCHAR(64), the file id."""
        return sa.String(64)

    def clean(self, field: Field, raw: Any) -> str | None:
        """A file id (16 to 64 letters, digits, _ and -)."""
        if is_blank(raw):
            return None
        value = require_text(raw).strip()
        if _FILE_ID.fullmatch(value) is None:
            raise FieldValueError("format", "must be a file id")
        return value

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A file id string."""
        return {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"}
